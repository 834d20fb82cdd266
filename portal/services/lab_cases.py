"""Lab cases (技工单): work ordered from a plan item or a visit, sent to a lab and awaited.

States: sent → in_progress → received → fitted / remade / cancelled. Each change is a conditional
update decided on the row as it is inside the unit of work; the loser is told who moved it and when.
A case is open (the work is not back) while sent or in progress; it is overdue when open past its
due date. Booking a fitting before an open case is due warns (the booking is not blocked)."""
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Patient, PlanItem, Staff, Visit, new_code, utcnow
from portal.models.lab_cases import LAB_STATUSES, WORK_TYPES, Lab, LabCase
from portal.services import Conflict, ServiceError
from portal.services.chart_teeth import valid_tooth
from portal.services.moved_on import locked, who_when

OPEN = ("sent", "in_progress")
TRANSITIONS = {
    "sent": ("in_progress", "received", "cancelled"),
    "in_progress": ("received", "cancelled"),
    "received": ("fitted", "remade", "cancelled"),
    "fitted": (),
    "remade": (),
    "cancelled": (),
}
CLINICAL = ("fitted", "remade")  # decided in the chair: the doctor's call
NEEDS_REASON = ("remade", "cancelled")
STATUS_LABELS = {"sent": _l("Sent to the lab"), "in_progress": _l("In progress at the lab"),
                 "received": _l("Back from the lab"), "fitted": _l("Fitted"), "remade": _l("Sent for a remake"),
                 "cancelled": _l("Cancelled")}
WORK_LABELS = {"crown": _l("Crown"), "bridge": _l("Bridge"), "veneer": _l("Veneer"), "inlay": _l("Inlay / onlay"),
               "implant_crown": _l("Implant crown"), "denture": _l("Complete denture"),
               "partial_denture": _l("Partial denture"), "aligner": _l("Clear aligners"), "retainer": _l("Retainer"),
               "night_guard": _l("Night guard"), "other": _l("Other")}
assert set(STATUS_LABELS) == set(LAB_STATUSES) and set(WORK_LABELS) == set(WORK_TYPES)


@dataclass
class CaseData:
    lab: Lab | None
    work_type: str
    teeth: str = ""
    shade: str = ""
    material: str = ""
    sent_on: date | None = None
    due_on: date | None = None
    lab_fee_fen: int = 0
    price_fen: int = 0
    note: str = ""
    plan_item: PlanItem | None = None
    visit: Visit | None = None


def teeth_text(teeth: str) -> str:
    parts = [t for t in (teeth or "").replace("，", ",").replace(" ", ",").split(",") if t]
    return ",".join(str(valid_tooth(t)) for t in parts)


def order(patient: Patient, data: CaseData, actor: Staff, today: date) -> LabCase:
    if data.lab is None or not data.lab.active:
        raise ServiceError(_l("Choose a lab."), field="lab")
    if data.work_type not in WORK_TYPES:
        raise ServiceError(_l("Choose the kind of work."), field="work_type")
    sent = data.sent_on or today
    if data.due_on is None:
        raise ServiceError(_l("Enter the date the work is due back."), field="due_on")
    if data.due_on < sent:
        raise ServiceError(_l("The work cannot be due before it is sent."), field="due_on")
    if data.lab_fee_fen < 0 or data.price_fen < 0:
        raise ServiceError(_l("The price cannot be negative."), field="price")
    if data.plan_item is not None and data.plan_item.patient_id != patient.id:
        raise ServiceError(_l("That plan item belongs to another patient."), field="plan_item")
    if data.visit is not None and data.visit.patient_id != patient.id:
        raise ServiceError(_l("That visit belongs to another patient."), field="visit")
    teeth = teeth_text(data.teeth)
    if data.plan_item is not None and not teeth and data.plan_item.tooth:
        teeth = str(data.plan_item.tooth)
    with unit_of_work():
        case = LabCase.create(code=new_code(), patient=patient, lab=data.lab, plan_item=data.plan_item,
                              visit=data.visit, work_type=data.work_type, teeth=teeth, shade=data.shade.strip()[:20],
                              material=data.material.strip()[:60], note=data.note.strip()[:200], sent_on=sent,
                              due_on=data.due_on, lab_fee_fen=data.lab_fee_fen, price_fen=data.price_fen,
                              created_by=actor, status_by=actor, status_at=utcnow())
        audit.record("create", patient=patient, object_type="lab_case", object_ref=case.code, actor=actor,
                     detail={"work_type": data.work_type, "lab": data.lab.code, "due_on": data.due_on.isoformat()})
    return case


