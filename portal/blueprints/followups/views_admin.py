"""Recalls (due lists, reminders, compliance), the follow-up rules, and care articles."""
from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, load_or_404
from portal.blueprints.followups import bp
from portal.blueprints.followups.forms import RuleForm
from portal.blueprints.followups.loaders import clean_code
from portal.labels import keys_from_words, keys_text, rule_name
from portal.models import Followup, FollowupRule, Patient
from portal.notify.outbox import dispatch
from portal.services import ServiceError, articles, followups, recalls
from portal.services.followups import QUESTIONS
from portal.web import apply_service_error, local_today, render, see_other

RECALL_KINDS = ("", "recall_routine", "recall_special")


@bp.route("/followups/recalls")
@allow("recall.view")
def recall_list():
    kind = request.args.get("kind", "") if request.args.get("kind") in RECALL_KINDS else ""
    today = local_today()
    rows = recalls.due_list(today, kind, include_restricted=current_user.role == "manager")
    audit.record("read", object_type="recall_list", object_ref=kind or "all")
    return render("followups/recalls.html", rows=rows, kind=kind, today=today,
                  compliance=recalls.compliance(today=today))


@bp.route("/followups/recalls/remind", methods=["POST"])
@allow("recall.view")
def recall_remind():
    codes = [c for c in request.form.getlist("code")[:300] if c.isascii() and c.isalnum()]
    if not codes:
        return see_other(url_for("followups.recall_list"), _("Choose who to remind."), "error")
    rows = list(Followup.select(Followup, Patient).join(Patient).where(
        Followup.code.in_(codes), Followup.kind == "recall", Followup.status == "open",
        *(() if current_user.role == "manager" else (Patient.restricted == False,))))  # noqa: E712
    ids = recalls.send_reminders(rows, current_app.config)
    for f in rows:
        audit.record("update", patient=f.patient_id, object_type="recall", object_ref=f.code, detail={"reminder": True})
    dispatch(ids)
    return see_other(url_for("followups.recall_list"), _("%(n)d reminders queued.", n=len(ids)))


def _rule_data(form, rule=None) -> followups.RuleData:
    kind = "visit_type" if form.event.data == "visit_type" else "mark"
    applies = keys_from_words(form.applies_to.data or "", kind)  # typed in the reader's words
    return followups.RuleData(_rule_name(form.name.data or "", rule), form.event.data, applies,
                              form.offset_days.data or 0, form.kind.data, form.questions.text, form.active.data)


def _rule_name(typed: str, rule) -> str:
    """A default rule keeps its key (read in each reader's language) while the manager leaves its
    name as shown; a name the manager types becomes the clinic's own."""
    if rule is not None and rule.name in followups.RULE_NAME_LABELS and typed.strip() == rule_name(rule):
        return rule.name
    return typed


@bp.route("/followups/rules", methods=["GET", "POST"])
@allow("followup.rules")
def rules():
    form = RuleForm()
    if form.validate_on_submit():
        try:
            followups.save_rule(_rule_data(form), current_user)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("followups.rules"), _("Rule added."))
    status = 422 if request.method == "POST" else 200
    return render("followups/rules.html", rules=followups.rules(active_only=False), form=form,
                  questions=QUESTIONS, settings=followups.followup_settings(current_app.config),
                  stage_of=followups.stage_of), status


@bp.route("/followups/rules/<code>", methods=["GET", "POST"])
@allow("followup.rules")
def rule_edit(code):
    rule = load_or_404(FollowupRule, "followup.rules", code=clean_code(code))
    form = RuleForm(obj=rule)
    if request.method == "GET":
        form.name.data = rule_name(rule)  # a default rule's name in the reader's words
        form.applies_to.data = keys_text(rule.applies_to, "visit_type" if rule.event == "visit_type" else "mark", ", ")
    if form.validate_on_submit():
        try:
            followups.save_rule(_rule_data(form, rule), current_user, rule)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("followups.rules"), _("Rule saved. Follow-ups already planned keep their dates."))
    status = 422 if request.method == "POST" else 200
    return render("followups/rule_edit.html", rule=rule, form=form, questions=QUESTIONS,
                  settings=followups.followup_settings(current_app.config)), status


@bp.route("/followups/articles")
@allow("article.read")
def article_list():
    if request.args:
        abort(400)
    return render("followups/articles.html", articles=articles.catalogue())
