"""Satisfaction surveys: configurable questions, phone entry, the desk tablet, results per doctor/procedure/month."""
from datetime import timedelta

import pytest

from portal.models import AuditEvent, Survey, SurveyAnswer, SurveyQuestion
from portal.services import ServiceError, surveys
from tests.followup_helpers import complete_visit, procedure


def _visit_survey(app, staff, patient, procs=()):
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=procs)
    return Survey.get(Survey.patient == patient, Survey.source == "visit")


def test_answer_scores_and_keeps_the_wording(app, staff, make_patient):
    survey = _visit_survey(app, staff, make_patient())
    with app.app_context():
        qs = surveys.questions()
        done = surveys.answer(survey, {q.id: 5 for q in qs[:2]} | {qs[2].id: 3}, "phone", app.config,
                              actor=staff["consultant"])
        surveys.save_question(staff["manager"], "新问题", "A new question", 1, question=qs[0])
        with pytest.raises(ServiceError, match="already"):
            surveys.answer(Survey.get_by_id(survey.id), {qs[0].id: 4}, "phone", app.config)
    assert done.status == "answered" and done.score == round((13 / 3 - 1) * 25) and done.channel == "phone"
    kept = SurveyAnswer.get(SurveyAnswer.survey == survey, SurveyAnswer.question == qs[0].id)
    assert kept.question_text == "Did the doctor explain the treatment clearly?"
    assert SurveyQuestion.get_by_id(qs[0].id).text_en == "A new question"


@pytest.mark.parametrize("values", [{}, {"1": 6}, {"1": "great"}])
def test_bad_answers_are_refused(app, staff, make_patient, values):
    survey = _visit_survey(app, staff, make_patient())
    with app.app_context(), pytest.raises(ServiceError):
        surveys.questions()
        surveys.answer(survey, values, "phone", app.config)


def test_patient_link_answers_without_a_staff_member(app, staff, make_patient):
    """Ready for the patient's read-only link (a later issue): no actor, channel "link"."""
    survey = _visit_survey(app, staff, make_patient())
    with app.app_context():
        q = surveys.questions()[0]
        surveys.answer(survey, {q.id: 4}, "link", app.config, actor=None)
    event = AuditEvent.get(AuditEvent.object_type == "survey")
    assert event.actor_label == "patient link" and Survey.get_by_id(survey.id).entered_by_id is None


def test_results_per_doctor_procedure_and_month(app, staff, make_patient):
    scaling = procedure("PER-T", "periodontal", name="洁治")
    a = _visit_survey(app, staff, make_patient(name="甲"), [scaling])
    b = _visit_survey(app, staff, make_patient(name="乙"))
    with app.app_context():
        qs = surveys.questions()
        surveys.answer(a, {q.id: 5 for q in qs}, "desk", app.config, actor=staff["frontdesk"])
        surveys.answer(b, {q.id: 3 for q in qs}, "phone", app.config, actor=staff["consultant"])
        by_doctor = surveys.results("doctor")
        by_procedure = surveys.results("procedure")
        by_month = surveys.results("month")
    assert by_doctor == [{"label": "Demo doctor", "score": 75, "n": 2}]
    assert by_procedure == [{"label": "洁治", "score": 100, "n": 1}]
    assert by_month[0]["n"] == 2 and by_month[0]["score"] == 75


def test_desk_tablet_and_phone_entry_pages(app, staff, make_patient, as_role):
    survey = _visit_survey(app, staff, make_patient(name="丙"))
    desk = as_role("frontdesk")
    assert "丙" not in desk.get("/followups/surveys").get_data(as_text=True)  # due the day after the visit
    Survey.update(due_date=survey.due_date - timedelta(days=1)).where(Survey.id == survey.id).execute()
    with app.app_context():
        qs = surveys.questions()
    assert "丙" in desk.get("/followups/surveys").get_data(as_text=True)
    page = desk.get(f"/followups/surveys/{survey.code}?desk=1").get_data(as_text=True)
    assert "How was your visit?" in page and "丙" not in page.split("<main")[1]  # the tablet shows no name
    resp = desk.post(f"/followups/surveys/{survey.code}", data={"desk": "1", **{f"q{q.id}": "4" for q in qs}})
    assert resp.status_code == 200 and "Thank you" in resp.get_data(as_text=True)
    assert Survey.get_by_id(survey.id).channel == "desk"
    assert "Results" in as_role("manager").get("/followups/surveys").get_data(as_text=True)
    assert "Results" not in desk.get("/followups/surveys").get_data(as_text=True)


def test_manager_edits_the_question_set(app, staff, as_role):
    manager = as_role("manager")
    assert manager.get("/followups/surveys/questions").status_code == 200
    resp = manager.post("/followups/surveys/questions", data={"position": "6", "text_zh": "环境是否整洁？",
                                                             "text_en": "Was the clinic clean and tidy?", "active": "y"})
    assert resp.status_code == 303
    with app.app_context():
        assert surveys.questions()[-1].text_en == "Was the clinic clean and tidy?"
    assert manager.post("/followups/surveys/questions", data={"text_zh": "", "text_en": "x"}).status_code == 422
    assert as_role("consultant").get("/followups/surveys/questions").status_code == 403
