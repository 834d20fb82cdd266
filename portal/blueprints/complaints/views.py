"""Complaints: log (front desk too), list with deadlines, work through to closing."""
from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import format_datetime, gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, can
from portal.blueprints.complaints.forms import CloseForm, ComplaintForm, EntryForm, OwnerForm
from portal.blueprints.followups.loaders import load_patient_record
from portal.blueprints.patients.picker import picked_patient, quietly
from portal.blueprints.schedule.common import doctor_choices
from portal.models import Complaint, Staff, utcnow
from portal.services import ServiceError
from portal.services import complaints as svc
from portal.web import apply_service_error, refuse, render, see_other

bp = Blueprint("complaints", __name__)


def _owners():
    return [(s.id, s.display_name) for s in Staff.select().where(
        Staff.role.in_(("consultant", "manager")), Staff.active == True).order_by(Staff.display_name)]  # noqa: E712


@bp.route("/complaints")
@allow("complaint.create")
def index():
    status = "closed" if request.args.get("status") == "closed" else "open"
    if not can(current_user, "complaint.view"):  # the front desk sees what it logged, and can log more
        mine = list(Complaint.select().where(Complaint.created_by == current_user.id)
                    .order_by(Complaint.received_at.desc()).limit(20))
        return render("complaints/logged.html", rows=mine)
    rows = svc.listing(status, utcnow(), current_app.config)
    audit.record("read", object_type="complaint_list", object_ref=status)
    return render("complaints/index.html", rows=rows, status=status)


def _find_patient(ref: str):
    """The patient picker's value (optional): a code, or what was typed."""
    return picked_patient(ref, field="patient", required=False)


@bp.route("/complaints/new", methods=["GET", "POST"])
@allow("complaint.create")
def new():
    form = ComplaintForm()
    form.doctor.choices = [(0, _("Nobody in particular"))] + doctor_choices()
    if request.method == "GET" and request.args.get("patient"):
        form.patient.data = request.args["patient"][:60]
    if form.validate_on_submit():
        try:
            doctor = Staff.get_or_none(Staff.id == form.doctor.data, Staff.role == "doctor") if form.doctor.data else None
            data = svc.ComplaintData(form.channel.data, form.category.data, form.severity.data, form.summary.data,
                                     patient=_find_patient(form.patient.data), doctor=doctor,
                                     owner=current_user if current_user.role in ("consultant", "manager") else None)
            c = svc.receive(data, current_user, current_app.config)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            target = url_for("complaints.show", code=c.code) if can(current_user, "complaint.view") \
                else url_for("complaints.index")
            return see_other(target, _("Complaint logged. First reply due by %(t)s.",
                                       t=format_datetime(c.reply_due_at, "short")))
    shown = quietly(form.patient.data)
    if shown is not None:
        form.patient.data = f"{shown.name} · {shown.chart_no}"  # as the picker shows a choice
    return render("complaints/new.html", form=form), (422 if request.method == "POST" else 200)


@bp.route("/complaints/<code>")
@allow("complaint.view")
def show(code):
    c = load_patient_record(Complaint, "complaint.view", code, "complaint")
    owner_form = OwnerForm(owner=c.owner_id)
    owner_form.owner.choices = _owners()
    return render("complaints/show.html", c=c, actions=svc.actions_of(c), entry_form=EntryForm(),
                  owner_form=owner_form, close_form=CloseForm(),
                  flags=svc.overdue_flags(c, utcnow(), current_app.config["PORTAL_TZ"]))


@bp.route("/complaints/<code>/entries", methods=["POST"])
@allow("complaint.manage")
def add_entry(code):
    c = load_patient_record(Complaint, "complaint.manage", code, "complaint")
    form = EntryForm()
    if not form.validate_on_submit():
        return see_other(url_for("complaints.show", code=code), _("Write what was said or done."), "error")
    try:
        svc.add_action(c, current_user, form.kind.data, form.text.data)
    except ServiceError as err:
        return refuse(err, back=url_for("complaints.show", code=code))
    return see_other(url_for("complaints.show", code=code), _("Saved."))


@bp.route("/complaints/<code>/owner", methods=["POST"])
@allow("complaint.manage")
def set_owner(code):
    c = load_patient_record(Complaint, "complaint.manage", code, "complaint")
    form = OwnerForm()
    if not form.validate_on_submit():
        abort(400)
    owner = Staff.get_or_none(Staff.id == form.owner.data)
    if owner is None:
        abort(400)
    try:
        svc.set_owner(c, owner, current_user)
    except ServiceError as err:
        return refuse(err, back=url_for("complaints.show", code=code))
    return see_other(url_for("complaints.show", code=code), _("Owner changed."))


@bp.route("/complaints/<code>/close", methods=["POST"])
@allow("complaint.manage")
def close(code):
    c = load_patient_record(Complaint, "complaint.manage", code, "complaint")
    form = CloseForm()
    if not form.validate_on_submit():
        return see_other(url_for("complaints.show", code=code), _("Say how the patient was told the outcome."), "error")
    try:
        survey = svc.close(c, current_user, form.told_how.data, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("complaints.show", code=code))
    note = _("Closed; a satisfaction survey is planned.") if survey else _("Closed.")
    return see_other(url_for("complaints.show", code=code), note)
