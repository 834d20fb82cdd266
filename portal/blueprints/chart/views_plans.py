"""Treatment plans and the lifecycle view."""
from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow
from portal.blueprints.chart.forms import PlanItemForm, PlanStatusForm
from portal.blueprints.chart.loaders import load_patient, load_plan_item, price_fen
from portal.blueprints.chart.views import bp
from portal.labels import localized
from portal.models import Appointment, PlanItem, Procedure
from portal.services import ServiceError
from portal.services import catalogue as cat
from portal.services import chart_plans as plans
from portal.web import local_today, refuse, render, see_other


def _item_form():
    form = PlanItemForm()
    form.procedure.choices = [(p.code, localized(p)) for p in cat.catalogue(active_only=True)]
    return form


@bp.route("/patients/<code>/plan")
@allow("plan.read")
def plan(code):
    patient = load_patient(code, "plan")
    items = plans.plan_of(patient)
    return render("chart/plan.html", patient=patient, items=items, totals=plans.totals(items), form=_item_form(),
                  status_form=PlanStatusForm(), labels=plans.PLAN_STATUS_LABELS, priorities=plans.PRIORITY_LABELS,
                  transitions=plans.TRANSITIONS)


@bp.route("/patients/<code>/plan", methods=["POST"])
@allow("plan.manage")
def plan_add(code):
    patient = load_patient(code, "plan")
    form = _item_form()
    back = url_for("chart.plan", code=code)
    if not form.validate_on_submit():
        return see_other(back, _("Choose a procedure."), "error")
    try:
        procedure = Procedure.get_or_none(Procedure.code == form.procedure.data)
        price = price_fen(form.price.data) if (form.price.data or "").strip() else None
        alternative = None
        if form.alternative_to.data:
            alternative = PlanItem.get_or_none(PlanItem.code == form.alternative_to.data.strip().upper(),
                                               PlanItem.patient == patient)
            if alternative is None:
                raise ServiceError(_("No plan item of this patient has that code."))
        plans.add_item(patient, procedure, current_user, tooth=form.tooth.data or None, price_fen=price,
                       priority=int(form.priority.data), phase=int(form.phase.data), alternative_to=alternative,
                       note=form.note.data or "")
    except ValueError:
        return see_other(back, _("Enter the price in yuan, such as 288 or 1280.50."), "error")
    except ServiceError as err:
        return see_other(back, err.message, "error")
    return see_other(back, _("Added to the plan."))


@bp.route("/plan-items/<code>/status", methods=["POST"])
@allow("plan.manage")
def plan_status(code):
    item = load_plan_item(code)
    form = PlanStatusForm()
    back = url_for("chart.plan", code=item.patient.code)
    if not form.validate_on_submit():
        return refuse(ServiceError(_("Choose a status.")), back=back)
    appointment = None
    if request.form.get("appointment"):
        appointment = Appointment.get_or_none(Appointment.code == request.form["appointment"].strip().upper())
    try:
        plans.set_status(item, form.status.data, current_user, reason=form.reason.data or "", appointment=appointment,
                         seen=request.form.get("seen"))
    except ServiceError as err:
        return refuse(err, back=back)
    return see_other(back, _("Plan item is now %(s)s.", s=plans.PLAN_STATUS_LABELS[item.status]))


@bp.route("/patients/<code>/lifecycle")
@allow("chart.read")
def lifecycle(code):
    patient = load_patient(code, "lifecycle")
    stage, age, items = plans.lifecycle(patient, local_today())
    return render("chart/lifecycle.html", patient=patient, stage=stage, age=age, items=items,
                  stage_labels=plans.STAGE_LABELS, today=local_today())
