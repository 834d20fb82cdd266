"""Visits (就诊记录): notes written by the doctor, signed, then locked; amended only by addenda."""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Appointment, Patient, Staff, StepTick, Visit, VisitAddendum, VisitProcedure, new_code, utcnow
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when

NOTE_FIELDS = ("chief_complaint", "examination", "diagnosis", "treatment", "advice")
MAX_NOTE = 4000


@dataclass
class VisitNotes:
    chief_complaint: str = ""
    examination: str = ""
    diagnosis: str = ""
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


def sign(visit: Visit, actor: Staff) -> Visit:
    """Decided on the visit as it is inside the transaction: of many clicks one signs, the others
    are told who signed it and when."""
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
                                  name=unfinished[0].procedure.name_en))
        now = utcnow()
        rows = (Visit.update(status="signed", signed_at=now, signed_by=actor, updated_at=now)
                .where(Visit.id == visit.id, Visit.status == "draft").execute())
        if rows != 1:  # cannot happen behind the lock; kept as the last line of defence
            raise _already_signed(Visit.get_by_id(visit.id))
        audit.record("update", patient=current.patient_id, object_type="visit", object_ref=current.code, actor=actor,
                     detail={"signed": True})
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
