"""Day grid, week grid, a doctor's own day, free-slot search, check-in board."""
import re
import secrets
from datetime import datetime, time, timedelta
from types import SimpleNamespace

from flask import current_app, get_template_attribute, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import get_locale
from flask_login import current_user
from jinja2_fragments.flask import render_block
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from portal import audit
from portal.access import allow, can
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.common import status_form, doctor_choices, get_doctor, load_appointment, requested_day
from portal.blueprints.schedule.forms import VISIT_TYPE_CHOICES, WEEKDAY_CHOICES, FreeSlotForm
from portal.services import ServiceError, schedule_board, schedule_cache
from portal.services import schedule as booking
from portal.services.alerts import alerts_for
from portal.services.clock import local_now, to_local
from portal.services.schedule import free_slots
from portal.templating import NEXT_ACTION_LABELS, STATUS_LABELS
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
    return render("schedule/day.html", day=day, by=by, grid_html=with_fresh_forms(grid_html), today=local_today(),
                  prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1))


FORM_KEY_FIELD = re.compile(r'name="form_key" value="[0-9a-f]{32}"')


def with_fresh_forms(html: str) -> Markup:
    """A kept grid's forms made this request's: the CSRF placeholder becomes the session's token,
    and each one-time form key a new one (a kept key would answer a later click with an earlier
    click's result, and a part kept for one person must not carry a key for another)."""
    if "__visit_csrf__" not in html:
        return Markup(html)
    html = FORM_KEY_FIELD.sub(lambda _m: f'name="form_key" value="{secrets.token_hex(16)}"', str(html))
    return Markup(html.replace("__visit_csrf__", generate_csrf()))


def _viewer_sees(viewer):
    """visible(row): may the viewer see who the row's patient is. access.can per restricted
    patient only: for anyone else the answer is the role's, asked once."""
    sees_patients = can(viewer, "patient.read")

    def visible(row) -> bool:
        if not row[schedule_board.R_P_RESTRICTED]:
            return sees_patients
        return can(viewer, "patient.read", SimpleNamespace(restricted=True, attending_doctor_id=row[schedule_board.R_P_DOCTOR]))
    return visible


def _day_shared(day, by, viewer) -> dict:
    """What every block of a day grid shares: labels, link stems and the viewer's permissions,
    computed once per grid, not per block. Part of each kept column's key."""
    config = current_app.config
    return dict(
        by=by, day=day, today=local_today(), locale=str(get_locale()),
        clinic=(config["CLINIC_OPENS"], config["CLINIC_CLOSES"], config["SLOT_MINUTES"], config["PORTAL_TZ"]),
        may_book=can(viewer, "appointment.book"), checkin=day == local_today() and can(viewer, "appointment.checkin"),
        may_visit=(can(viewer, "visit.read"), can(viewer, "visit.start")),
        book_label=_("Book"), restricted_label=_("Restricted"),
        book_base=url_for("schedule.new") + "?start=" + day.isoformat() + "T",
        appt_base=url_for("schedule.show", code="_")[:-1],
        types={k: str(v) for k, v in VISIT_TYPE_CHOICES}, statuses={k: str(v) for k, v in STATUS_LABELS.items()},
        next_steps=NEXT_STEP, next_labels={k: str(v) for k, v in NEXT_ACTION_LABELS.items()})


NEXT_STEP = {"booked": "arrived", "arrived": "seated", "seated": "completed"}  # as the check-in board offers


