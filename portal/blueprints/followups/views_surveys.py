"""Satisfaction surveys: pending list, entry by phone or on the desk tablet (kiosk mode), results."""
from flask import current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, can
from portal.blueprints.followups import bp
from portal.blueprints.followups.loaders import load_patient_record
from portal.models import Survey
from portal.services import ServiceError, surveys
from portal.web import client_ip, htmx, local_today, render, see_other

KIOSK_KEY = "kiosk_survey"
# What a patient holding the tablet may reach: the survey itself, the unlock screen, the language.
KIOSK_ENDPOINTS = {"followups.survey_answer", "followups.kiosk_exit", "auth.set_language", "static"}


def kiosk_code():
    return session.get(KIOSK_KEY)


def _kiosk_gate():
    """before_request, ahead of the access gate: in kiosk mode every staff page leads back to the
    survey screen."""
    code = session.get(KIOSK_KEY)
    if not code or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        session.pop(KIOSK_KEY, None)  # the session ended: the tablet shows the sign-in page
        return None
    if request.endpoint in KIOSK_ENDPOINTS and (request.endpoint != "followups.survey_answer"
                                                or (request.view_args or {}).get("code") == code):
        return None
    target = url_for("followups.survey_answer", code=code, desk=1)
    if htmx:
        resp = current_app.response_class("", 204)
        resp.headers["HX-Redirect"] = target
        return resp
    return redirect(target, 303)


@bp.record_once
def _install_kiosk_gate(state):
    from portal import access
    funcs = state.app.before_request_funcs.setdefault(None, [])
    funcs.insert(funcs.index(access.gate) if access.gate in funcs else len(funcs), _kiosk_gate)


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
    kiosk = kiosk_code() == survey.code
    desk = kiosk or request.values.get("desk") == "1"
    if kiosk and survey.status != "pending":
        return render("followups/survey_thanks.html", kiosk=True)
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
                return render("followups/survey_thanks.html", kiosk=kiosk)
            return see_other(url_for("followups.survey_list"), _("Answers saved."))
    return render("followups/survey_form.html", survey=survey, questions=questions, desk=desk, error=error,
                  values=request.form, kiosk=kiosk), (422 if error else 200)


@bp.route("/followups/surveys/<code>/kiosk", methods=["POST"])
@allow("survey.answer")
def survey_kiosk(code):
    """Hand the tablet to the patient: lock it on this survey until staff unlock it."""
    survey = load_patient_record(Survey, "survey.answer", code, "survey")
    if request.form.get("confirm") != "1":
        return see_other(url_for("followups.survey_list"), _("Use the tablet button next to the survey."), "error")
    try:
        surveys.start_kiosk(survey, current_user)
    except ServiceError as err:
        return see_other(url_for("followups.survey_list"), err.message, "error")
    session[KIOSK_KEY] = survey.code
    return see_other(url_for("followups.survey_answer", code=survey.code, desk=1))


@bp.route("/followups/kiosk/exit", methods=["GET", "POST"])
@allow("survey.answer")
def kiosk_exit():
    """Staff take the tablet back: their password unlocks it."""
    code = kiosk_code()
    if not code:
        return see_other(url_for("followups.survey_list"))
    error = None
    if request.method == "POST":
        try:
            surveys.leave_kiosk(current_user, request.form.get("password", ""), client_ip(), current_app.config, code)
        except ServiceError as err:
            error = err.message
        else:
            session.pop(KIOSK_KEY, None)
            return see_other(url_for("followups.survey_list"), _("The tablet is unlocked."))
    return render("followups/kiosk_exit.html", error=error, code=code), (422 if error else 200)


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
