"""Doctor shifts (排班): weekly patterns plus exceptions (leave, extra sessions, clinic holidays)."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Chair, ShiftException, ShiftPattern, Staff
from portal.models.schedule import EXCEPTION_KINDS
from portal.services import ServiceError


@dataclass(frozen=True)
class Window:
    start: time
    end: time
    chair_id: int | None = None


def _subtract(windows: list[Window], start: time, end: time) -> list[Window]:
    result = []
    for w in windows:
        if end <= w.start or start >= w.end:
            result.append(w)
            continue
        if w.start < start:
            result.append(Window(w.start, start, w.chair_id))
        if end < w.end:
            result.append(Window(end, w.end, w.chair_id))
    return result


def windows_for(doctor_ids: list[int], day: date, patterns=None, exceptions=None) -> dict[int, list[Window]]:
    """Working windows per doctor on `day`. Pass preloaded rows to avoid queries in loops."""
    if patterns is None:
        patterns = list(ShiftPattern.select().where(
            ShiftPattern.doctor.in_(doctor_ids), ShiftPattern.weekday == day.weekday(),
            ShiftPattern.valid_from <= day, (ShiftPattern.valid_to.is_null()) | (ShiftPattern.valid_to >= day)))
    if exceptions is None:
        exceptions = list(ShiftException.select().where(
            ShiftException.day == day,
            (ShiftException.doctor.in_(doctor_ids)) | (ShiftException.doctor.is_null())))
    result = {}
    clinic_closed = any(e.kind == "holiday" and e.doctor_id is None and e.day == day for e in exceptions)
    for doctor_id in doctor_ids:
        windows = [Window(p.start_time, p.end_time, p.chair_id) for p in patterns
                   if p.doctor_id == doctor_id and p.weekday == day.weekday()
                   and p.valid_from <= day and (p.valid_to is None or p.valid_to >= day)]
        for e in exceptions:
            if e.day != day or (e.doctor_id not in (doctor_id, None)):
                continue
            if e.kind in ("leave", "holiday"):
                windows = [] if e.start_time is None else _subtract(windows, e.start_time, e.end_time)
            elif e.kind == "extra" and e.start_time is not None:
                windows.append(Window(e.start_time, e.end_time))
        result[doctor_id] = [] if clinic_closed else sorted(windows, key=lambda w: w.start)
    return result


def is_within_shift(doctor_id: int, start: datetime, end: datetime) -> bool:
    """Local start/end on one day, inside one working window."""
    if start.date() != end.date() and end.time() != time(0):
        return False
    windows = windows_for([doctor_id], start.date())[doctor_id]
    return any(w.start <= start.time() and (end.time() <= w.end) for w in windows)


def add_pattern(doctor: Staff, weekday: int, start: time, end: time, valid_from: date,
                valid_to: date | None = None, chair: Chair | None = None) -> ShiftPattern:
    if doctor.role != "doctor":
        raise ServiceError(_l("Shifts are for doctors."), field="doctor")
    if not 0 <= weekday <= 6:
        raise ServiceError(_l("Choose a weekday."), field="weekday")
    if start >= end:
        raise ServiceError(_l("A shift must end after it starts."), field="end_time")
    if valid_to and valid_to < valid_from:
        raise ServiceError(_l("The end date is before the start date."), field="valid_to")
    with unit_of_work():
        row = ShiftPattern.create(doctor=doctor, weekday=weekday, start_time=start, end_time=end,
                                  valid_from=valid_from, valid_to=valid_to, chair=chair)
        audit.record("create", object_type="shift", object_ref=row.id,
                     detail={"doctor": doctor.username, "weekday": weekday, "from": str(start), "to": str(end)})
    return row


def end_pattern(pattern: ShiftPattern, last_day: date) -> None:
    """Patterns are not deleted (history of who worked when): they get an end date."""
    with unit_of_work():
        pattern.valid_to = max(last_day, pattern.valid_from - timedelta(days=1))
        pattern.save()
        audit.record("update", object_type="shift", object_ref=pattern.id, detail={"valid_to": str(last_day)})


def add_exception(kind: str, day: date, actor: Staff, doctor: Staff | None = None,
                  start: time | None = None, end: time | None = None, note: str = "") -> ShiftException:
    if kind not in EXCEPTION_KINDS:
        raise ServiceError(_l("Choose leave, extra session or clinic holiday."), field="kind")
    if kind != "holiday" and doctor is None:
        raise ServiceError(_l("Choose the doctor."), field="doctor")
    if (start is None) != (end is None) or (start and start >= end):
        raise ServiceError(_l("Give both times, the end after the start, or neither for the whole day."),
                           field="end_time")
    if kind == "extra" and start is None:
        raise ServiceError(_l("An extra session needs its hours."), field="start_time")
    with unit_of_work():
        row = ShiftException.create(kind=kind, day=day, doctor=doctor if kind != "holiday" else doctor,
                                    start_time=start, end_time=end, note=(note or "")[:100], created_by=actor)
        audit.record("create", object_type="shift_exception", object_ref=row.id,
                     detail={"kind": kind, "day": str(day), "doctor": doctor.username if doctor else None})
    return row


def week_grid(start: date, doctors: list[Staff]) -> list[tuple[date, dict[int, list[Window]]]]:
    """Seven days of windows for the given doctors, from two queries."""
    ids = [d.id for d in doctors]
    end = start + timedelta(days=6)
    patterns = list(ShiftPattern.select().where(ShiftPattern.doctor.in_(ids), ShiftPattern.valid_from <= end,
                                                (ShiftPattern.valid_to.is_null()) | (ShiftPattern.valid_to >= start)))
    exceptions = list(ShiftException.select().where(ShiftException.day.between(start, end),
                                                    (ShiftException.doctor.in_(ids)) | (ShiftException.doctor.is_null())))
    return [(day, windows_for(ids, day, patterns, exceptions))
            for day in (start + timedelta(days=i) for i in range(7))]
