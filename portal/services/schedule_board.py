"""Read models for the schedule screens: a day grid, a week, the check-in board. Few queries each."""
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import date, datetime, timedelta

from portal.db import db
from portal.models import Appointment, Chair, Patient, Staff
from portal.models.schedule import ACTIVE_STATUSES, LONGEST_APPOINTMENT
from portal.services.alerts import alerts_for, vip_query
from portal.services.clock import day_bounds_utc, parse_hhmm, to_local
from portal.services.shifts import week_grid, windows_for


@dataclass
class Block:
    appt: Appointment
    start: datetime
    end: datetime
    row_start: int
    row_end: int
    vip: bool = False
    visible: bool = True  # may the viewer see who the patient is (the view's answer, via block_of)
    alerts: list = field(default_factory=list)  # services.alerts.Alert, most urgent first

    @property
    def begins(self) -> str:
        return f"{self.start.hour:02d}:{self.start.minute:02d}"

    @property
    def hours(self) -> str:
        # Integer formatting: strftime cost 20 µs a block, a third of a busy day's grid.
        s, e = self.start, self.end
        return f"{s.hour:02d}:{s.minute:02d}–{e.hour:02d}:{e.minute:02d}"


@dataclass
class Column:
    key: int
    title: str
    is_vip: bool = False
    working_rows: set = field(default_factory=set)
    working_spans: list = field(default_factory=list)  # (first row, last row + 1) per shift window
    free_rows: list = field(default_factory=list)      # rows a tap can book: no visit there
    rows: list = field(default_factory=list)           # (raw row, Placer placement) per appointment


def vip_patient_ids(patient_ids) -> set[int]:
    """Which of these patients the desk treats as VIP: a VIP or diamond member, someone such a
    member referred, or (before anyone had a tier) a patient tagged VIP (alerts.VIP_SQL: each
    way starts from the id list, so the patient table is never walked)."""
    ids = sorted({i for i in patient_ids if i is not None})
    if not ids:
        return set()
    sql, params = vip_query(ids)
    return {pid for (pid,) in db.execute_sql(sql, params).fetchall()}


# What the grid, the board and a doctor's day show, read as plain rows through the raw cursor:
# a busy day has ~320 appointments and a week ~2,200, and building models (or per-row query
# objects) for them cost more than drawing the page. One SQL text per filter, made once.
ROW_SQL = (
    "SELECT a.id, a.code, a.patient_id, a.doctor_id, a.chair_id, a.start_at, a.end_at, a.visit_type,"
    " a.status, a.confirmed_at, a.arrived_at, a.planned, p.code, p.name, p.restricted,"
    " p.attending_doctor_id, s.display_name, c.name, {visit}"
    ' FROM "appointment" AS "a" JOIN "patient" AS "p" ON p.id = a.patient_id JOIN "staff" AS "s" ON s.id = a.doctor_id'
    ' JOIN "chair" AS "c" ON c.id = a.chair_id{visit_join}'
    " WHERE a.start_at < {p} AND a.start_at > {p} AND a.end_at > {p}{more} ORDER BY a.start_at, a.id")
(R_ID, R_CODE, R_PATIENT, R_DOCTOR, R_CHAIR, R_START, R_END, R_TYPE, R_STATUS, R_CONFIRMED, R_ARRIVED, R_PLANNED,
 R_P_CODE, R_P_NAME, R_P_RESTRICTED, R_P_DOCTOR, R_D_NAME, R_C_NAME, R_VISIT) = range(19)  # R_VISIT: its visit's code
ROW_FILTERS = {"doctor": "a.doctor_id", "status": "a.status", "id": "a.id"}


