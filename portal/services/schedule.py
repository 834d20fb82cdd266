"""Booking: no double booking of a doctor, a chair or a patient, and never outside a shift.

SQLite: the whole check-then-insert runs under BEGIN IMMEDIATE, so bookings are serialised.
PostgreSQL: the same check, plus exclusion constraints (migration 0003) that refuse an
overlap even if two transactions pass the check at once; that refusal becomes the same
friendly conflict with suggestions.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import db, is_postgres, unit_of_work
from portal.models import Appointment, AppointmentEvent, Chair, Patient, Staff, new_code, utcnow
from portal.models.schedule import ACTIVE_STATUSES, LONGEST_APPOINTMENT, SOURCES, STATUSES, VISIT_TYPES
from portal.services import Conflict as MovedOn
from portal.services import ServiceError, clinic_settings
from portal.services.clock import to_local, to_utc
from portal.services.shifts import is_within_shift, windows_for

# status -> the statuses it may move to (confirmation is kept apart: confirm()).
TRANSITIONS = {
    "booked": ("arrived", "no_show", "cancelled"),
    "arrived": ("seated", "cancelled"),
    "seated": ("completed",),
}


@dataclass(frozen=True)
class Slot:
    start: datetime  # local
    end: datetime
    doctor_id: int
    chair_id: int


class Conflict(ServiceError):
    """The time asked for is taken (or outside a shift): the form shows the nearest free slots."""

    def __init__(self, message, suggestions: list[Slot]):
        super().__init__(message, field="start")
        self.suggestions = suggestions


def _active():
    return Appointment.status.in_(ACTIVE_STATUSES)


def _overlapping(start_utc, end_utc, exclude_id=None):
    q = Appointment.select().where(_active(), Appointment.overlapping(start_utc, end_utc))
    return q.where(Appointment.id != exclude_id) if exclude_id else q


def conflicts(doctor_id, chair_id, patient_id, start_utc, end_utc, exclude_id=None) -> list[str]:
    """Which of doctor / chair / patient is already busy then (one query)."""
    busy = []
    for a in _overlapping(start_utc, end_utc, exclude_id).where(
            (Appointment.doctor == doctor_id) | (Appointment.chair == chair_id) | (Appointment.patient == patient_id)):
        busy += [k for k, mine, theirs in (("doctor", doctor_id, a.doctor_id), ("chair", chair_id, a.chair_id),
                                            ("patient", patient_id, a.patient_id)) if mine == theirs]
    return sorted(set(busy))


def _busy_intervals(day: date, tz: str, doctor_ids, chair_ids) -> tuple[dict, dict]:
    start_utc, end_utc = to_utc(datetime.combine(day, time.min), tz), to_utc(datetime.combine(day, time.max), tz)
    by_doctor, by_chair = {}, {}
    rows = _overlapping(start_utc, end_utc).where(
        (Appointment.doctor.in_(list(doctor_ids))) | (Appointment.chair.in_(list(chair_ids))))
    for a in rows:
        span = (to_local(a.start_at, tz), to_local(a.end_at, tz))
        by_doctor.setdefault(a.doctor_id, []).append(span)
        by_chair.setdefault(a.chair_id, []).append(span)
    return by_doctor, by_chair


def _free(spans, start, end) -> bool:
    return all(end <= s or start >= e for s, e in spans)


def free_slots(doctor: Staff, minutes: int, from_local: datetime, config, days: int = 14,
               preference: str = "any", chair: Chair | None = None, limit: int = 8, patient=None) -> list[Slot]:
    """The next free starts for this doctor (and a free chair), in slot steps, by time-of-day preference.
    A diamond member's slots take a free VIP chair first (seed 002: 每次在VIP诊室就诊)."""
    from portal.services.tiers import always_vip_room
    vip_first = patient is not None and always_vip_room(patient)
    tz, step = config["PORTAL_TZ"], timedelta(minutes=config["SLOT_MINUTES"])
    chairs = [chair] if chair else list(Chair.select().where(Chair.active == True).order_by(Chair.sort_order, Chair.id))  # noqa: E712
    found: list[Slot] = []
    for offset in range(days):
        day = from_local.date() + timedelta(days=offset)
        windows = windows_for([doctor.id], day)[doctor.id]
        if not windows:
            continue
        by_doctor, by_chair = _busy_intervals(day, tz, [doctor.id], [c.id for c in chairs])
        for w in windows:
            start = datetime.combine(day, w.start)
            while start + timedelta(minutes=minutes) <= datetime.combine(day, w.end):
                end = start + timedelta(minutes=minutes)
                if start >= from_local and _matches(start, preference) and _free(by_doctor.get(doctor.id, []), start, end):
                    ordered = sorted(chairs, key=lambda c: (vip_first and not c.is_vip, c.id != w.chair_id))
                    free_chair = next((c for c in ordered if _free(by_chair.get(c.id, []), start, end)), None)
                    if free_chair:
                        found.append(Slot(start, end, doctor.id, free_chair.id))
                        if len(found) >= limit:
                            return found
                start += step
    return found


