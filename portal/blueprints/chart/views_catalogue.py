"""The procedure catalogue: everyone reads it (prices, durations); the manager changes it."""
import json

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow
from portal.blueprints.chart.forms import DEPARTMENT_LABELS, ProcedureForm
from portal.blueprints.chart.loaders import load_procedure, price_fen
from portal.blueprints.chart.views import bp
from portal.services import ServiceError
from portal.labels import TOPIC_LABELS
from portal.services import catalogue as cat
from portal.services import followups
from portal.services.followups import QUESTIONS
from portal.web import apply_service_error, render, see_other


@bp.route("/catalogue")
@allow("catalogue.read")
def catalogue():
    return render("chart/catalogue.html", procedures=cat.catalogue(), departments=DEPARTMENT_LABELS,
                  step_counts=cat.step_counts())


@bp.route("/catalogue/<code>")
@allow("catalogue.read")
def procedure(code):
    proc = load_procedure(code)
    return render("chart/procedure.html", proc=proc, steps=list(proc.steps.order_by(cat.ProtocolStep.position)),
                  departments=DEPARTMENT_LABELS, rules=json.loads(proc.followup_rules or "[]"))


def _save(form, existing=None):
    try:
        price = price_fen(form.price.data)
    except ValueError:
        raise ServiceError(_("Enter the price in yuan, such as 288 or 1280.50."), field="price")
    if form.followup_rules.data:  # a client that still sends the rules as JSON
        try:
            rules = json.loads(form.followup_rules.data)
            if not isinstance(rules, list):
                raise ValueError
        except ValueError:
            raise ServiceError(_("Follow-up rules are a JSON list, such as [{\"after_days\": 1, \"kind\": \"call\"}]."),
                               field="followup_rules")
    else:  # the page's rows, chosen from known words (issue 13)
        rules = cat.aftercare_from_form(request.form)
    data = cat.ProcedureData(
        code=form.code.data, name_zh=form.name_zh.data, name_en=form.name_en.data, department=form.department.data,
        duration_minutes=form.duration_minutes.data, price_fen=price,
        instructions_adult=form.instructions_adult.data or "", instructions_child=form.instructions_child.data or "",
        followup_rules=rules, steps=cat.parse_steps(form.steps.data), active=form.active.data)
    return cat.save_procedure(data, current_user, existing)


def _form_page(form, proc=None):
    if form.validate_on_submit():
        try:
            saved = _save(form, proc)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.procedure", code=saved.code), _("Saved."))
    status = 422 if request.method == "POST" else 200
    if request.method == "POST":
        rows = cat.aftercare_rows(_posted_rules(), blank=1)
    else:
        rows = cat.aftercare_rows(proc.followup_rules if proc else "[]")
    return render("chart/procedure_form.html", form=form, proc=proc, aftercare=rows,
                  questions=QUESTIONS, topics=TOPIC_LABELS, stages=followups.STAGES), status


def _posted_rules() -> list:
    try:
        return cat.aftercare_from_form(request.form)
    except ServiceError:
        return []


@bp.route("/catalogue/new", methods=["GET", "POST"])
@allow("catalogue.manage")
def procedure_new():
    return _form_page(ProcedureForm())


@bp.route("/catalogue/<code>/edit", methods=["GET", "POST"])
@allow("catalogue.manage")
def procedure_edit(code):
    proc = load_procedure(code, "catalogue.manage")
    # A POST is read from the form alone: filled from the record, a field the post lacks would take
    # the record's attribute instead (`steps` is the step rows there, not text).
    form = ProcedureForm(obj=proc) if request.method == "GET" else ProcedureForm()
    if request.method == "GET":
        form.price.data = f"{proc.price_fen // 100}.{proc.price_fen % 100:02d}"
        form.steps.data = cat.format_steps(proc)
    return _form_page(form, proc)
