"""Booking, viewing, confirming, moving and progressing one appointment."""
from datetime import datetime, timedelta

from flask import abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow, can
from portal.blueprints.patients.picker import picked_patient, quietly
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.common import (status_form, chair_choices, doctor_choices, get_chair, get_doctor,
                                               load_appointment)
from portal.blueprints.schedule.forms import AppointmentForm, ConfirmForm, MoveForm, StatusForm
from portal.models import Patient
from portal.services import Conflict as MovedOn
from portal.services import ServiceError
from portal.services import schedule as booking
from portal.services.clock import local_now, to_local
from portal.services.alerts import alerts_for
from portal.services.schedule_board import vip_patient_ids
from portal.web import apply_service_error, refuse, render, see_other, wants_fragment


def _find_patient(ref: str) -> Patient:
    """The patient picker's value: a code, or what was typed (chart number, exact name or phone)."""
    return picked_patient(ref, field="patient")


def _prefill(form):
    """Links from the free-slot search and the day grid carry doctor, chair, start and patient."""
    args = request.args
    if args.get("patient") and hasattr(form, "patient"):
        form.patient.data = args["patient"][:60]
    if args.get("doctor", "").isdigit():
        form.doctor.data = int(args["doctor"])
    if args.get("chair", "").isdigit():
        form.chair.data = int(args["chair"])
    try:
        if args.get("start"):
            start = datetime.fromisoformat(args["start"])
            form.day.data, form.time.data = start.date(), start.time()
    except ValueError:
        pass
    if args.get("minutes", "").isdigit():
        form.minutes.data = int(args["minutes"])
    if hasattr(form, "visit_type") and args.get("visit_type") in dict(form.visit_type.choices):
        form.visit_type.data = args["visit_type"]
    if args.get("planned") and hasattr(form, "planned"):
        form.planned.data = args["planned"][:200]


def _schedule_plan_item(patient, appt) -> None:
    """Booked from an accepted treatment-plan item (?plan_item=): the item becomes scheduled and
    points at the visit, so the plan shows what is booked and what is still open."""
    from portal.models import PlanItem
    from portal.services import chart_plans
    code = (request.args.get("plan_item") or "")[:12]
    item = PlanItem.get_or_none(PlanItem.code == code) if code else None
    if item is not None and item.patient_id == patient.id and item.status == "accepted":
        try:
            chart_plans.set_status(item, "scheduled", current_user, appointment=appt, seen="accepted")
        except ServiceError as err:  # the item moved on meanwhile: the booking stands, the plan says why not
            flash(err.message, "error")


def _lab_work_warning(patient, start_local) -> None:
    """Issue 14: lab work of this patient not due back before the visit starts (a fitting booked too
    early) warns; the booking stands. Only the fact and the date: lab case content is clinical."""
    from portal.services.lab_cases import not_back_by
    due = not_back_by(patient, start_local)
    if due:
        flash(_("Lab work for this patient is not due back until %(day)s: check it is back before this visit.",
                day=due[0].isoformat()), "warning")


def _doctor_on_shift(form) -> None:
    from portal.services.schedule_board import doctor_on_shift
    if form.day.data and form.time.data and form.minutes.data:
        doctor_id = doctor_on_shift(datetime.combine(form.day.data, form.time.data), form.minutes.data,
                                    form.chair.data, current_app.config["PORTAL_TZ"])
        if doctor_id is not None:
            form.doctor.data = doctor_id


def _next_free_start(form) -> None:
    """No time asked for: the chosen (or first) doctor's next free slot from now, never a past time."""
    from portal.models import Chair, Staff
    from portal.services.schedule_board import next_free_start
    config = current_app.config
    doctor_id = form.doctor.data or (form.doctor.choices[0][0] if form.doctor.choices else None)
    doctor = Staff.get_or_none(Staff.id == doctor_id, Staff.role == "doctor", Staff.active == True) if doctor_id else None  # noqa: E712
    chair = Chair.get_or_none(Chair.id == form.chair.data, Chair.active == True) if form.chair.data else None  # noqa: E712
    start, chair_id = next_free_start(doctor, form.minutes.data, local_now(config["PORTAL_TZ"]), config, chair=chair)
    form.day.data, form.time.data = start.date(), start.time()
    if doctor is not None:
        form.doctor.data = doctor.id
    if chair_id and not form.chair.data:
        form.chair.data = chair_id


