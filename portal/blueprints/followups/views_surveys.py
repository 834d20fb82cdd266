"""Satisfaction surveys: pending list, entry by phone or on the desk tablet, results."""
from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, can
from portal.blueprints.followups import bp
from portal.blueprints.followups.loaders import load_patient_record
from portal.models import Survey
from portal.services import ServiceError, surveys
from portal.web import local_today, render, see_other


@bp.route("/followups/surveys")
@allow("survey.answer")
def survey_list():
    rows = surveys.pending(local_today())
    audit.record("read", object_type="survey_list", object_ref=local_today().isoformat())
    results = {by: surveys.results(by, today=local_today()) for by in ("month", "doctor", "procedure")} \
        if can(current_user, "survey.results") else None
    return render("followups/surveys.html", rows=rows, results=results)


@bp.route("/followups/surveys/<code>", methods=["GET", "POST"])
@allow("survey.answer")
def survey_answer(code):
    survey = load_patient_record(Survey, "survey.answer", code, "survey")
    desk = request.values.get("desk") == "1"
    questions = surveys.questions()
    error = None
    if request.method == "POST":
        values = {q.id: request.form.get(f"q{q.id}", "") for q in questions}
        try:
            surveys.answer(survey, values, "desk" if desk else "phone", current_app.config, actor=current_user,
                           comment=request.form.get("comment", "")[:2000])
        except ServiceError as err:
            error = err.message
        else:
            if desk:
                return render("followups/survey_thanks.html")
            return see_other(url_for("followups.survey_list"), _("Answers saved."))
    return render("followups/survey_form.html", survey=survey, questions=questions, desk=desk, error=error,
                  values=request.form), (422 if error else 200)


@bp.route("/followups/surveys/questions", methods=["GET", "POST"])
@allow("survey.manage")
def survey_questions():
    """The manager's short question set. Answers already given keep the wording they were asked with."""
    from portal.models import SurveyQuestion
    error = None
    if request.method == "POST":
        qid = request.form.get("id", "")
        question = SurveyQuestion.get_or_none(SurveyQuestion.id == int(qid)) if qid.isdigit() else None
        position = request.form.get("position", "")
        try:
            surveys.save_question(current_user, request.form.get("text_zh", ""), request.form.get("text_en", ""),
                                  int(position) if position.isdigit() else 99, request.form.get("active") == "y",
                                  question=question)
        except ServiceError as err:
            error = err.message
        else:
            return see_other(url_for("followups.survey_questions"), _("Question saved."))
    return render("followups/survey_questions.html", questions=surveys.questions(active_only=False),
                  error=error), (422 if error else 200)
