"""What each role sees first on its home page."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import peewee as pw

from portal.models import Appointment, AuditEvent, Chair, LoginAttempt, Patient, Staff, StaffSession, utcnow
from portal.services.clock import day_bounds_utc, to_local
from portal.services.schedule_board import appointments_between


def _utc_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def registered_on(day: date, tz: str, limit: int = 20) -> list[Patient]:
    start, end = _utc_day_bounds(day, tz)
    return list(Patient.select().where(Patient.created_at.between(start, end))
                .order_by(Patient.created_at.desc()).limit(limit))


def recently_opened(staff: Staff, limit: int = 10) -> list[Patient]:
    """Patients this person opened lately, newest first, from their own audit trail."""
    recent = (AuditEvent.select(AuditEvent.patient_id, pw.fn.MAX(AuditEvent.id).alias("last"))
              .where(AuditEvent.actor_id == staff.id, AuditEvent.action == "read",
                     AuditEvent.patient_id.is_null(False),
                     AuditEvent.at > utcnow() - timedelta(days=14))
              .group_by(AuditEvent.patient_id)
              .order_by(pw.fn.MAX(AuditEvent.id).desc()).limit(limit))
    ids = [row.patient_id for row in recent]
    by_id = {p.id: p for p in Patient.select().where(Patient.id.in_(ids))} if ids else {}
    return [by_id[i] for i in ids if i in by_id]


def manager_summary() -> dict:
    since = utcnow() - timedelta(hours=24)
    by_role = dict(Staff.select(Staff.role, pw.fn.COUNT(Staff.id)).where(Staff.active == True)  # noqa: E712
                   .group_by(Staff.role).tuples())
    return {
        "staff_by_role": by_role,
        "patients": Patient.select().count(),
        "open_sessions": StaffSession.select().where(StaffSession.ended_at.is_null()).count(),
        "failed_logins": LoginAttempt.select().where(LoginAttempt.success == False,  # noqa: E712
                                                     LoginAttempt.at > since).count(),
        "denied": AuditEvent.select().where(AuditEvent.action == "denied", AuditEvent.at > since).count(),
    }


# --- Today, by role (issue 13) -------------------------------------------------------------------
# Each list is one statement however busy the day; the alert badges of every patient on the page
# come from one alerts_for() call (two statements). Times are UTC in the database and shown in the
# clinic's time here. `visible(patient)` says whether the viewer may see who the patient is (a
# restricted patient shows as such, with no badges).

def _light(a, tz: str) -> dict:
    return {"appt": a, "start": to_local(a.start_at, tz), "end": to_local(a.end_at, tz)}


def doctor_today(doctor: Staff, day: date, tz: str) -> list[dict]:
    """The doctor's appointments on the day, in time order (cancelled and moved ones left out)."""
    start, end = day_bounds_utc(day, tz)
    return [_light(a, tz) for a in appointments_between(start, end, doctor=doctor.id)
            if a.status not in ("cancelled", "rescheduled")]


def arrivals(day: date, tz: str) -> dict:
    """The desk's day: who is still expected (booked) and who has come (arrived, seated, done)."""
    start, end = day_bounds_utc(day, tz)
    expected, came = [], []
    for a in appointments_between(start, end):
        if a.status == "booked":
            expected.append(_light(a, tz))
        elif a.status in ("arrived", "seated", "completed"):
            came.append(_light(a, tz))
    came.sort(key=lambda row: row["appt"].arrived_at or row["appt"].start_at)
    return {"expected": expected, "arrived": came}


def unconfirmed(day: date, tz: str) -> list[dict]:
    """Appointments on the day still booked and not confirmed: the desk calls or messages them."""
    start, end = day_bounds_utc(day, tz)
    return [_light(a, tz) for a in appointments_between(start, end, status="booked") if a.confirmed_at is None]


@dataclass
class ChairNow:
    chair: Chair
    seated: list = field(default_factory=list)    # [dict] in the chair now, since when
    waiting: list = field(default_factory=list)   # [dict] arrived for this chair, waiting since when
    next: dict | None = None                      # the next booked visit still to come
    booked_left: int = 0


