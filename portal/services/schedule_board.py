"""Read models for the schedule screens: a day grid, a week, the check-in board. Few queries each."""
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import date, datetime, timedelta

from portal.db import db
from portal.models import Appointment, Chair, Patient, PatientTag, Staff, Tag
from portal.models.schedule import ACTIVE_STATUSES
from portal.services.alerts import alerts_for
from portal.services.clock import day_bounds_utc, parse_hhmm, to_local
from portal.services.shifts import week_grid, windows_for

VIP_TAG = "VIP"  # until membership tiers exist, the VIP mark comes from this tag


@dataclass
class Block:
    appt: Appointment
    start: datetime
    end: datetime
    row_start: int
    row_end: int
    vip: bool = False
    visible: bool = True  # may the viewer see who the patient is (set by the view)
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
    blocks: list = field(default_factory=list)
    working_rows: set = field(default_factory=set)
    working_spans: list = field(default_factory=list)  # (first row, last row + 1) per shift window
    free_rows: list = field(default_factory=list)      # rows a tap can book: no visit there


def vip_patient_ids(patients) -> set[int]:
    """Which of these patients the desk treats as VIP: a VIP or diamond member, someone such a
    member referred, or (before anyone had a tier) a patient tagged VIP. `patients` is a list of
    ids or a query selecting them; a query keeps a busy day's 320 ids out of the SQL text."""
    from portal.models import Membership
    from portal.services.tiers import VIP_TIERS
    if isinstance(patients, (list, tuple, set)):
        if not patients:
            return set()
        patients = list(patients)
    vip_members = Membership.select(Membership.patient).where(Membership.tier.in_(VIP_TIERS))
    tagged = PatientTag.select(PatientTag.patient).join(Tag).where(Tag.name == VIP_TAG)
    q = Patient.select(Patient.id).where(Patient.id.in_(patients) & (
        Patient.id.in_(vip_members) | Patient.referred_by.in_(vip_members) | Patient.id.in_(tagged)))
    return {pid for (pid,) in q.tuples()}


# What the grid, the board and a doctor's day show. A narrow select read as tuples keeps a busy
# day cheap: a 20-chair day has ~320 appointments, and full model rows cost more than the page.
LISTED = (Appointment.id, Appointment.code, Appointment.patient, Appointment.doctor, Appointment.chair,
          Appointment.start_at, Appointment.end_at, Appointment.visit_type, Appointment.status,
          Appointment.confirmed_at, Appointment.arrived_at, Appointment.planned,
          Patient.code, Patient.name, Patient.restricted, Patient.attending_doctor,
          Staff.display_name, Chair.name)


def appointments_between(start_utc, end_utc, **filters) -> list[SimpleNamespace]:
    """Appointments overlapping the interval, as light rows: a.patient.name, a.doctor.display_name, …"""
    q = (Appointment.select(*LISTED)
         .join(Patient, on=(Appointment.patient == Patient.id))
         .switch(Appointment).join(Staff, on=(Appointment.doctor == Staff.id))
         .switch(Appointment).join(Chair, on=(Appointment.chair == Chair.id))
         .where(Appointment.overlapping(start_utc, end_utc))
         .order_by(Appointment.start_at))
    for name, value in filters.items():
        q = q.where(getattr(Appointment, name) == value)
    rows = []
    # The raw cursor skips peewee's per-value conversion (18 columns × 320 rows on a busy day);
    # _dt and bool() below do the little conversion these columns need.
    for (id_, code, patient_id, doctor_id, chair_id, start_at, end_at, visit_type, status, confirmed_at,
         arrived_at, planned, p_code, p_name, p_restricted, p_doctor, d_name, c_name) in db.execute(q).fetchall():
        patient = SimpleNamespace(id=patient_id, code=p_code, name=p_name, restricted=bool(p_restricted),
                                  attending_doctor_id=p_doctor)
        rows.append(SimpleNamespace(
            id=id_, code=code, patient_id=patient_id, doctor_id=doctor_id, chair_id=chair_id,
            start_at=_dt(start_at), end_at=_dt(end_at), visit_type=visit_type, status=status,
            confirmed_at=_dt(confirmed_at) if confirmed_at else None,
            arrived_at=_dt(arrived_at) if arrived_at else None, planned=planned,
            patient=patient, doctor=SimpleNamespace(id=doctor_id, display_name=d_name),
            chair=SimpleNamespace(id=chair_id, name=c_name)))
    return rows


