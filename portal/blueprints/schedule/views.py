"""Day grid, week grid, a doctor's own day, free-slot search, check-in board."""
from datetime import datetime, time, timedelta

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import get_locale
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from portal import audit
from portal.access import allow, can
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.common import status_form, doctor_choices, get_doctor, load_appointment, requested_day
from portal.blueprints.schedule.forms import FreeSlotForm
from portal.services import ServiceError, schedule_board, schedule_cache
from portal.services import schedule as booking
from portal.services.alerts import alerts_for
from portal.services.clock import local_now, to_local
from portal.services.schedule import free_slots
from portal.web import htmx, local_today, refuse, render, see_other, wants_fragment


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
    today = local_today()  # days gone by offer no free time: part of the key
    key = ("week", monday, by, doctor_id, viewer.id, str(get_locale()), today)
    book_html = schedule_cache.grid_cache().get_or_build(key, lambda: _draw_week(monday, by, doctor_id, viewer, today))
    audit.record("read", object_type="schedule", object_ref=f"week:{monday.isoformat()}")
    return render("schedule/week.html", monday=monday, sunday=monday + timedelta(days=6), by=by,
                  doctor_id=doctor_id, doctors=doctor_choices(), book_html=book_html, today=today,
                  prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7))


def _doctor_filter() -> int | None:
    raw = request.args.get("doctor", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _draw_week(monday, by, doctor_id, viewer, today) -> Markup:
    book = schedule_board.week_book(monday, by, current_app.config, doctor_id=doctor_id,
                                    medical=can(viewer, "patient.medical.view"))
    for row in book["rows"]:
        for cell in row.cells:
            for entry in cell.entries:
                if isinstance(entry, schedule_board.Block):
                    entry.visible = can(viewer, "patient.read", entry.appt.patient)
    return Markup(render_template("schedule/_week_table.html", book=book, by=book["by"], today=today))


@bp.route("/schedule/mine")
@allow("schedule.mine")
def mine():
    day = requested_day()
    items = schedule_board.doctor_day(current_user, day, current_app.config)
    alerts = alerts_for({item["appt"].patient_id for item in items}, medical=can(current_user, "patient.medical.view"))
    audit.record("read", object_type="schedule", object_ref=f"{current_user.username}:{day.isoformat()}")
    return render("schedule/mine.html", day=day, items=items, alerts=alerts, prev_day=day - timedelta(days=1),
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
    return _board(day, board)


def _board(day, board, block: str | None = None):
    """The board (or, for one row's action, the board's block with that row alone)."""
    tz = current_app.config["PORTAL_TZ"]
    alerts = alerts_for({item["appt"].patient_id for item in board},
                        medical=can(current_user, "patient.medical.view"))
    # Arrival, seating, completion and no-show happen on the day: other days' rows are shown without them.
    context = dict(day=day, board=board, is_today=day == local_today(), alerts=alerts, now=local_now(tz))
    if block:
        return render_block("schedule/checkin.html", block, **context)
    return render("schedule/checkin.html", **context)


@bp.route("/checkin/<code>/status", methods=["POST"])
@allow("appointment.checkin")
def checkin_status(code):
    """A row's action on the check-in board (arrived, seated, completed, no-show, cancelled).
    htmx gets the row as it is now, swapped in place; a plain browser goes back to the board."""
    appt = load_appointment(code, "appointment.checkin")
    form = status_form()
    config = current_app.config
    day = to_local(appt.start_at, config["PORTAL_TZ"]).date()
    back = url_for("schedule.checkin", date=day.isoformat())
    try:
        booking.change_status(appt, form.to.data, current_user, config, form.reason.data or "",
                              seen=request.form.get("seen") or None)
    except ServiceError as err:  # 409 when another desk or a second click got there first, else 422
        resp = refuse(err, back=back)
        if htmx:
            resp.headers["HX-Reselect"] = ".flash"  # the row's hx-select must not filter the reason away
        return resp
    if wants_fragment():
        return _board(day, schedule_board.checkin_item(appt.id, day, config), block="board")
    return see_other(back, _("Status saved."), trigger="scheduleChanged")