@bp.route("/appointments/new", methods=["GET", "POST"])
@allow("appointment.book")
def new():
    form = AppointmentForm()
    form.doctor.choices, form.chair.choices = doctor_choices(), chair_choices()
    if request.method == "GET":
        _prefill(form)
        form.minutes.data = form.minutes.data or current_app.config["VISIT_MINUTES"][form.visit_type.data]
        if not request.args.get("start"):
            _next_free_start(form)
        elif not request.args.get("doctor"):  # a free cell of the grid drawn by chair: who works then
            _doctor_on_shift(form)
    conflict = None
    if form.validate_on_submit():
        try:
            patient = _find_patient(form.patient.data)
            appt = booking.book(current_user, patient, get_doctor(form.doctor.data), get_chair(form.chair.data),
                                datetime.combine(form.day.data, form.time.data), form.minutes.data,
                                form.visit_type.data, current_app.config, planned=form.planned.data or "",
                                notes=form.notes.data or "", source=form.source.data,
                                now_local=local_now(current_app.config["PORTAL_TZ"]))
        except booking.Conflict as exc:
            conflict = exc
            form.form_errors.append(exc.message)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            _schedule_plan_item(patient, appt)
            _lab_work_warning(patient, datetime.combine(form.day.data, form.time.data))
            return see_other(url_for("schedule.show", code=appt.code), _("Booked."), trigger="scheduleChanged")
    patient = quietly(form.patient.data)
    if patient is not None:
        form.patient.data = f"{patient.name} · {patient.chart_no}"  # as the picker shows a choice
    vip = bool(patient and vip_patient_ids([patient.id]))
    if patient is not None and form.day.data and form.time.data:
        _lab_work_warning(patient, datetime.combine(form.day.data, form.time.data))
    status = 422 if request.method == "POST" else 200
    return render("schedule/new.html", form=form, conflict=conflict, patient=patient, vip=vip), status


@bp.route("/appointments/<code>")
@allow("schedule.view")
def show(code):
    appt = load_appointment(code, "schedule.view")
    tz = current_app.config["PORTAL_TZ"]
    events = list(appt.events.order_by(appt.events.model.at))
    alerts = alerts_for([appt.patient_id], medical=can(current_user, "patient.medical.view")).get(appt.patient_id, [])
    return render("schedule/show.html", appt=appt, start=to_local(appt.start_at, tz), end=to_local(appt.end_at, tz),
                  events=events, status_form=StatusForm(), confirm_form=ConfirmForm(),
                  vip=any(a.kind == "vip" for a in alerts), alerts=alerts)


@bp.route("/appointments/<code>/status", methods=["POST"])
@allow("appointment.checkin")
def set_status(code):
    appt = load_appointment(code, "appointment.checkin")
    form = status_form()
    try:
        booking.change_status(appt, form.to.data, current_user, current_app.config, form.reason.data or "",
                              seen=request.form.get("seen") or None)
    except ServiceError as err:  # 409 when another desk or a second click got there first, else 422
        return refuse(err, back=url_for("schedule.show", code=code))
    if wants_fragment() and request.form.get("grid") in ("chair", "doctor") and request.form.get("c", "").isdigit():
        # Made on a block of the day grid: the answer is that block as it is now, swapped in
        # place; the rest of the grid did not change. An appointment that left the grid has the
        # grid fetch itself again instead.
        from portal.blueprints.schedule.views import day_block
        block = day_block(appt, int(request.form["c"][:3]), request.form["grid"], current_user._get_current_object())
        if block is not None:
            return block
        return make_response("", 204, {"HX-Trigger": "scheduleChanged"})
    back = request.form.get("back")
    target = back if back in ("checkin", "mine") else None
    day = request.form.get("date", "")[:10]
    url = url_for(f"schedule.{target}", **({"date": day} if day else {})) if target else url_for("schedule.show", code=code)
    return see_other(url, _("Status saved."), trigger="scheduleChanged")


@bp.route("/appointments/<code>/confirm", methods=["POST"])
@allow("appointment.book")
def confirm(code):
    appt = load_appointment(code, "appointment.book")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        booking.confirm(appt, current_user, form.how.data, current_app.config["PORTAL_TZ"])
    except ServiceError as err:
        return refuse(err, back=url_for("schedule.show", code=code))
    return see_other(url_for("schedule.show", code=code), _("Confirmed."))


@bp.route("/appointments/<code>/move", methods=["GET", "POST"])
@allow("appointment.book")
def move(code):
    appt = load_appointment(code, "appointment.book")
    tz = current_app.config["PORTAL_TZ"]
    form = MoveForm()
    form.doctor.choices, form.chair.choices = doctor_choices(), chair_choices()
    if request.method == "GET":
        start = to_local(appt.start_at, tz)
        form.doctor.data, form.chair.data, form.day.data, form.time.data = appt.doctor_id, appt.chair_id, start.date(), start.time()
        form.minutes.data = int((appt.end_at - appt.start_at) / timedelta(minutes=1))
        _prefill(form)  # a suggested free time from the conflict list
    conflict = None
    if form.validate_on_submit():
        try:
            new = booking.move(appt, current_user, datetime.combine(form.day.data, form.time.data), form.minutes.data,
                               get_doctor(form.doctor.data), get_chair(form.chair.data), current_app.config,
                               form.reason.data or "")
        except booking.Conflict as exc:
            conflict = exc
            form.form_errors.append(exc.message)
        except MovedOn as err:  # cancelled or moved by someone else meanwhile
            return refuse(err, back=url_for("schedule.show", code=code))
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            # a fitting moved earlier than the lab promised the work warns, as booking it there would
            _lab_work_warning(appt.patient, datetime.combine(form.day.data, form.time.data))
            return see_other(url_for("schedule.show", code=new.code), _("Moved; the patient is told."),
                             trigger="scheduleChanged")
    status = 422 if request.method == "POST" else 200
    return render("schedule/move.html", form=form, appt=appt, conflict=conflict), status