def chairs_today(day: date, tz: str, now_utc: datetime | None = None) -> list[ChairNow]:
    """Each active chair: who is in it (since when), who has arrived for it and waits (since when,
    how long), and the next booked visit. Two statements."""
    now_utc = now_utc or utcnow()
    start, end = day_bounds_utc(day, tz)
    board = {c.id: ChairNow(c) for c in
             Chair.select().where(Chair.active == True).order_by(Chair.sort_order, Chair.id)}  # noqa: E712
    q = (Appointment.select(Appointment.id, Appointment.code, Appointment.chair, Appointment.start_at,
                            Appointment.end_at, Appointment.visit_type, Appointment.status, Appointment.arrived_at,
                            Appointment.seated_at, Patient.id, Patient.code, Patient.name, Patient.restricted,
                            Patient.attending_doctor, Staff.display_name)
         .join(Patient, on=(Appointment.patient == Patient.id)).switch(Appointment)
         .join(Staff, on=(Appointment.doctor == Staff.id))
         .where(Appointment.overlapping(start, end), Appointment.status.in_(("booked", "arrived", "seated")))
         .order_by(Appointment.start_at, Appointment.id))
    for a in q:
        slot = board.get(a.chair_id)
        if slot is None:
            continue
        row = _light(a, tz)
        if a.status == "seated":
            row["since"] = to_local(a.seated_at or a.start_at, tz)
            slot.seated.append(row)
        elif a.status == "arrived":
            since = a.arrived_at or a.start_at
            row["since"], row["waited"] = to_local(since, tz), max(0, int((now_utc - since).total_seconds() // 60))
            slot.waiting.append(row)
        else:
            slot.booked_left += 1
            if slot.next is None and a.end_at > now_utc:
                slot.next = row
    for slot in board.values():
        slot.waiting.sort(key=lambda row: row["since"])
    return list(board.values())


def patient_ids_of(visible, *lists) -> set[int]:
    """Every patient on the page's lists whom the viewer may see (`visible(patient)`): rows with an
    appointment, or records with a patient (bills, visits)."""
    ids = set()
    for rows in lists:
        for row in rows or ():
            patient = row["appt"].patient if isinstance(row, dict) else row.patient
            if visible(patient):
                ids.add(patient.id)
    return ids


def alerts_of(patient_ids: set[int], medical: bool) -> dict:
    """Alert badges for the page's patients in one go (the caller passes only those the viewer may see)."""
    from portal.services.alerts import alerts_for
    return alerts_for(sorted(patient_ids), medical=medical) if patient_ids else {}


# --- the doctor's unsigned paperwork (issue 14) ---------------------------------------------------

@dataclass
class Unsigned:
    """A draft prescription or an unsigned consent form on the doctor's home page."""
    kind: str                 # "prescription" or "consent"
    record: object            # the Prescription or ConsentForm (its patient joined)
    patient: Patient
    written: datetime         # clinic time
    before_today: bool        # left over from an earlier day: flagged
    what: str                 # the consent's kind and tooth, the prescription's diagnosis


def unsigned_paperwork(doctor: Staff, day: date, tz: str, limit: int = 30) -> list[Unsigned]:
    """The doctor's draft prescriptions and the consent forms still waiting for their signature,
    oldest first. A consent form a nurse prepared has no doctor yet: it is this doctor's when it
    hangs on their visit, or, on no visit, when they are the patient's attending doctor. Two
    statements, whatever the number."""
    from portal.models import ConsentForm, ConsentTemplate, Prescription, Visit
    from portal.services.consent import KIND_LABELS
    start, _end = day_bounds_utc(day, tz)
    rxs = (Prescription.select(Prescription, Patient).join(Patient)
           .where(Prescription.doctor == doctor, Prescription.status == "draft")
           .order_by(Prescription.created_at, Prescription.id).limit(limit))
    nobody_yet = ConsentForm.doctor.is_null() & (
        (Visit.doctor == doctor) | (ConsentForm.visit.is_null() & (Patient.attending_doctor == doctor)))
    forms = (ConsentForm.select(ConsentForm, Patient, ConsentTemplate).join(Patient)
             .switch(ConsentForm).join(ConsentTemplate)
             .switch(ConsentForm).join(Visit, pw.JOIN.LEFT_OUTER)
             .where(ConsentForm.status == "draft", (ConsentForm.doctor == doctor) | nobody_yet)
             .order_by(ConsentForm.created_at, ConsentForm.id).limit(limit))
    rows = [Unsigned("prescription", rx, rx.patient, to_local(rx.created_at, tz), rx.created_at < start,
                     rx.diagnosis[:40]) for rx in rxs]
    rows += [Unsigned("consent", f, f.patient, to_local(f.created_at, tz), f.created_at < start,
                      " ".join(str(part) for part in (KIND_LABELS.get(f.template.kind, ""), f.tooth) if part))
             for f in forms]
    return sorted(rows, key=lambda row: row.written)