def _matches(start: datetime, preference: str) -> bool:
    hour = start.hour + start.minute / 60
    return {"morning": hour < 12, "afternoon": 12 <= hour < 17, "evening": hour >= 17}.get(preference, True)


def _check_inputs(visit_type, source, start, end, config):
    if visit_type not in VISIT_TYPES:
        raise ServiceError(_l("Choose a visit type."), field="visit_type")
    if source not in SOURCES:
        raise ServiceError(_l("Choose where the booking came from."), field="source")
    if end <= start:
        raise ServiceError(_l("The appointment must end after it starts."), field="minutes")
    first_minimum = clinic_settings.get(config, "schedule.first_visit_min_minutes") if visit_type == "first" else 0
    if visit_type == "first" and end - start < timedelta(minutes=first_minimum):
        raise ServiceError(_l("A first visit needs at least %(n)d minutes.", n=first_minimum), field="minutes")
    if end - start > LONGEST_APPOINTMENT:
        raise ServiceError(_l("An appointment lasts at most 8 hours."), field="minutes")


# Advisory-lock namespaces (PostgreSQL): one lock per doctor, chair and patient a booking touches.
_LOCK_DOCTOR, _LOCK_CHAIR, _LOCK_PATIENT = 7301, 7302, 7303


def _serialise(doctor_id: int, chair_id: int, patient_id: int) -> None:
    """PostgreSQL: bookings that share a doctor, a chair or a patient take turns. Without this,
    two desks inserting at once both wait on each other's row in the exclusion constraints and
    PostgreSQL kills one with 'deadlock detected'. Locks are taken in one fixed order (doctor,
    chair, patient), so no two bookings can wait on each other in a circle; they are released
    at commit. SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time."""
    if not is_postgres():
        return
    for namespace, key in ((_LOCK_DOCTOR, doctor_id), (_LOCK_CHAIR, chair_id), (_LOCK_PATIENT, patient_id)):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (namespace, key))


