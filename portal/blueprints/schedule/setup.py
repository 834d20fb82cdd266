"""The manager's setup: chairs and rooms, doctor shifts (weekly patterns and exceptions)."""
from datetime import timedelta

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.common import chair_choices, doctor_choices, get_doctor, requested_day
from portal.blueprints.schedule.forms import ChairForm, ExceptionForm, PatternForm
from portal.db import unit_of_work
from portal.models import Chair, ShiftException, ShiftPattern, Staff, new_code
from portal.services import ServiceError, shifts
from portal.web import apply_service_error, local_today, render, see_other


@bp.route("/schedule/chairs", methods=["GET", "POST"])
@allow("chair.manage")
def chairs():
    form = ChairForm()
    if form.validate_on_submit():
        with unit_of_work():
            chair = Chair.create(code=new_code(6), name=form.name.data.strip(), room=(form.room.data or "").strip(),
                                 is_vip=form.is_vip.data, sort_order=Chair.select().count())
            audit.record("create", object_type="chair", object_ref=chair.code, detail={"name": chair.name})
        return see_other(url_for("schedule.chairs"), _("Chair added."))
    status = 422 if request.method == "POST" else 200
    return render("schedule/chairs.html", form=form, chairs=list(Chair.select().order_by(Chair.sort_order))), status


@bp.route("/schedule/chairs/<code>/toggle", methods=["POST"])
@allow("chair.manage")
def toggle_chair(code):
    chair = Chair.get_or_none(Chair.code == code) or abort(404)
    with unit_of_work():
        chair.active = not chair.active
        chair.save()
        audit.record("update", object_type="chair", object_ref=chair.code, detail={"active": chair.active})
    return see_other(url_for("schedule.chairs"), _("Saved."))


def _shift_forms():
    pattern, exception = PatternForm(prefix="p"), ExceptionForm(prefix="e")
    pattern.doctor.choices = doctor_choices()
    pattern.chair.choices = [(0, "—")] + chair_choices()
    exception.doctor.choices = [(0, _("Whole clinic"))] + doctor_choices()
    return pattern, exception


@bp.route("/schedule/shifts", methods=["GET"])
@allow("shift.manage")
def shift_plan():
    day = requested_day()
    monday = day - timedelta(days=day.weekday())
    doctors = list(Staff.select().where(Staff.role == "doctor", Staff.active == True).order_by(Staff.display_name))  # noqa: E712
    pattern_form, exception_form = _shift_forms()
    if request.method == "GET":
        pattern_form.valid_from.data = local_today()
        exception_form.day.data = local_today()
    patterns = list(ShiftPattern.select(ShiftPattern, Staff).join(Staff)
                    .where((ShiftPattern.valid_to.is_null()) | (ShiftPattern.valid_to >= local_today()))
                    .order_by(Staff.display_name, ShiftPattern.weekday, ShiftPattern.start_time))
    upcoming = list(ShiftException.select().where(ShiftException.day >= local_today())
                    .order_by(ShiftException.day).limit(50))
    return render("schedule/shifts.html", monday=monday, doctors=doctors, grid=shifts.week_grid(monday, doctors),
                  patterns=patterns, upcoming=upcoming, pattern_form=pattern_form, exception_form=exception_form,
                  prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7))


@bp.route("/schedule/shifts/patterns", methods=["POST"])
@allow("shift.manage")
def add_pattern():
    form, _unused = _shift_forms()
    if form.validate_on_submit():
        chair = Chair.get_or_none(Chair.id == form.chair.data) if form.chair.data else None
        try:
            shifts.add_pattern(get_doctor(form.doctor.data), form.weekday.data, form.start_time.data,
                               form.end_time.data, form.valid_from.data, form.valid_to.data, chair)
        except ServiceError as err:
            return see_other(url_for("schedule.shift_plan"), err.message, "error")
        return see_other(url_for("schedule.shift_plan"), _("Shift added."))
    return see_other(url_for("schedule.shift_plan"), _first_error(form), "error")


@bp.route("/schedule/shifts/patterns/<int:pattern_id>/end", methods=["POST"])
@allow("shift.manage")
def end_pattern(pattern_id):
    pattern = ShiftPattern.get_or_none(ShiftPattern.id == pattern_id) or abort(404)
    shifts.end_pattern(pattern, local_today())
    return see_other(url_for("schedule.shift_plan"), _("Shift ended from today."))


@bp.route("/schedule/shifts/exceptions", methods=["POST"])
@allow("shift.manage")
def add_exception():
    _unused, form = _shift_forms()
    if form.validate_on_submit():
        doctor = get_doctor(form.doctor.data) if form.doctor.data else None
        try:
            shifts.add_exception(form.kind.data, form.day.data, current_user, doctor, form.start_time.data,
                                 form.end_time.data, form.note.data or "")
        except ServiceError as err:
            return see_other(url_for("schedule.shift_plan"), err.message, "error")
        return see_other(url_for("schedule.shift_plan"), _("Exception saved."))
    return see_other(url_for("schedule.shift_plan"), _first_error(form), "error")


def _first_error(form) -> str:
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return _("Check the form.")
