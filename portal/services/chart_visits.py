"""Visits (就诊记录): notes written by the doctor, signed, then locked; amended only by addenda."""
from dataclasses import dataclass
from datetime import date

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import db, unit_of_work
from portal.labels import localized
from portal.models import Appointment, Patient, Staff, StepTick, Visit, VisitAddendum, VisitProcedure, new_code, utcnow
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when

# The outpatient record's fields in their usual order (issue 14): 主诉, 现病史, 既往史, 过敏史, 检查,
# 辅助检查, 诊断, 治疗计划, 处置, 医嘱.
NOTE_FIELDS = ("chief_complaint", "present_illness", "past_history", "allergy_history", "examination",
               "investigations", "diagnosis", "treatment_plan", "treatment", "advice")
MAX_NOTE = 4000


@dataclass
class VisitNotes:
    chief_complaint: str = ""
    present_illness: str = ""
    past_history: str = ""
    allergy_history: str = ""
    examination: str = ""
    investigations: str = ""
    diagnosis: str = ""
    treatment_plan: str = ""
    treatment: str = ""
    advice: str = ""


def _must_be_doctor(actor: Staff) -> None:
    if actor.role != "doctor":
        raise ServiceError(_l("Only a doctor writes and signs clinical notes."))


def open_visit(patient: Patient, doctor: Staff, on: date, appointment: Appointment | None = None) -> Visit:
    _must_be_doctor(doctor)
    if appointment is not None and appointment.patient_id != patient.id:
        raise ServiceError(_l("That appointment belongs to another patient."), field="appointment")
    with unit_of_work():
        visit = Visit.create(code=new_code(), patient=patient, doctor=doctor, appointment=appointment, visit_date=on)
        audit.record("create", patient=patient, object_type="visit", object_ref=visit.code, actor=doctor)
    return visit


def _locked(visit: Visit) -> None:
    if visit.status == "signed":
        raise ServiceError(_l("This visit is signed and locked; it can only be amended by an addendum."))


def update_notes(visit: Visit, notes: VisitNotes, actor: Staff) -> list[str]:
    _must_be_doctor(actor)
    _locked(visit)
    changed = []
    for name in NOTE_FIELDS:
        value = (getattr(notes, name) or "").strip()[:MAX_NOTE]
        if getattr(visit, name) != value:
            setattr(visit, name, value)
            changed.append(name)
    if not changed:
        return []
    with unit_of_work():
        visit.updated_at = utcnow()
        # Only a draft row is ever updated, and only while it is a draft (guards a racing sign).
        rows = (Visit.update(updated_at=visit.updated_at, **{n: getattr(visit, n) for n in NOTE_FIELDS})
                .where(Visit.id == visit.id, Visit.status == "draft").execute())
        if rows != 1:  # signed since the page was loaded
            raise _already_signed(Visit.get_by_id(visit.id))
        audit.record("update", patient=visit.patient_id, object_type="visit", object_ref=visit.code, actor=actor,
                     detail={"fields": changed})
    return changed


def open_protocols(visit: Visit) -> list[VisitProcedure]:
    pending = (StepTick.select(StepTick.run).where(StepTick.state == "pending"))
    return list(VisitProcedure.select().where(VisitProcedure.visit == visit, VisitProcedure.id.in_(pending)))


def _already_signed(current: Visit) -> Conflict:
    return Conflict(_l("This visit was already signed by %(who)s at %(time)s; it can only be amended by an addendum.",
                       **who_when(current.signed_by_id, current.signed_at)))


def sign(visit: Visit, actor: Staff, config=None) -> Visit:
    """Decided on the visit as it is inside the transaction: of many clicks one signs, the others
    are told who signed it and when. With the app's `config`, the visit's completed procedures
    become (or are added to) its draft bill in the same unit of work."""
    _must_be_doctor(actor)
    with unit_of_work():
        current = locked(Visit, visit.id)
        if current is None:
            raise ServiceError(_l("This visit no longer exists."))
        if current.status == "signed":
            raise _already_signed(current)
        if not current.chief_complaint.strip() or not current.diagnosis.strip():
            raise ServiceError(_l("Write at least the chief complaint and the diagnosis before signing."))
        unfinished = open_protocols(current)
        if unfinished:
            raise ServiceError(_l("Finish the protocol of %(name)s first: tick or skip (with a reason) every step.",
                                  name=localized(unfinished[0].procedure)))
        now = utcnow()
        rows = (Visit.update(status="signed", signed_at=now, signed_by=actor, updated_at=now)
                .where(Visit.id == visit.id, Visit.status == "draft").execute())
        if rows != 1:  # cannot happen behind the lock; kept as the last line of defence
            raise _already_signed(Visit.get_by_id(visit.id))
        audit.record("update", patient=current.patient_id, object_type="visit", object_ref=current.code, actor=actor,
                     detail={"signed": True})
        if config is not None:  # the procedures done become a draft bill for the front desk (issue 13)
            from portal.services import billing
            billing.bill_visit(Visit.get_by_id(visit.id), actor, config)
    return Visit.get_by_id(visit.id)


