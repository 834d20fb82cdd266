"""The worklist, one follow-up with its call form, and doctors' urgent tasks."""
import json
from datetime import datetime, time

from flask import abort, current_app, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, deny
from portal.blueprints.followups import bp
from portal.blueprints.followups.forms import ArticleForm, AssignForm, CallForm, HandleForm
from portal.blueprints.followups.loaders import load_patient_record
from portal.blueprints.schedule.common import requested_day
from portal.models import CareArticle, DoctorTask, Followup, Staff
from portal.services import Conflict, ServiceError, articles
from portal.services import followup_calls as calls
from portal.services.clock import local_now
from portal.services.followups import QUESTIONS, _split
from portal.web import apply_service_error, local_today, refuse, render, see_other

WHO = ("mine", "all", "none")


def _consultants():
    return [(s.id, s.display_name) for s in Staff.select().where(
        Staff.role.in_(("consultant", "manager")), Staff.active == True).order_by(Staff.role, Staff.display_name)]  # noqa: E712


@bp.route("/followups")
@allow("followup.work")
def index():
    default = "mine" if current_user.role == "consultant" else "all"
    who = request.args.get("who", default) if request.args.get("who") in WHO else default
    today, now = local_today(), local_now(current_app.config["PORTAL_TZ"])
    day = requested_day()  # a later day shows what will be due by then, ordered as seen from its morning
    if day != today:
        now = datetime.combine(day, time(8))
    items = calls.worklist(day, now, current_app.config, current_user, assigned=who)
    audit.record("read", object_type="followup_list", object_ref=f"{who}:{day.isoformat()}")
    return render("followups/index.html", items=items, who=who, today=day, now=now, real_today=today)


def _call_page(f, form, status=200):
    article_form = ArticleForm(article=f.article.code if f.article_id else "")
    english = str(get_locale()).startswith("en")
    article_form.article.choices = [("", _("None"))] + [(a.code, a.title_en if english else a.title_zh)
                                                         for a in articles.catalogue()]
    assign_form = AssignForm(consultant=f.assigned_to_id)
    assign_form.consultant.choices = [(0, _("Nobody"))] + _consultants()
    questions = [(k, QUESTIONS[k][0], QUESTIONS[k][1]) for k in _split(f.questions) if k in QUESTIONS]
    tasks = list(DoctorTask.select().where(DoctorTask.followup == f).order_by(DoctorTask.id))
    history = [(c, json.loads(c.answers or "{}")) for c in calls.calls_of(f)]
    earlier = bool(tasks) or any(c.warning or a.get("relieved") == "no" for c, a in history)
    return render("followups/show.html", f=f, p=f.patient, form=form, questions=questions, history=history,
                  tasks=tasks, offer_earlier=earlier, article_form=article_form, assign_form=assign_form,
                  question_labels={k: v[0] for k, v in QUESTIONS.items()},
                  answers=request.form), status


@bp.route("/followups/<code>", methods=["GET", "POST"])
@allow("followup.work")
def show(code):
    f = load_patient_record(Followup, "followup.work", code, "followup")
    form = CallForm()
    if not form.validate_on_submit():
        return _call_page(f, form, 422 if request.method == "POST" else 200)
    answers = {k: request.form.get(k, "") for k in _split(f.questions)}
    try:
        result = calls.record_call(f, current_user, form.outcome.data, current_app.config, answers=answers,
                                   notes=form.notes.data or "", preferred_channel=form.preferred_channel.data,
                                   preferred_time=form.preferred_time.data, callback_at=form.callback_at.data,
                                   seen_calls=int(seen) if (seen := request.form.get("seen_calls", "")).isdigit() else None)
    except Conflict as err:  # a second click, or another consultant was first: 409 with who and when
        return refuse(err, back=url_for("followups.show", code=code))
    except ServiceError as err:
        apply_service_error(form, err)
        return _call_page(f, form, 422)
    if result.task:
        return see_other(url_for("followups.show", code=code), _("Warning signs: the doctor has an urgent task. "
                                                                 "Offer the patient an earlier visit."), "error")
    if result.offer_earlier_visit:
        return see_other(url_for("followups.show", code=code), _("Not relieved: another call is planned for "
                                                                 "tomorrow. Offer an earlier visit."), "error")
    return see_other(url_for("followups.index"), _("Call recorded."), trigger="followupsChanged")


@bp.route("/followups/<code>/assign", methods=["POST"])
@allow("followup.work")
def assign(code):
    f = load_patient_record(Followup, "followup.work", code, "followup")
    form = AssignForm()
    form.consultant.choices = _consultants()
    if not form.validate_on_submit():
        abort(400)
    person = Staff.get_or_none(Staff.id == form.consultant.data) if form.consultant.data else None
    try:
        calls.assign(f, person, current_user)
    except ServiceError as err:
        return see_other(url_for("followups.show", code=code), err.message, "error")
    return see_other(url_for("followups.show", code=code), _("Assigned."), trigger="followupsChanged")


@bp.route("/followups/<code>/article", methods=["POST"])
@allow("followup.work")
def attach_article(code):
    f = load_patient_record(Followup, "followup.work", code, "followup")
    form = ArticleForm()
    form.article.choices = []
    if not form.validate_on_submit():
        abort(400)
    article = CareArticle.get_or_none(CareArticle.code == form.article.data) if form.article.data else None
    try:
        articles.attach(f, article, current_user)
    except ServiceError as err:
        return see_other(url_for("followups.show", code=code), err.message, "error")
    return see_other(url_for("followups.show", code=code), _("Article attached."))


@bp.route("/followups/tasks")
@allow("followup.task")
def tasks():
    mine = current_user if current_user.role == "doctor" else None
    rows = calls.open_tasks(mine)
    audit.record("read", object_type="doctor_task_list", object_ref=current_user.username)
    return render("followups/tasks.html", tasks=rows, form=HandleForm())


@bp.route("/followups/tasks/<code>/handle", methods=["POST"])
@allow("followup.task")
def handle_task(code):
    task = load_patient_record(DoctorTask, "followup.task", code, "escalation")
    if current_user.role == "doctor" and task.doctor_id != current_user.id:
        deny("record", patient=task.patient)
    form = HandleForm()
    back = request.form.get("back") if request.form.get("back") in ("home.index", "schedule.mine") else "followups.tasks"
    if not form.validate_on_submit():
        return see_other(url_for(back), _("Say what was done."), "error")
    try:
        calls.handle_task(task, current_user, form.handling.data, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for(back))
    return see_other(url_for(back), _("Task handled."))


@bp.app_context_processor
def _urgent_tasks():
    """For the small include on a doctor's home and day: their open urgent tasks, queried only if shown."""
    def urgent_tasks():
        if getattr(current_user, "role", None) != "doctor":
            return []
        return calls.open_tasks(current_user, limit=20)
    return {"urgent_tasks": urgent_tasks}
