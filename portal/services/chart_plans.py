"""Treatment plans (items with status) and the lifecycle view (life stage, care due and done)."""
from dataclasses import dataclass
from datetime import date, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import (Appointment, ChartEntry, Patient, PlanItem, Procedure, Staff, Visit, VisitProcedure,
                           new_code, utcnow)
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when
from portal.services.chart_teeth import valid_tooth
from portal.services.identity import age_on, life_stage

# status -> the statuses it may move to. Declined is a decision the analytics count; it can be
# reopened (proposed again) but never erased.
TRANSITIONS = {
    "proposed": ("accepted", "declined"),
    "accepted": ("scheduled", "declined", "done"),
    "scheduled": ("done", "accepted", "declined"),
    "declined": ("proposed",),
    "done": (),
}
PLAN_STATUS_LABELS = {"proposed": _l("Proposed"), "accepted": _l("Accepted"), "declined": _l("Declined"),
                      "scheduled": _l("Scheduled"), "done": _l("Done")}
PRIORITY_LABELS = {1: _l("Urgent"), 2: _l("Soon"), 3: _l("Elective")}


def add_item(patient: Patient, procedure: Procedure, actor: Staff, tooth=None, price_fen: int | None = None,
             priority: int = 2, phase: int = 1, alternative_to: PlanItem | None = None, note: str = "") -> PlanItem:
    tooth = valid_tooth(tooth) if tooth not in (None, "") else None
    if priority not in PRIORITY_LABELS:
        raise ServiceError(_l("Choose a priority."), field="priority")
    if not isinstance(phase, int) or not 1 <= phase <= 9:
        raise ServiceError(_l("The phase is a number from 1 to 9."), field="phase")
    price = procedure.price_fen if price_fen is None else price_fen
    if price < 0:
        raise ServiceError(_l("The price cannot be negative."), field="price")
    if alternative_to is not None and alternative_to.patient_id != patient.id:
        raise ServiceError(_l("An alternative must be to an item of the same patient."), field="alternative_to")
    with unit_of_work():
        item = PlanItem.create(code=new_code(), patient=patient, procedure=procedure, tooth=tooth, price_fen=price,
                               priority=priority, phase=phase, alternative_to=alternative_to,
                               note=(note or "").strip()[:200], created_by=actor)
        audit.record("create", patient=patient, object_type="plan_item", object_ref=item.code, actor=actor,
                     detail={"procedure": procedure.code, "tooth": tooth, "price_fen": price})
    return item


def set_status(item: PlanItem, status: str, actor: Staff, reason: str = "",
               appointment: Appointment | None = None, seen: str | None = None) -> PlanItem:
    """`seen`: the status the person saw when they clicked (default: the one `item` was loaded
    with). Decided on the item as it is inside the transaction and written with a conditional
    update: of many clicks one moves the item on; the others are told who moved it and when."""
    if status not in TRANSITIONS:
        raise ServiceError(_l("Unknown status."), field="status")
    seen = seen if seen in TRANSITIONS else item.status
    reason = (reason or "").strip()[:200]
    if appointment is not None and appointment.patient_id != item.patient_id:
        raise ServiceError(_l("That appointment belongs to another patient."), field="appointment")
    with unit_of_work():
        current = locked(PlanItem, item.id)
        if current is None:
            raise ServiceError(_l("This plan item no longer exists."))
        old = current.status
        if old != seen or old == status:  # moved on since the page was loaded
            raise _moved_on(current)
        if status not in TRANSITIONS[old]:
            raise ServiceError(_l("An item that is %(now)s cannot become %(new)s.",
                                  now=PLAN_STATUS_LABELS[old], new=PLAN_STATUS_LABELS[status]), field="status")
        if status == "declined" and not reason:
            raise ServiceError(_l("Record why the patient declined."), field="reason")
        fields = {"status": status, "status_by": actor.id, "status_at": utcnow()}
        if status == "declined":
            fields["decline_reason"] = reason
        if status == "scheduled" and appointment is not None:
            fields["appointment"] = appointment.id
        won = PlanItem.update(**fields).where(PlanItem.id == item.id, PlanItem.status == old).execute()
        if won != 1:  # cannot happen behind the lock; kept as the last line of defence
            raise _moved_on(PlanItem.get_by_id(item.id))
        audit.record("update", patient=current.patient_id, object_type="plan_item", object_ref=current.code,
                     actor=actor, detail={"from": old, "to": status, "reason": reason})
    fresh = PlanItem.get_by_id(item.id)
    for name in ("status", "status_by", "status_at", "decline_reason", "appointment"):
        setattr(item, name, getattr(fresh, name))  # the caller's object shows the change it made
    return item