def appointment_rows(start_utc, end_utc, active_only: bool = False, visits: bool = False, **filters) -> list[tuple]:
    """Appointments overlapping [start, end) (Appointment.overlapping), as raw row tuples (R_*
    indexes), in start order; R_VISIT is None unless `visits` (the day grid's visit actions).
    `filters`: doctor, status or id equal to a value."""
    param = db.param
    more = "".join(f" AND {ROW_FILTERS[name]} = {param}" for name in filters)
    if active_only:
        more += " AND a.status IN (" + ", ".join(param for _ in ACTIVE_STATUSES) + ")"
    sql = ROW_SQL.format(p=param, more=more, visit="v.code" if visits else "NULL",
                         visit_join=' LEFT JOIN "visit" AS "v" ON v.appointment_id = a.id' if visits else "")
    params = [end_utc, start_utc - LONGEST_APPOINTMENT, start_utc, *filters.values()]
    if active_only:
        params += ACTIVE_STATUSES
    return db.execute_sql(sql, params).fetchall()


def light(row: tuple) -> SimpleNamespace:
    """A row as the templates read an appointment: a.patient.name, a.doctor.display_name, …"""
    (id_, code, patient_id, doctor_id, chair_id, start_at, end_at, visit_type, status, confirmed_at,
     arrived_at, planned, p_code, p_name, p_restricted, p_doctor, d_name, c_name, _visit) = row
    patient = SimpleNamespace(id=patient_id, code=p_code, name=p_name, restricted=bool(p_restricted),
                              attending_doctor_id=p_doctor)
    return SimpleNamespace(
        id=id_, code=code, patient_id=patient_id, doctor_id=doctor_id, chair_id=chair_id,
        start_at=_dt(start_at), end_at=_dt(end_at), visit_type=visit_type, status=status,
        confirmed_at=_dt(confirmed_at) if confirmed_at else None,
        arrived_at=_dt(arrived_at) if arrived_at else None, planned=planned,
        patient=patient, doctor=SimpleNamespace(id=doctor_id, display_name=d_name),
        chair=SimpleNamespace(id=chair_id, name=c_name))


def appointments_between(start_utc, end_utc, **filters) -> list[SimpleNamespace]:
    """Appointments overlapping the interval, as light rows: a.patient.name, a.doctor.display_name, …"""
    return [light(row) for row in appointment_rows(start_utc, end_utc, **filters)]