def set_status(case: LabCase, status: str, actor: Staff, today: date, reason: str = "",
               seen: str | None = None) -> LabCase:
    """`seen`: the state the person saw when they clicked (default: the one `case` was loaded with)."""
    if status not in TRANSITIONS:
        raise ServiceError(_l("Unknown status."), field="status")
    seen = seen if seen in TRANSITIONS else case.status
    reason = (reason or "").strip()[:200]
    if status in CLINICAL and actor.role != "doctor":
        raise ServiceError(_l("Only a doctor records a fitting or a remake."), field="status")
    with unit_of_work():
        current = locked(LabCase, case.id)
        if current is None:
            raise ServiceError(_l("This lab case no longer exists."))
        old = current.status
        if old != seen or old == status:
            raise _moved_on(current)
        if status not in TRANSITIONS[old]:
            raise ServiceError(_l("A case that is %(now)s cannot become %(new)s.", now=STATUS_LABELS[old],
                                  new=STATUS_LABELS[status]), field="status")
        if status in NEEDS_REASON and not reason:
            raise ServiceError(_l("Record the reason."), field="reason")
        fields = {"status": status, "status_by": actor.id, "status_at": utcnow()}
        if reason:
            fields["reason"] = reason
        if status == "received":
            fields["received_on"] = today
        won = LabCase.update(**fields).where(LabCase.id == case.id, LabCase.status == old).execute()
        if won != 1:  # cannot happen behind the lock; the last line of defence
            raise _moved_on(LabCase.get_by_id(case.id))
        audit.record("update", patient=current.patient_id, object_type="lab_case", object_ref=current.code,
                     actor=actor, detail={"from": old, "to": status, "reason": reason})
    fresh = LabCase.get_by_id(case.id)
    for name in ("status", "status_by", "status_at", "reason", "received_on"):
        setattr(case, name, getattr(fresh, name))
    return case


def _moved_on(current: LabCase) -> Conflict:
    return Conflict(_l("This lab case is already %(status)s: changed by %(who)s at %(time)s.",
                       status=STATUS_LABELS[current.status], **who_when(current.status_by_id, current.status_at)))


def cases_of(patient: Patient) -> list[LabCase]:
    return list(LabCase.select(LabCase, Lab).join(Lab).where(LabCase.patient == patient)
                .order_by(LabCase.sent_on.desc(), LabCase.id.desc()))


def overdue(today: date, limit: int = 200) -> list[LabCase]:
    """Open cases past their due date, the longest overdue first."""
    return list(LabCase.select(LabCase, Lab, Patient).join(Lab).switch(LabCase).join(Patient)
                .where(LabCase.status.in_(OPEN), LabCase.due_on < today)
                .order_by(LabCase.due_on, LabCase.id).limit(limit))


def overdue_count(today: date) -> int:
    return LabCase.select().where(LabCase.status.in_(OPEN), LabCase.due_on < today).count()


def not_back_by(patient: Patient | int, start_local: datetime) -> list[date]:
    """Due dates of the patient's open cases that may not be back by a visit starting then (due that
    day or later). Only dates: the front desk books, and a lab case's content is clinical."""
    query = (LabCase.select(LabCase.due_on).where(LabCase.patient == patient, LabCase.status.in_(OPEN),
                                                  LabCase.due_on >= start_local.date())
             .order_by(LabCase.due_on.desc()))
    return [row.due_on for row in query]


# --- the labs list (the manager keeps it) ---

def labs(active_only: bool = False) -> list[Lab]:
    query = Lab.select().order_by(Lab.active.desc(), Lab.name)
    if active_only:
        query = query.where(Lab.active == True)  # noqa: E712
    return list(query)


def save_lab(name: str, phone: str, contact: str, actor: Staff, lab: Lab | None = None,
             active: bool = True) -> Lab:
    name = (name or "").strip()[:80]
    if not name:
        raise ServiceError(_l("Enter the lab's name."), field="name")
    with unit_of_work():
        if lab is None:
            lab = Lab.create(code=new_code(), name=name, phone=(phone or "").strip()[:30],
                             contact=(contact or "").strip()[:40])
            action = "create"
        else:
            Lab.update(name=name, phone=(phone or "").strip()[:30], contact=(contact or "").strip()[:40],
                       active=active).where(Lab.id == lab.id).execute()
            action = "update"
        audit.record(action, object_type="lab", object_ref=lab.code, actor=actor, detail={"active": active})
    return Lab.get_by_id(lab.id)
