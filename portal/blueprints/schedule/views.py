"""Day grid, week grid, a doctor's own day, free-slot search, check-in board."""
from datetime import datetime, time, timedelta

from flask import current_app, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from portal import audit
from portal.access import allow, can
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.common import doctor_choices, get_doctor, requested_day
from portal.blueprints.schedule.forms import FreeSlotForm
from portal.services import schedule_board, schedule_cache
from portal.services.clock import local_now
from portal.services.schedule import free_slots
from portal.web import local_today, render


@bp.route("/schedule")
@allow("schedule.view")
def day():
    day = requested_day()
    by = "doctor" if request.args.get("by") == "doctor" else "chair"
    viewer = current_user._get_current_object()  # resolved once, not once per visit
    key = (day, by, viewer.id, str(get_locale()))  # who may see which name, and in which language
    grid_html = schedule_cache.grid_cache().get_or_build(key, lambda: _draw_day(day, by, viewer))
    audit.record("read", object_type="schedule", object_ref=day.isoformat())
    return render("schedule/day.html", day=day, by=by, grid_html=grid_html, today=local_today(),
                  prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1))


def _draw_day(day, by, viewer) -> Markup:
    grid = schedule_board.day_grid(day, by, current_app.config, medical=can(viewer, "patient.medical.view"))
    for col in grid["columns"]:
        for block in col.blocks:
            block.visible = can(viewer, "patient.read", block.appt.patient)
    return Markup(render_template("schedule/_day_grid.html", day=day, by=by, grid=grid))


@bp.route("/schedule/week")
@allow("schedule.view")
def week():
    """The week's appointment book per doctor or per chair; kept like the day grid until the
    schedule changes (services.schedule_cache)."""
    day = requested_day()
    monday = day - timedelta(days=day.weekday())
    doctor_id = _doctor_filter()
    by = "doctor" if doctor_id or request.args.get("by") != "chair" else "chair"
    viewer = current_user._get_current_object()
    key = ("week", monday, by, doctor_id, viewer.id, str(get_locale()))
    book_html = schedule_cache.grid_cache().get_or_build(key, lambda: _draw_week(monday, by, doctor_id, viewer))
    audit.record("read", object_type="schedule", object_ref=f"week:{monday.isoformat()}")
    return render("schedule/week.html", monday=monday, sunday=monday + timedelta(days=6), by=by,
                  doctor_id=doctor_id, doctors=doctor_choices(), book_html=book_html, today=local_today(),
                  prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7))


def _doctor_filter() -> int | None:
    raw = request.args.get("doctor", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _draw_week(monday, by, doctor_id, viewer) -> Markup:
    book = schedule_board.week_book(monday, by, current_app.config, doctor_id=doctor_id,
                                    medical=can(viewer, "patient.medical.view"))
    for row in book["rows"]:
        for cell in row.cells:
            for entry in cell.entries:
                if isinstance(entry, schedule_board.Block):
                    entry.visible = can(viewer, "patient.read", entry.appt.patient)
    return Markup(render_template("schedule/_week_table.html", book=book, by=book["by"], today=local_today()))


@bp.route("/schedule/mine")
@allow("schedule.mine")
def mine():
    day = requested_day()
    items = schedule_board.doctor_day(current_user, day, current_app.config)
    audit.record("read", object_type="schedule", object_ref=f"{current_user.username}:{day.isoformat()}")
    return render("schedule/mine.html", day=day, items=items, prev_day=day - timedelta(days=1),
                  next_day=day + timedelta(days=1))


@bp.route("/schedule/free")
@allow("appointment.book")
def free():
    form = FreeSlotForm(request.args)
    form.doctor.choices = doctor_choices()
    slots, searched = [], False
    if request.args.get("doctor") and form.validate():
        doctor = get_doctor(form.doctor.data)
        start_day = form.start.data or local_today()
        now = local_now(current_app.config["PORTAL_TZ"])
        from_local = max(datetime.combine(start_day, time.min), now)
        ref = request.args.get("patient", "")[:20]  # a diamond member's slots take the VIP chair first
        from portal.models import Patient
        slots = free_slots(doctor, form.minutes.data or 30, from_local, current_app.config,
                           preference=form.preference.data, limit=12,
                           patient=Patient.get_or_none((Patient.chart_no == ref) | (Patient.code == ref)) if ref else None)
        searched = True
    return render("schedule/free.html", form=form, slots=slots, searched=searched,
                  patient=request.args.get("patient", ""))


@bp.route("/checkin")
@allow("appointment.checkin")
def checkin():
    day = requested_day()
    board = schedule_board.checkin_board(day, current_app.config)
    audit.record("read", object_type="checkin", object_ref=day.isoformat())
    # Arrival, seating and completion happen on the day: other days' rows are shown without them.
    return render("schedule/checkin.html", day=day, board=board, is_today=day == local_today())