def _dt(value):
    """Tuples skip peewee's field conversion; SQLite hands back text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Placer:
    """Where an appointment sits: local start and end, its day and slot rows [r1, r2). Kept per
    (start, end) as the database sent them: a busy day's 20 chairs share each start time, so a
    week's 2,200 visits need ~100 conversions instead of 4,400."""

    def __init__(self, config):
        self.tz, self.slot = config["PORTAL_TZ"], config["SLOT_MINUTES"]
        self.opens, closes = parse_hhmm(config["CLINIC_OPENS"]), parse_hhmm(config["CLINIC_CLOSES"])
        day = date(2000, 1, 3)
        self.rows = int((datetime.combine(day, closes) - datetime.combine(day, self.opens)).total_seconds() // 60 // self.slot)
        self._local = _local_clock(self.tz)
        self._kept: dict = {}

    def __call__(self, start_raw, end_raw) -> tuple[datetime, datetime, date, int, int]:
        found = self._kept.get((start_raw, end_raw))
        if found is None:
            start, end = self._local(_dt(start_raw)), self._local(_dt(end_raw))
            first = datetime.combine(start.date(), self.opens)
            r1 = max(0, int((start - first).total_seconds() // 60 // self.slot))
            r2 = min(self.rows, max(r1 + 1, int(-(-(end - first).total_seconds() // 60 // self.slot))))
            found = self._kept[(start_raw, end_raw)] = (start, end, start.date(), r1, r2)
        return found


def block_of(row: tuple, placed: tuple, alerts: list, visible: bool = True) -> Block:
    """The Block a template draws for a row (made only for the parts being drawn)."""
    start, end, _day, r1, r2 = placed
    return Block(light(row), start, end, r1, r2, any(x.kind == "vip" for x in alerts), visible, list(alerts))


def day_grid(day: date, by: str, config, medical: bool = True) -> dict:
    """Columns per chair (or per doctor) with the day's active appointments as raw rows placed on
    slot rows (`col.rows`: (row, placement) pairs), each patient's alerts (`medical`: may the
    viewer see allergy and medical-alert text) and the bookable free rows. Blocks are made by
    whoever draws a column (block_of): a kept column needs none."""
    tz, slot = config["PORTAL_TZ"], config["SLOT_MINUTES"]
    place = Placer(config)
    first = datetime.combine(day, place.opens)
    rows = place.rows
    start_utc, end_utc = day_bounds_utc(day, tz)
    appts = appointment_rows(start_utc, end_utc, active_only=True, visits=True)
    alerts = alerts_for([r[R_PATIENT] for r in appts], medical=medical) if appts else {}
    if by == "doctor":
        doctors = list(Staff.select(Staff.id, Staff.display_name).where(Staff.role == "doctor", Staff.active == True)  # noqa: E712
                       .order_by(Staff.display_name).tuples())
        windows = windows_for([d for d, _ in doctors], day)
        columns = {d: Column(d, name) for d, name in doctors if windows[d]}
        for a in appts:
            if a[R_DOCTOR] not in columns:
                columns[a[R_DOCTOR]] = Column(a[R_DOCTOR], a[R_D_NAME])
        for d, _name in doctors:
            if d in columns:
                columns[d].working_rows = _rows_of(windows[d], first, slot, rows)
    else:
        chairs = Chair.select(Chair.id, Chair.name, Chair.is_vip).where(Chair.active == True)  # noqa: E712
        columns = {c: Column(c, name, bool(vip)) for c, name, vip in chairs.order_by(Chair.sort_order, Chair.id).tuples()}
    key_at = R_DOCTOR if by == "doctor" else R_CHAIR
    for a in appts:
        col = columns.get(a[key_at])
        if col is not None:
            col.rows.append((a, place(a[R_START], a[R_END])))
    for col in columns.values():
        taken = {r for _a, (_s, _e, _d, r1, r2) in col.rows for r in range(r1, r2)}
        open_rows = col.working_rows if by == "doctor" else range(rows)
        col.free_rows = [r for r in sorted(open_rows) if r not in taken]
        col.working_spans = _spans(sorted(col.working_rows))
    labels = [(first + timedelta(minutes=slot * i)).strftime("%H:%M") for i in range(rows)]
    return {"columns": list(columns.values()), "rows": rows, "labels": labels, "count": len(appts),
            "alerts": alerts}


@dataclass
class WeekCell:
    day: date
    working: bool                                   # on shift (by doctor) / someone works (by chair)
    entries: list = field(default_factory=list)     # Block or Gap, in time order


@dataclass
class Gap:
    """Free bookable time in a week cell: a tap books its start."""
    start: datetime
    end: datetime
    chair_id: int | None = None  # by doctor: the chair the shift names, if any

    @property
    def hours(self) -> str:
        s, e = self.start, self.end
        return f"{s.hour:02d}:{s.minute:02d}–{e.hour:02d}:{e.minute:02d}"

    @property
    def begins(self) -> str:
        return f"{self.start.hour:02d}:{self.start.minute:02d}"


@dataclass
class WeekRow:
    key: int
    title: str
    is_vip: bool = False
    cells: list = field(default_factory=list)  # (day, windows, [(row, placement)]) per day


def week_book(monday: date, by: str, config, doctor_id: int | None = None, medical: bool = True) -> dict:
    """Seven days of appointments per doctor (or per chair): each row's cells hold the day, the
    shift windows that open it and its appointments as (raw row, placement) pairs; `week_cell`
    turns one into blocks and free gaps when it is drawn. A constant number of queries for any
    week: the appointments, the alerts (two), the doctors, their shifts (two) and, by chair, the
    chairs. `doctor_id` narrows the book to one doctor (then it is by doctor)."""
    tz = config["PORTAL_TZ"]
    place = Placer(config)
    days = [monday + timedelta(days=i) for i in range(7)]
    start_utc, end_utc = day_bounds_utc(days[0], tz)[0], day_bounds_utc(days[-1], tz)[1]
    filters = {"doctor": doctor_id} if doctor_id else {}
    appts = appointment_rows(start_utc, end_utc, active_only=True, **filters)
    alerts = alerts_for([r[R_PATIENT] for r in appts], medical=medical) if appts else {}
    doctors = list(Staff.select(Staff.id, Staff.display_name).where(Staff.role == "doctor", Staff.active == True)  # noqa: E712
                   .order_by(Staff.display_name))
    windows = dict(week_grid(monday, doctors))  # day -> doctor id -> [Window]
    if doctor_id:
        by = "doctor"
    if by == "doctor":
        rows = {d.id: WeekRow(d.id, d.display_name) for d in doctors if not doctor_id or d.id == doctor_id}
        for a in appts:  # a doctor no longer active still shows the visits booked with them
            if a[R_DOCTOR] not in rows:
                rows[a[R_DOCTOR]] = WeekRow(a[R_DOCTOR], a[R_D_NAME])
    else:
        chairs = Chair.select(Chair.id, Chair.name, Chair.is_vip).where(Chair.active == True)  # noqa: E712
        rows = {c: WeekRow(c, name, bool(vip)) for c, name, vip in chairs.order_by(Chair.sort_order, Chair.id).tuples()}
    key_at = R_DOCTOR if by == "doctor" else R_CHAIR
    placed: dict[tuple[int, date], list] = {}
    for a in appts:
        where = place(a[R_START], a[R_END])
        placed.setdefault((a[key_at], where[2]), []).append((a, where))
    for day in days:
        on_day = windows.get(day, {})
        anyone = tuple(w for ws in on_day.values() for w in ws)
        for key, row in rows.items():
            spans = tuple(on_day.get(key, ())) if by == "doctor" else anyone
            row.cells.append((day, spans, placed.get((key, day), [])))
    return {"rows": list(rows.values()), "days": days, "count": len(appts), "by": by, "alerts": alerts}


def week_cell(day: date, spans, placed: list, config, by: str, alerts: dict, visible) -> WeekCell:
    """One cell of the week drawn: its blocks and the free gaps a tap can book, in time order.
    `visible(row)`: may the viewer see who the patient is."""
    opens, slot = parse_hhmm(config["CLINIC_OPENS"]), config["SLOT_MINUTES"]
    n_rows = Placer(config).rows
    first = datetime.combine(day, opens)
    open_rows = _rows_of(spans, first, slot, n_rows)
    cell_blocks = [block_of(a, where, alerts.get(a[R_PATIENT], ()), visible(a)) for a, where in placed]
    taken = {r for b in cell_blocks for r in range(b.row_start, b.row_end)}
    chair_of = {r: w.chair_id for w in spans for r in _rows_of([w], first, slot, n_rows)} if by == "doctor" else {}
    gaps = [Gap(first + timedelta(minutes=slot * r1), first + timedelta(minutes=slot * r2), chair_of.get(r1))
            for r1, r2 in _spans(sorted(r for r in open_rows if r not in taken))]
    return WeekCell(day, bool(open_rows), sorted(cell_blocks + gaps, key=lambda e: e.start))


def _local_clock(tz: str):
    """to_local for many times: the offset looked up once per UTC hour (zone changes fall on
    whole UTC hours), not once per time; a busy week converts ~4,500 times."""
    offsets: dict[datetime, timedelta] = {}

    def local(utc: datetime) -> datetime:
        hour = utc.replace(minute=0, second=0, microsecond=0)
        offset = offsets.get(hour)
        if offset is None:
            offset = offsets[hour] = to_local(hour, tz) - hour
        return utc + offset
    return local


def _spans(rows_sorted: list[int]) -> list[tuple[int, int]]:
    spans = []
    for r in rows_sorted:
        if spans and spans[-1][1] == r:
            spans[-1] = (spans[-1][0], r + 1)
        else:
            spans.append((r, r + 1))
    return spans


def _rows_of(windows, first, slot, rows) -> set[int]:
    result = set()
    for w in windows:
        r1 = int((datetime.combine(first.date(), w.start) - first).total_seconds() // 60 // slot)
        r2 = int((datetime.combine(first.date(), w.end) - first).total_seconds() // 60 // slot)
        result.update(range(max(0, r1), min(rows, r2)))
    return result


def checkin_board(day: date, config, **filters) -> list[dict]:
    """Today's visits in order, with how long each arrived patient has waited."""
    tz = config["PORTAL_TZ"]
    start_utc, end_utc = day_bounds_utc(day, tz)
    now = datetime.utcnow()
    board = []
    for a in appointments_between(start_utc, end_utc, **filters):
        if a.status in ("rescheduled",):
            continue
        waited = None
        if a.status == "arrived" and a.arrived_at:
            waited = int((now - a.arrived_at).total_seconds() // 60)
        board.append({"appt": a, "start": to_local(a.start_at, tz), "end": to_local(a.end_at, tz), "waited": waited})
    return board


def checkin_item(appointment_id: int, day: date, config) -> list[dict]:
    """One row of the board, as the board draws it (for a row swapped after its action)."""
    return checkin_board(day, config, id=appointment_id)


def doctor_day(doctor: Staff, day: date, config) -> list[dict]:
    tz = config["PORTAL_TZ"]
    start_utc, end_utc = day_bounds_utc(day, tz)
    return [{"appt": a, "start": to_local(a.start_at, tz), "end": to_local(a.end_at, tz)}
            for a in appointments_between(start_utc, end_utc, doctor=doctor.id) if a.status != "rescheduled"]


def patient_appointments(patient: Patient, config, limit: int = 50) -> list[dict]:
    tz = config["PORTAL_TZ"]
    q = (Appointment.select(Appointment, Staff, Chair)
         .join(Staff, on=(Appointment.doctor == Staff.id)).switch(Appointment)
         .join(Chair, on=(Appointment.chair == Chair.id))
         .where(Appointment.patient == patient).order_by(Appointment.start_at.desc()).limit(limit))
    return [{"appt": a, "start": to_local(a.start_at, tz), "end": to_local(a.end_at, tz)} for a in q]


def next_free_start(doctor: Staff, minutes: int, now_local: datetime, config, chair: Chair | None = None):
    """Where a booking with no time asked for starts: the doctor's next free slot from now (on the
    slot grid of the shift, with a free chair), else the next slot boundary from now.
    Returns (start, chair id or None)."""
    from portal.services.schedule import free_slots
    slots = free_slots(doctor, minutes, now_local, config, chair=chair, limit=1) if doctor else []
    if slots:
        return slots[0].start, slots[0].chair_id
    step = config["SLOT_MINUTES"]
    base = now_local.replace(second=0, microsecond=0)
    late = (base.hour * 60 + base.minute) % step
    return (base + timedelta(minutes=step - late) if late or now_local > base else base), None


def doctor_on_shift(start_local: datetime, minutes: int, chair_id: int | None, tz: str) -> int | None:
    """Whose free time a cell of the grid drawn by chair is: the first doctor (by name) whose shift
    covers the whole slot — on that chair when the shift names one — and who has no visit then.
    None when nobody works then; the desk picks the doctor by hand."""
    from portal.services.clock import to_utc
    end_local = start_local + timedelta(minutes=minutes)
    doctors = list(Staff.select(Staff.id).where(Staff.role == "doctor", Staff.active == True)  # noqa: E712
                   .order_by(Staff.display_name).tuples())
    ids = [d for (d,) in doctors]
    windows = windows_for(ids, start_local.date())
    busy = set(Appointment.select(Appointment.doctor).where(
        Appointment.doctor.in_(ids), Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.overlapping(to_utc(start_local, tz), to_utc(end_local, tz))).tuples())
    for doctor_id in ids:
        if (doctor_id,) in busy:
            continue
        for w in windows.get(doctor_id, []):
            if w.start <= start_local.time() and end_local.time() <= w.end and w.chair_id in (None, chair_id):
                return doctor_id
    return None
