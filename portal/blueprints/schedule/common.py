"""Loaders and choices shared by the scheduling views."""
from datetime import date

from flask import abort, current_app, g, request
from flask_login import current_user

from portal import audit
from portal.access import can, deny, load_or_404
from portal.models import Appointment, Chair, Staff
from portal.web import local_today


def status_form():
    """The posted status change, refused before any work: a bad form is 400, and cancelling or a
    no-show is for whoever may book (a nurse checks patients in but does not cancel them)."""
    from portal.blueprints.schedule.forms import StatusForm
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if form.to.data in ("cancelled", "no_show") and not can(current_user, "appointment.book"):
        deny("role")
    return form


def load_appointment(code: str, action: str) -> Appointment:
    appt = load_or_404(Appointment, action, code=code)
    if not can(current_user, "patient.read", appt.patient):
        deny("record", patient=appt.patient)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=appt.patient_id, object_type="appointment", object_ref=appt.code)
    return appt


def requested_day() -> date:
    raw = request.args.get("date", "")
    if not raw:
        return local_today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


def doctor_choices():
    return [(d.id, d.display_name) for d in
            Staff.select().where(Staff.role == "doctor", Staff.active == True).order_by(Staff.display_name)]  # noqa: E712


def chair_choices():
    return [(c.id, c.name + (" · VIP" if c.is_vip else "")) for c in
            Chair.select().where(Chair.active == True).order_by(Chair.sort_order, Chair.id)]  # noqa: E712


def get_doctor(doctor_id) -> Staff:
    doctor = Staff.get_or_none(Staff.id == doctor_id, Staff.role == "doctor", Staff.active == True)  # noqa: E712
    if doctor is None:
        abort(400)
    return doctor


def get_chair(chair_id) -> Chair:
    chair = Chair.get_or_none(Chair.id == chair_id)
    if chair is None:
        abort(400)
    return chair


def config():
    return current_app.config