def _moved_on(current: PlanItem) -> Conflict:
    return Conflict(_l("This item is already %(status)s: changed by %(who)s at %(time)s.",
                       status=PLAN_STATUS_LABELS[current.status], **who_when(current.status_by_id, current.status_at)))


def plan_of(patient: Patient) -> list[PlanItem]:
    return list(PlanItem.select(PlanItem, Procedure, Appointment).join(Procedure).switch(PlanItem)
                .join(Appointment, pw.JOIN.LEFT_OUTER, on=(PlanItem.appointment == Appointment.id))
                .where(PlanItem.patient == patient).order_by(PlanItem.phase, PlanItem.priority, PlanItem.id))


def totals(items: list[PlanItem]) -> dict[str, int]:
    result = {s: 0 for s in TRANSITIONS}
    for item in items:
        result[item.status] += item.price_fen
    return result


# --- lifecycle ------------------------------------------------------------------------------

@dataclass
class CareItem:
    key: str
    label: object
    codes: tuple         # catalogue codes that count as doing it
    every_months: int    # 0: once
    last_done: date | None = None
    due: date | None = None
    state: str = "due"   # due / overdue / ok / once_done


STAGE_CARE = {
    "child": [("checkup", _l("Check-up and cleaning"), ("EXM-CHK", "PER-SC"), 6),
              ("fluoride", _l("Fluoride varnish"), ("PRV-FV",), 6),
              ("sealant", _l("Pit-and-fissure sealants on the first molars"), ("PRV-PFS",), 0)],
    "teen": [("checkup", _l("Check-up and cleaning"), ("EXM-CHK", "PER-SC"), 6),
             ("ortho", _l("Orthodontic assessment"), ("ORT-ASM",), 0),
             ("fluoride", _l("Fluoride varnish"), ("PRV-FV",), 12)],
    "adult": [("checkup", _l("Check-up"), ("EXM-CHK",), 12),
              ("perio", _l("Periodontal maintenance (scaling)"), ("PER-SC", "PER-SRP"), 6),
              ("aesthetic", _l("Aesthetic restoration review"), ("RES-VEN", "AES-WHT"), 0)],
    "senior": [("checkup", _l("Check-up"), ("EXM-CHK",), 6),
               ("perio", _l("Periodontal maintenance (scaling)"), ("PER-SC", "PER-SRP"), 6),
               ("implant", _l("Implant and denture maintenance"), ("IMP-MNT", "PRO-DEN"), 12),
               ("replace", _l("Replacement of missing teeth"), ("IMP-DIG", "PRO-DEN", "RES-BRG"), 0)],
}
STAGE_LABELS = {"child": _l("Child"), "teen": _l("Teen"), "adult": _l("Adult"), "senior": _l("Senior")}


def _add_months(day: date, months: int) -> date:
    return day + timedelta(days=round(months * 30.44))


def lifecycle(patient: Patient, today: date) -> tuple[str, int, list[CareItem]]:
    """(stage, age, care items with their last-done and due dates) from completed procedures."""
    stage = life_stage(patient.birth_date, today)
    done = (VisitProcedure.select(Procedure.code, Visit.visit_date).join(Procedure)
            .switch(VisitProcedure).join(Visit)
            .where(Visit.patient == patient, VisitProcedure.status == "completed").tuples())
    last: dict[str, date] = {}
    for code, day in done:
        last[code] = max(last.get(code, day), day)
    sealed = (ChartEntry.select().where(ChartEntry.patient == patient, ChartEntry.kind == "sealant",
                                        ChartEntry.status != "planned", ChartEntry.entered_in_error == False)  # noqa
              .order_by(ChartEntry.recorded_on.desc()).first())
    items = []
    for key, label, codes, every in STAGE_CARE[stage]:
        item = CareItem(key, label, codes, every)
        dates = [last[c] for c in codes if c in last]
        if key == "sealant" and sealed:
            dates.append(sealed.recorded_on)
        item.last_done = max(dates) if dates else None
        if every == 0:
            item.state = "once_done" if item.last_done else "due"
        elif item.last_done is None:
            item.state, item.due = "due", today
        else:
            item.due = _add_months(item.last_done, every)
            item.state = "ok" if item.due > today else "overdue" if (today - item.due).days > 30 else "due"
        items.append(item)
    return stage, age_on(patient.birth_date, today), items