def add_addendum(visit: Visit, text: str, actor: Staff) -> VisitAddendum:
    """Only on a signed visit, as it is now (a page loaded before the signature may add one)."""
    _must_be_doctor(actor)
    text = (text or "").strip()[:MAX_NOTE]
    with unit_of_work():
        current = locked(Visit, visit.id)
        if current is None or current.status != "signed":
            raise ServiceError(_l("The visit is not signed yet: edit the notes directly."))
        if not text:
            raise ServiceError(_l("Write the addendum."), field="text")
        row = VisitAddendum.create(visit=current, text=text, author=actor)
        audit.record("update", patient=current.patient_id, object_type="visit", object_ref=current.code, actor=actor,
                     detail={"addendum": row.id})
    return row


def visits_of(patient: Patient) -> list[Visit]:
    return list(Visit.select(Visit, Staff).join(Staff, on=(Visit.doctor == Staff.id))
                .where(Visit.patient == patient).order_by(Visit.visit_date.desc(), Visit.id.desc()))


def unsigned_drafts(doctor: Staff, before: date) -> list[Visit]:
    """The doctor's visits still in draft from days before `before` (the clinic's today): never
    chosen silently for today's recording, listed so they are finished and signed. One query."""
    return list(Visit.select(Visit, Patient).join(Patient, on=(Visit.patient == Patient.id))
                .where(Visit.doctor == doctor, Visit.status == "draft", Visit.visit_date < before)
                .order_by(Visit.visit_date, Visit.id))


# Starting a visit from an appointment (issue 13) -------------------------------------------------

STARTABLE = ("arrived", "seated")


def appointment_day(appt: Appointment, tz: str) -> date:
    from portal.services.clock import to_local
    return to_local(appt.start_at, tz).date()


def may_start(appt: Appointment, today: date, tz: str) -> bool:
    """Whether a "Start visit" button belongs on the appointment's row (the service decides again)."""
    return appt.status in STARTABLE and appointment_day(appt, tz) == today


def visits_by_appointment(appointments) -> dict[int, Visit]:
    """{appointment id: its visit} for the listed appointments, in one query (none without any)."""
    ids = sorted({a.id for a in appointments})
    if not ids:
        return {}
    rows = Visit.select(Visit.id, Visit.code, Visit.status, Visit.appointment).where(Visit.appointment.in_(ids))
    return {v.appointment_id: v for v in rows}


def _existing(appt_id: int) -> Visit | None:
    return Visit.get_or_none(Visit.appointment == appt_id)


def start_from_appointment(appt: Appointment, actor: Staff, config) -> tuple[Visit, bool]:
    """Open the visit for this appointment, once: (visit, created). A second click, or many tablets
    at once, get the same visit (the appointment row is re-read and locked first; the database's
    unique index on visit.appointment_id is the last line of defence). The appointment must be the
    clinic's today and the patient arrived or seated; an arrived patient is seated by it (one
    status event, through the schedule's own status change)."""
    from portal.services import schedule
    from portal.services.clock import local_now
    _must_be_doctor(actor)
    tz = config["PORTAL_TZ"]
    found = _existing(appt.id)
    if found is not None:
        return found, False
    today = local_now(tz).date()
    with unit_of_work():
        current = locked(Appointment, appt.id)
        if current is None:
            raise ServiceError(_l("This appointment no longer exists."))
        found = _existing(appt.id)
        if found is not None:  # another tablet was first: its visit is this one
            return found, False
        day = appointment_day(current, tz)
        if day != today:
            raise ServiceError(_l("This appointment is on %(day)s: a visit is started on the day of the appointment.",
                                  day=day.isoformat()))
        if current.status == "booked":
            raise ServiceError(_l("The patient has not arrived yet: mark the arrival first."))
        if current.status not in STARTABLE:
            from portal.templating import STATUS_LABELS
            raise schedule.moved_on(appt.id, current.status, tz) if current.status in (
                "completed", "cancelled", "no_show", "rescheduled") else ServiceError(
                _l("This appointment is %(status)s: no visit can be started from it.",
                   status=STATUS_LABELS.get(current.status, current.status)))
        if current.status == "arrived":
            schedule.change_status(current, "seated", actor, config, seen="arrived")
        try:
            with db.atomic():  # a savepoint: on PostgreSQL a refused insert must not spoil the transaction
                visit = Visit.create(code=new_code(), patient=current.patient_id, doctor=actor, appointment=current,
                                     visit_date=today)
        except pw.IntegrityError:  # unique index: another writer linked a visit in between
            found = _existing(appt.id)
            if found is None:
                raise
            return found, False
        audit.record("create", patient=current.patient_id, object_type="visit", object_ref=visit.code, actor=actor,
                     detail={"appointment": current.code})
    return visit, True


def todays_drafts(patient: Patient, today: date) -> list[Visit]:
    """The patient's open (draft) visits of today, newest first: where the chart records by default."""
    return list(Visit.select().where(Visit.patient == patient, Visit.status == "draft", Visit.visit_date == today)
                .order_by(Visit.id.desc()))


def earlier_drafts(patient: Patient, today: date, limit: int = 5) -> list[Visit]:
    """The patient's drafts from before today: offered only when chosen on purpose, never by default."""
    return list(Visit.select().where(Visit.patient == patient, Visit.status == "draft", Visit.visit_date < today)
                .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(limit))