def _dt(value):
    """Tuples skip peewee's field conversion; SQLite hands back text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def day_grid(day: date, by: str, config, include_inactive: bool = False, medical: bool = True) -> dict:
    """Columns per chair (or per doctor) with appointment blocks placed on slot rows, each block
    with its patient's alerts (`medical`: may the viewer see allergy and medical-alert text)."""
    tz, slot = config["PORTAL_TZ"], config["SLOT_MINUTES"]
    opens, closes = parse_hhmm(config["CLINIC_OPENS"]), parse_hhmm(config["CLINIC_CLOSES"])
    first = datetime.combine(day, opens)
    rows = int((datetime.combine(day, closes) - first).total_seconds() // 60 // slot)
    start_utc, end_utc = day_bounds_utc(day, tz)
    appts = list(appointments_between(start_utc, end_utc))
    if not include_inactive:
        appts = [a for a in appts if a.status in ACTIVE_STATUSES]
    alerts = alerts_for(Appointment.select(Appointment.patient).where(
        Appointment.overlapping(start_utc, end_utc)), medical=medical) if appts else {}
    doctors = list(Staff.select().where(Staff.role == "doctor", Staff.active == True).order_by(Staff.display_name))  # noqa: E712
    windows = windows_for([d.id for d in doctors], day)
    if by == "doctor":
        columns = {d.id: Column(d.id, d.display_name) for d in doctors if windows[d.id]}
        for a in appts:
            columns.setdefault(a.doctor_id, Column(a.doctor_id, a.doctor.display_name))
        for d in doctors:
            if d.id in columns:
                columns[d.id].working_rows = _rows_of(windows[d.id], first, slot, rows)
    else:
        chairs = list(Chair.select().where(Chair.active == True).order_by(Chair.sort_order, Chair.id))  # noqa: E712
        columns = {c.id: Column(c.id, c.name, c.is_vip) for c in chairs}
    for a in appts:
        start, end = to_local(a.start_at, tz), to_local(a.end_at, tz)
        r1 = max(0, int((start - first).total_seconds() // 60 // slot))
        r2 = min(rows, max(r1 + 1, int(-(-(end - first).total_seconds() // 60 // slot))))
        key = a.doctor_id if by == "doctor" else a.chair_id
        if key in columns:
            found = alerts.get(a.patient_id, ())
            columns[key].blocks.append(Block(a, start, end, r1, r2, any(x.kind == "vip" for x in found), alerts=found))
    for col in columns.values():
        taken = {r for b in col.blocks for r in range(b.row_start, b.row_end)}
        open_rows = col.working_rows if by == "doctor" else range(rows)
        col.free_rows = [r for r in sorted(open_rows) if r not in taken]
        col.working_spans = _spans(sorted(col.working_rows))
    labels = [(first + timedelta(minutes=slot * i)).strftime("%H:%M") for i in range(rows)]
    return {"columns": list(columns.values()), "rows": rows, "labels": labels, "count": len(appts),
            "doctors": doctors, "windows": windows}


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
    cells: list = field(default_factory=list)


def week_book(monday: date, by: str, config, doctor_id: int | None = None, medical: bool = True) -> dict:
    """Seven days of appointments per doctor (or per chair): compact blocks with alerts, free
    gaps a tap can book, cells off shift marked. A constant number of queries for any week:
    the appointments, the alerts (two), the doctors, their shifts (two) and, by chair, the chairs.
    `doctor_id` narrows the book to one doctor (then it is by doctor)."""
    tz, slot = config["PORTAL_TZ"], config["SLOT_MINUTES"]
    opens, closes = parse_hhmm(config["CLINIC_OPENS"]), parse_hhmm(config["CLINIC_CLOSES"])
    days = [monday + timedelta(days=i) for i in range(7)]
    start_utc, end_utc = day_bounds_utc(days[0], tz)[0], day_bounds_utc(days[-1], tz)[1]
    filters = {"doctor": doctor_id} if doctor_id else {}
    appts = [a for a in appointments_between(start_utc, end_utc, **filters) if a.status in ACTIVE_STATUSES]
    in_week = Appointment.select(Appointment.patient).where(Appointment.overlapping(start_utc, end_utc))
    if doctor_id:
        in_week = in_week.where(Appointment.doctor == doctor_id)
    alerts = alerts_for(in_week, medical=medical) if appts else {}
    doctors = list(Staff.select().where(Staff.role == "doctor", Staff.active == True).order_by(Staff.display_name))  # noqa: E712
    windows = dict(week_grid(monday, doctors))  # day -> doctor id -> [Window]
    if doctor_id:
        by = "doctor"
    if by == "doctor":
        rows = {d.id: WeekRow(d.id, d.display_name) for d in doctors if not doctor_id or d.id == doctor_id}
        for a in appts:  # a doctor no longer active still shows the visits booked with them
            rows.setdefault(a.doctor_id, WeekRow(a.doctor_id, a.doctor.display_name))
    else:
        chairs = list(Chair.select().where(Chair.active == True).order_by(Chair.sort_order, Chair.id))  # noqa: E712
        rows = {c.id: WeekRow(c.id, c.name, c.is_vip) for c in chairs}
    # Slot rows of each day, as the day grid counts them (opening time, slot minutes).
    n_rows = int((datetime.combine(monday, closes) - datetime.combine(monday, opens)).total_seconds() // 60 // slot)
    blocks: dict[tuple[int, date], list] = {}
    local = _local_clock(tz)
    for a in appts:
        start, end = local(a.start_at), local(a.end_at)
        key = a.doctor_id if by == "doctor" else a.chair_id
        first = datetime.combine(start.date(), opens)
        r1 = max(0, int((start - first).total_seconds() // 60 // slot))
        r2 = min(n_rows, max(r1 + 1, int(-(-(end - first).total_seconds() // 60 // slot))))
        found = alerts.get(a.patient_id, ())
        blocks.setdefault((key, start.date()), []).append(
            Block(a, start, end, r1, r2, any(x.kind == "vip" for x in found), alerts=found))
    for day in days:
        first = datetime.combine(day, opens)
        on_day = windows.get(day, {})
        anyone = [w for ws in on_day.values() for w in ws]
        for key, row in rows.items():
            spans = on_day.get(key, []) if by == "doctor" else anyone
            open_rows = _rows_of(spans, first, slot, n_rows)
            cell_blocks = blocks.get((key, day), [])
            taken = {r for b in cell_blocks for r in range(b.row_start, b.row_end)}
            chair_of = {r: w.chair_id for w in spans if by == "doctor"
                        for r in _rows_of([w], first, slot, n_rows)} if by == "doctor" else {}
            gaps = []
            for r1, r2 in _spans(sorted(r for r in open_rows if r not in taken)):
                gaps.append(Gap(first + timedelta(minutes=slot * r1), first + timedelta(minutes=slot * r2),
                                chair_of.get(r1)))
            entries = sorted(cell_blocks + gaps, key=lambda e: e.start)
            row.cells.append(WeekCell(day, bool(open_rows), entries))
    return {"rows": list(rows.values()), "days": days, "count": len(appts), "by": by}


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