def _guard(doctor, chair, patient, start, end, config, exclude_id=None):
    """Inside the transaction: shift, then overlaps. Raises Conflict with nearby free slots."""
    _serialise(doctor.id, chair.id, patient.id)
    tz = config["PORTAL_TZ"]
    minutes = int((end - start).total_seconds() // 60)
    if not chair.active:
        raise ServiceError(_l("This chair is out of service."), field="chair")
    if not is_within_shift(doctor.id, start, end):
        raise Conflict(_l("%(doctor)s is not working then.", doctor=doctor.display_name),
                       free_slots(doctor, minutes, start.replace(hour=0, minute=0), config, days=7, limit=6))
    busy = conflicts(doctor.id, chair.id, patient.id, to_utc(start, tz), to_utc(end, tz), exclude_id)
    if busy:
        raise Conflict(_busy_message(busy), nearest_slots(doctor, patient, start, minutes, config, exclude_id))


def _busy_message(busy):
    if "patient" in busy:
        return _l("The patient already has an appointment at that time.")
    if "doctor" in busy:
        return _l("The doctor is already booked at that time.")
    return _l("That chair is already taken at that time.")


def nearest_slots(doctor, patient, start, minutes, config, exclude_id=None, limit=6) -> list[Slot]:
    """Free slots nearest to the requested start, earlier or later that day, then the next days."""
    day_start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = free_slots(doctor, minutes, day_start, config, days=1, limit=200)
    same_day.sort(key=lambda s: abs((s.start - start).total_seconds()))
    picked = same_day[:limit]
    if len(picked) < limit:
        picked += free_slots(doctor, minutes, day_start + timedelta(days=1), config, days=14,
                             limit=limit - len(picked))
    return picked


def _log(appt, actor, change, from_status="", to_status="", note=""):
    AppointmentEvent.create(appointment=appt, by=actor, change=change, from_status=from_status,
                            to_status=to_status, note=note[:200])
    audit.record("update" if change != "booked" else "create", patient=appt.patient_id, actor=actor,
                 object_type="appointment", object_ref=appt.code,
                 detail={"change": change, "from": from_status, "to": to_status, "note": note[:200]})


def book(actor: Staff, patient: Patient, doctor: Staff, chair: Chair, start: datetime, minutes: int,
         visit_type: str, config, planned: str = "", notes: str = "", source: str = "frontdesk",
         now_local: datetime | None = None) -> Appointment:
    """Book one appointment (start is clinic-local). Messages are queued in the same transaction."""
    from portal.notify import outbox
    tz = config["PORTAL_TZ"]
    end = start + timedelta(minutes=minutes)
    _check_inputs(visit_type, source, start, end, config)
    if doctor.role != "doctor" or not doctor.active:
        raise ServiceError(_l("Choose a doctor."), field="doctor")
    if now_local and start < now_local - timedelta(minutes=30):
        raise ServiceError(_l("That time has passed."), field="start")
    try:
        with unit_of_work():
            _guard(doctor, chair, patient, start, end, config)
            appt = Appointment.create(code=new_code(), patient=patient, doctor=doctor, chair=chair,
                                      start_at=to_utc(start, tz), end_at=to_utc(end, tz), visit_type=visit_type,
                                      planned=(planned or "")[:200], notes=(notes or "")[:2000], source=source,
                                      created_by=actor)
            _log(appt, actor, "booked", "", "booked")
            queued = outbox.queue_for_booking(appt, config)
    except pw.IntegrityError as exc:  # PostgreSQL's exclusion constraint: another desk was faster
        if "no_overlap" not in str(exc):
            raise
        raise Conflict(_l("Someone else just booked that time."),
                       nearest_slots(doctor, patient, start, minutes, config)) from None
    outbox.dispatch(queued)
    return appt


# What the loser of a race or a double click is told: the appointment's state now, who made it so
# and when (clinic time). One sentence per state, so each translates as a whole.
_ALREADY = {
    "arrived": lambda **kw: _l("The patient was already marked arrived by %(who)s at %(when)s.", **kw),
    "seated": lambda **kw: _l("The patient was already seated by %(who)s at %(when)s.", **kw),
    "completed": lambda **kw: _l("This visit was already completed by %(who)s at %(when)s.", **kw),
    "no_show": lambda **kw: _l("This appointment was already marked a no-show by %(who)s at %(when)s.", **kw),
    "cancelled": lambda **kw: _l("This appointment was already cancelled by %(who)s at %(when)s.", **kw),
    "rescheduled": lambda **kw: _l("This appointment was already moved by %(who)s at %(when)s.", **kw),
    "confirmed": lambda **kw: _l("This appointment was already confirmed by %(who)s at %(when)s.", **kw),
}


def moved_on(appt_id: int, change: str, tz: str) -> MovedOn:
    """A Conflict saying who changed the appointment (the last `change` event) and when."""
    from portal.services.moved_on import when_text
    event = (AppointmentEvent.select(AppointmentEvent, Staff).join(Staff, pw.JOIN.LEFT_OUTER,
                                                                    on=(AppointmentEvent.by == Staff.id))
             .where(AppointmentEvent.appointment == appt_id, AppointmentEvent.change == change)
             .order_by(AppointmentEvent.id.desc()).first())
    if event is None or change not in _ALREADY:
        return MovedOn(_l("Someone else changed this appointment just now. Reload it."))
    who = event.by.display_name if event.by_id else str(_l("someone else"))
    when = when_text(event.at, tz)
    return MovedOn(_ALREADY[change](who=who, when=when))


def _current(appt: Appointment) -> Appointment:
    """The row as it is now, read inside the caller's transaction."""
    return Appointment.get_by_id(appt.id)


def change_status(appt: Appointment, to_status: str, actor: Staff, config, reason: str = "",
                  at: datetime | None = None, seen: str | None = None) -> None:
    """`at`: when the change happened, for seeding or importing history; a person's change is now.
    `seen`: the status the person saw when they clicked (default: the status `appt` was loaded
    with). The change is decided on the row read inside the transaction and written with a
    conditional update, so of two clicks or two desks exactly one moves the appointment on; the
    other gets MovedOn naming who changed it and when, and nothing it did is kept."""
    from portal.notify import outbox
    tz = config["PORTAL_TZ"]
    seen = seen if seen in STATUSES else appt.status
    if to_status == "cancelled" and not (reason or "").strip():
        raise ServiceError(_l("Say why the appointment is cancelled."), field="reason")
    now = at or utcnow()
    queued = []
    with unit_of_work():
        if to_status == "completed":  # its visit is billed below: the visit row first, as signing takes it
            from portal.services import billing; billing.lock_visit_of(appt)  # noqa: E702
        current = _current(appt)
        old = current.status
        if old != seen or old == to_status:  # the record moved on since the page was loaded
            raise moved_on(appt.id, old, tz)
        if to_status not in TRANSITIONS.get(old, ()):
            from portal.templating import STATUS_LABELS
            raise ServiceError(_l("This appointment cannot go from %(a)s to %(b)s.",
                                  a=STATUS_LABELS[old], b=STATUS_LABELS.get(to_status, to_status)))
        _check_status_day(current, to_status, now, tz)
        fields = {"status": to_status, "updated_at": now}
        stamp = {"arrived": "arrived_at", "seated": "seated_at", "completed": "completed_at"}.get(to_status)
        if stamp:
            fields[stamp] = now
        if to_status == "cancelled":
            fields["cancel_reason"] = reason.strip()[:200]
        won = Appointment.update(**fields).where(Appointment.id == appt.id, Appointment.status == old).execute()
        if won != 1:  # PostgreSQL: another transaction changed it between our read and our update
            raise moved_on(appt.id, _current(appt).status, tz)
        for name, value in fields.items():
            setattr(current, name, value)
        _log(current, actor, to_status, old, to_status, reason or "")
        if to_status == "cancelled":
            queued = outbox.queue_cancellation(current, config)
        elif to_status == "no_show":
            queued = outbox.queue_no_show(current, config)
        elif to_status in ("arrived", "seated", "completed"):
            outbox.cancel_pending(current, "visit started", reminders_only=True)
        if to_status == "completed":
            from portal.services import followups; followups.on_visit_completed(current, actor, config)  # noqa: E702
            from portal.services import billing; billing.on_appointment_completed(current, actor, config)  # noqa: E702
    for name, value in fields.items():  # the caller's object shows the change it made
        setattr(appt, name, value)
    outbox.dispatch(queued)


def _check_status_day(appt: Appointment, to_status: str, now: datetime, tz: str) -> None:
    """Arrived, seated, completed and no-show happen on the appointment's clinic date; a booked
    appointment can be cancelled any time before it begins (after that it is a no-show)."""
    day = to_local(appt.start_at, tz).date()
    today = to_local(now, tz).date()
    if to_status in ("arrived", "seated", "completed", "no_show") and today != day:
        raise ServiceError(_l("This appointment is on %(day)s: arrival, seating, completion and no-show are "
                              "recorded on that day.", day=day.isoformat()))
    if to_status == "cancelled" and appt.status == "booked" and now >= appt.start_at:
        raise ServiceError(_l("This appointment has already begun: mark the patient as arrived or as a no-show "
                              "instead of cancelling."))


def confirm(appt: Appointment, actor: Staff, how: str = "phone", tz: str | None = None) -> None:
    """Booked and not yet confirmed → confirmed, once: a second click is told who confirmed it."""
    from flask import current_app
    tz = tz or current_app.config["PORTAL_TZ"]
    with unit_of_work():
        current = _current(appt)
        if current.status != "booked":
            if current.status != appt.status:
                raise moved_on(appt.id, current.status, tz)
            raise ServiceError(_l("Only a booked appointment can be confirmed."))
        now = utcnow()
        won = Appointment.update(confirmed_at=now).where(
            Appointment.id == appt.id, Appointment.status == "booked", Appointment.confirmed_at.is_null()).execute()
        if won != 1:
            current = _current(appt)
            raise moved_on(appt.id, "confirmed" if current.status == "booked" else current.status, tz)
        appt.confirmed_at = now
        _log(appt, actor, "confirmed", "booked", "booked", how)


def move(appt: Appointment, actor: Staff, start: datetime, minutes: int, doctor: Staff, chair: Chair,
         config, reason: str = "") -> Appointment:
    """Reschedule: the old appointment is kept as 'rescheduled' and points at the new one."""
    from portal.notify import outbox
    tz = config["PORTAL_TZ"]
    if appt.status != "booked":  # cancelled, moved or under way already: say by whom and when (409)
        raise moved_on(appt.id, appt.status, tz)
    end = start + timedelta(minutes=minutes)
    _check_inputs(appt.visit_type, appt.source, start, end, config)
    try:
        with unit_of_work():
            _guard(doctor, chair, appt.patient, start, end, config, exclude_id=appt.id)
            now = utcnow()
            if Appointment.update(status="rescheduled", updated_at=now).where(
                    Appointment.id == appt.id, Appointment.status == "booked").execute() != 1:
                raise moved_on(appt.id, _current(appt).status, tz)  # another desk changed it first
            appt.status, appt.updated_at = "rescheduled", now
            new = Appointment.create(code=new_code(), patient=appt.patient, doctor=doctor, chair=chair,
                                     start_at=to_utc(start, tz), end_at=to_utc(end, tz), visit_type=appt.visit_type,
                                     planned=appt.planned, notes=appt.notes, source=appt.source,
                                     confirmed_at=None, created_by=actor)
            appt.rescheduled_to = new
            Appointment.update(rescheduled_to=new).where(Appointment.id == appt.id).execute()
            _log(appt, actor, "rescheduled", "booked", "rescheduled", reason)
            _log(new, actor, "booked", "", "booked", f"moved from {appt.code}")
            outbox.cancel_pending(appt, "rescheduled")
            queued = outbox.queue_change(new, config)
    except pw.IntegrityError as exc:
        if "no_overlap" not in str(exc):
            raise
        raise Conflict(_l("Someone else just booked that time."),
                       nearest_slots(doctor, appt.patient, start, minutes, config)) from None
    outbox.dispatch(queued)
    return new