def _shared_key(shared: dict) -> tuple:
    return tuple((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in sorted(shared.items()))


def _visits_of(rows) -> dict:
    """The rows' visits as macros/visits.html reads them: visits.get(appt.id).code."""
    return {a[schedule_board.R_ID]: SimpleNamespace(code=a[schedule_board.R_VISIT]) for a, _where in rows
            if a[schedule_board.R_VISIT]}


def _draw_day(day, by, viewer) -> Markup:
    """Built from the day's rows each time; of what they show, only the parts that changed are
    drawn: a column comes kept whole, or its background and each of its blocks do."""
    grid = schedule_board.day_grid(day, by, current_app.config, medical=can(viewer, "patient.medical.view"))
    visible, alerts = _viewer_sees(viewer), grid["alerts"]
    shared = _day_shared(day, by, viewer)
    shared_key, labels, rows = _shared_key(shared), tuple(grid["labels"]), grid["rows"]
    parts = schedule_cache.part_cache()
    draw_slots = get_template_attribute("schedule/_day_slots.html", "day_slots")
    draw_block = get_template_attribute("schedule/_day_block.html", "day_block")
    R_PATIENT = schedule_board.R_PATIENT
    columns = []
    for c, col in enumerate(grid["columns"], start=2):
        shown = tuple((a, visible(a), tuple(alerts.get(a[R_PATIENT], ()))) for a, _where in col.rows)  # a: the visit too
        background = ("day-slots", shared_key, labels, c, col.key, tuple(col.working_spans), tuple(col.free_rows))

        def draw(col=col, c=c, shown=shown, background=background):
            html = [parts.get_or_draw(background, lambda: str(draw_slots(col, c, rows, labels, shared)))]
            for (a, where), item in zip(col.rows, shown):
                html.append(parts.get_or_draw(("day-block", shared_key, c, item), lambda: str(draw_block(
                    schedule_board.block_of(a, where, item[2], item[1]), c, shared, _visits_of([(a, where)])))))
            return "\n".join(html)
        columns.append(Markup(parts.get_or_draw(("day-column", background, col.title, col.is_vip, shown), draw)))
    return Markup(render_template("schedule/_day_grid.html", day=day, by=by, grid=grid, columns=columns))


def day_block(appt, c: int, by: str, viewer) -> Markup | None:
    """One block of the day grid as the database has it now (the answer to a status change made
    on it), or None when the appointment has left the grid (then the grid is drawn again)."""
    config = current_app.config
    rows = schedule_board.appointment_rows(appt.start_at, appt.end_at, active_only=True, visits=True, id=appt.id)
    if not rows:
        return None
    row = rows[0]
    where = schedule_board.Placer(config)(row[schedule_board.R_START], row[schedule_board.R_END])
    alerts = alerts_for([row[schedule_board.R_PATIENT]], medical=can(viewer, "patient.medical.view"))
    block = schedule_board.block_of(row, where, alerts.get(row[schedule_board.R_PATIENT], ()), _viewer_sees(viewer)(row))
    visits = _visits_of([(row, where)])
    macro = get_template_attribute("schedule/_day_block.html", "day_block")
    return with_fresh_forms(macro(block, c, _day_shared(where[2], by, viewer), visits))


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
    """Built from the week's rows each time; each cell drawn only when what it shows changed."""
    config = current_app.config
    book = schedule_board.week_book(monday, by, config, doctor_id=doctor_id, medical=can(viewer, "patient.medical.view"))
    by = book["by"]
    visible, alerts = _viewer_sees(viewer), book["alerts"]
    shared = dict(
        by=by, today=today, locale=str(get_locale()), may_book=can(viewer, "appointment.book"),
        book_label=_("Book"), restricted_label=_("Restricted"), off_label=_("off"),
        book_base=url_for("schedule.new") + "?start=", appt_base=url_for("schedule.show", code="_")[:-1],
        target="&doctor=" if by == "doctor" else "&chair=",
        types={k: str(v) for k, v in VISIT_TYPE_CHOICES}, statuses={k: str(v) for k, v in STATUS_LABELS.items()},
        weekdays={k: str(v) for k, v in WEEKDAY_CHOICES},
        clinic=(config["CLINIC_OPENS"], config["CLINIC_CLOSES"], config["SLOT_MINUTES"], config["PORTAL_TZ"]))
    shared_key, parts = _shared_key(shared), schedule_cache.part_cache()
    cell_macro = get_template_attribute("schedule/_week_cell.html", "week_cell")
    R_PATIENT = schedule_board.R_PATIENT
    drawn_rows = []
    for row in book["rows"]:
        cells = []
        for day, spans, placed in row.cells:
            shown = tuple((a, visible(a), tuple(alerts.get(a[R_PATIENT], ()))) for a, _where in placed)
            key = ("week-cell", shared_key, row.key, day, spans, shown)

            def draw(day=day, spans=spans, placed=placed, row=row):
                cell = schedule_board.week_cell(day, spans, placed, config, by, alerts, visible)
                return str(cell_macro(cell, row.key, shared))
            cells.append(Markup(parts.get_or_draw(key, draw)))
        drawn_rows.append((row, cells))
    return Markup(render_template("schedule/_week_table.html", book=book, by=by, today=today, rows=drawn_rows))


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
