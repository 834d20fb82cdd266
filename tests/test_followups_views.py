"""The follow-up pages as each role uses them: worklist, call form, escalation to the doctor's day."""
import re
from datetime import timedelta

from portal.models import AuditEvent, DoctorTask, Followup, OutboxMessage
from tests.followup_helpers import complete_visit, local_today
from tests.statements import statements_run


def _first_visit(app, staff, make_patient, **kw):
    patient = make_patient(**kw)
    with app.app_context():
        complete_visit(app, staff, patient, "first")
        today = local_today(app)
    return patient, Followup.get(Followup.patient == patient, Followup.kind == "call"), today


def test_first_visit_then_call_shows_two_days_later_and_swelling_reaches_the_doctor(app, staff, make_patient, as_role):
    patient, f, today = _first_visit(app, staff, make_patient, name="赵肿胀")
    consultant = as_role("consultant")
    assert patient.name not in consultant.get("/followups").get_data(as_text=True)  # not due today
    later = (today + timedelta(days=2)).isoformat()
    page = consultant.get(f"/followups?date={later}").get_data(as_text=True)
    assert patient.name in page and f"tel:{patient.phone}" in page and f"/followups/{f.code}" in page
    form = consultant.get(f"/followups/{f.code}")
    assert form.status_code == 200 and 'name="swelling"' in form.get_data(as_text=True)
    resp = consultant.post(f"/followups/{f.code}", data={"outcome": "reached", "swelling": "8", "pain": "3",
                                                         "notes": "Cheek swollen since yesterday."})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/followups/{f.code}")
    shown = consultant.get(f"/followups/{f.code}").get_data(as_text=True)
    assert f"/schedule/free?doctor={staff['doctor'].id}&amp;patient={patient.chart_no}" in shown
    task = DoctorTask.get(DoctorTask.patient == patient)
    doctor = as_role("doctor")
    for url in ("/schedule/mine", "/"):
        day = doctor.get(url).get_data(as_text=True)
        assert "Urgent follow-up tasks" in day and patient.name in day, url
    assert patient.name not in as_role("nurse").get("/").get_data(as_text=True)
    assert OutboxMessage.select().where(OutboxMessage.staff == staff["doctor"]).count() == 1
    resp = doctor.post(f"/followups/tasks/{task.code}/handle", data={"handling": "Seen at 17:00.", "back": "schedule.mine"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/schedule/mine")
    assert "Urgent follow-up tasks" not in doctor.get("/schedule/mine").get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.object_type == "escalation").count() == 2


def test_worklist_fragment_for_htmx(app, staff, make_patient, as_role):
    patient, f, today = _first_visit(app, staff, make_patient)
    Followup.update(due_date=today).where(Followup.id == f.id).execute()
    resp = as_role("consultant").get("/followups", headers={"HX-Request": "true", "HX-Target": "worklist"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and patient.name in body and "<html" not in body
    assert resp.headers["Cache-Control"].startswith("no-store") or "no-store" in resp.headers["Cache-Control"]


def test_worklist_query_count_is_constant(app, staff, make_patient, as_role):
    consultant = as_role("consultant")

    def count_queries():
        return len([s for s in statements_run(consultant, "/followups?who=all")
                    if s.lstrip().upper().startswith("SELECT")])

    for i in range(2):
        _, f, today = _first_visit(app, staff, make_patient, name=f"甲{'一二'[i]}")
        Followup.update(due_date=today).where(Followup.id == f.id).execute()
    few = count_queries()
    for i in range(6):
        _, f, today = _first_visit(app, staff, make_patient, name=f"乙{'一二三四五六'[i]}")
        Followup.update(due_date=today).where(Followup.id == f.id).execute()
    assert count_queries() == few


def test_no_answer_three_times_sends_a_message(app, staff, make_patient, as_role):
    patient, f, today = _first_visit(app, staff, make_patient, consents={"reminders": True})
    consultant = as_role("consultant")
    for _ in range(3):
        assert consultant.post(f"/followups/{f.code}", data={"outcome": "no_answer"}).status_code == 303
    assert Followup.get_by_id(f.id).status == "unreached"
    assert OutboxMessage.select().where(OutboxMessage.patient == patient,
                                        OutboxMessage.template == "followup_unreached").count() == 1


def test_bad_answer_is_shown_on_the_form(app, staff, make_patient, as_role):
    _, f, _ = _first_visit(app, staff, make_patient)
    resp = as_role("consultant").post(f"/followups/{f.code}", data={"outcome": "reached", "pain": "12"})
    assert resp.status_code == 422 and "scale from 0 to 10" in resp.get_data(as_text=True)


def test_reassign_and_article(app, staff, make_patient, as_role):
    from portal.services import articles
    _, f, _ = _first_visit(app, staff, make_patient)
    with app.app_context():
        articles.ensure_articles()
    article = articles.catalogue()[0]
    manager = as_role("manager")
    assert manager.post(f"/followups/{f.code}/assign", data={"consultant": staff["manager"].id}).status_code == 303
    assert manager.post(f"/followups/{f.code}/article", data={"article": article.code}).status_code == 303
    f = Followup.get_by_id(f.id)
    assert f.assigned_to_id == staff["manager"].id and f.article_id == article.id
    assert article.title_en in as_role("doctor").get("/followups/articles").get_data(as_text=True) or \
        article.title_zh in as_role("doctor").get("/followups/articles").get_data(as_text=True)


def test_consultant_cannot_open_a_restricted_patients_followup(app, staff, make_patient, as_role):
    patient, f, _ = _first_visit(app, staff, make_patient)
    patient.restricted = True
    patient.save()
    assert as_role("consultant").get(f"/followups/{f.code}").status_code == 403
    assert as_role("manager").get(f"/followups/{f.code}").status_code == 200


def test_doctor_handles_only_their_own_tasks(app, staff, make_patient, as_role, password_hash):
    from portal.models import Staff, new_code
    other = Staff.create(username="doc2", display_name="Doc Two", role="doctor", password_hash=password_hash)
    patient = make_patient()
    task = DoctorTask.create(code=new_code(), patient=patient, doctor=other, reason="pain")
    resp = as_role("doctor").post(f"/followups/tasks/{task.code}/handle", data={"handling": "x"})
    assert resp.status_code == 403 and DoctorTask.get_by_id(task.id).status == "open"


def test_rules_page_edits_a_rule_as_data(app, staff, as_role):
    manager = as_role("manager")
    page = manager.get("/followups/rules").get_data(as_text=True)
    code = re.search(r'/followups/rules/([A-Z0-9]+)">First-visit call', page).group(1)
    resp = manager.post(f"/followups/rules/{code}", data={"name": "First-visit call", "event": "first_visit",
                                                          "offset_days": "3", "kind": "call",
                                                          "questions": "pain,satisfied", "active": "y"})
    assert resp.status_code == 303
    assert ">3<" in manager.get("/followups/rules").get_data(as_text=True)
    bad = manager.post(f"/followups/rules/{code}", data={"name": "x", "event": "first_visit", "offset_days": "3",
                                                         "kind": "call", "questions": "mood"})
    assert bad.status_code == 422 and "Unknown questions" in bad.get_data(as_text=True)


def test_recall_list_reminds_and_books(app, staff, make_patient, as_role):
    patient = make_patient(consents={"reminders": True})
    with app.app_context():
        complete_visit(app, staff, patient, "revisit")
    recall = Followup.get(Followup.patient == patient, Followup.kind == "recall")
    Followup.update(due_date=local_today(app) + timedelta(days=5)).where(Followup.id == recall.id).execute()
    desk = as_role("frontdesk")
    page = desk.get("/followups/recalls").get_data(as_text=True)
    assert patient.name in page and f"patient={patient.chart_no}" in page and "visit_type=recall" in page
    assert desk.post("/followups/recalls/remind", data={"code": recall.code}).status_code == 303
    assert desk.post("/followups/recalls/remind", data={"code": recall.code}).status_code == 303  # once only
    assert OutboxMessage.select().where(OutboxMessage.template == "recall_reminder").count() == 1


def test_a_nul_byte_in_a_code_is_not_found(app, staff, as_role):
    client = as_role("manager")
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    for url in ("/followups/%00", "/followups/tasks/%00/handle", "/followups/rules/%00", "/followups/surveys/%00",
                "/complaints/%00"):
        method = "POST" if url.endswith("handle") else "GET"
        assert client.open(url, method=method).status_code == 404, url
    assert client.post("/followups/recalls/remind", data={"code": "\x00"}).status_code == 303


def test_emergency_not_relieved_offers_an_earlier_visit(app, staff, make_patient, as_role):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "emergency")
    f = Followup.get(Followup.patient == patient, Followup.event == "emergency")
    consultant = as_role("consultant")
    resp = consultant.post(f"/followups/{f.code}", data={"outcome": "reached", "relieved": "no", "pain": "4"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/followups/{f.code}")
    page = consultant.get(f"/followups/{f.code}").get_data(as_text=True)
    assert "another call is planned for tomorrow" in page and "/schedule/free?doctor=" in page


def test_call_history_shows_answers_in_words(app, staff, make_patient, as_role):
    _, f, _ = _first_visit(app, staff, make_patient)
    consultant = as_role("consultant")
    consultant.post(f"/followups/{f.code}", data={"outcome": "call_back"})
    consultant.post(f"/followups/{f.code}", data={"outcome": "reached", "pain": "2", "flossing_daily": "no"})
    page = consultant.get(f"/followups/{f.code}").get_data(as_text=True)
    assert "Pain: <b>2</b>" in page and "Flosses every day: <b>No</b>" in page and "Call back later" in page
