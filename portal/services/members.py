"""The membership desk: the member list and card, birthdays, hand-over tasks, change-of-doctor
requests, and what the patient's own link shows."""
from datetime import date

from flask_babel import lazy_gettext as _l
from peewee import JOIN

from portal import audit
from portal.db import unit_of_work
from portal.models import (DeskTask, DoctorChangeRequest, Membership, Patient, Staff, TierChange, new_code, utcnow)
from portal.services import ServiceError
from portal.services import benefits
from portal.services import member_settings as settings
from portal.services import tiers


def listing(q: str = "", tier: str = "", limit: int = 50) -> list[Membership]:
    query = (Membership.select(Membership, Patient).join(Patient)
             .where((Membership.tier != "") | (Membership.points > 0)))
    if tier in tiers.TIER_ORDER and tier:
        query = query.where(Membership.tier == tier)
    q = (q or "").strip()
    if q:
        like = q.replace("%", "").replace("_", "")[:40]
        query = query.where((Patient.name.startswith(like)) | (Patient.chart_no == like.upper().lstrip("M"))
                            | (Membership.card_no == like.upper()) | (Patient.phone_rev.startswith(like[::-1]))
                            | (Patient.name_initials.startswith(like.lower())) | (Patient.name_pinyin.startswith(like.lower())))
    return list(query.where(Patient.restricted == False).order_by(Membership.paid_total_fen.desc()).limit(limit))  # noqa: E712


def card(patient: Patient, on: date) -> dict:
    m = Membership.get_or_none(Membership.patient == patient)
    tier = m.tier if m else ""
    return {"membership": m, "tier": tier, "tier_label": tiers.TIER_LABELS[tier], "points": m.points if m else 0,
            "card_no": m.card_no if m else tiers.card_no(patient), "paid_total": m.paid_total_fen if m else 0,
            "benefits": benefits.left_this_year(patient, tier, on), "vip_room": tier in tiers.VIP_TIERS,
            "next": _next_tier(m)}


def _next_tier(m: Membership | None):
    paid, current = (m.paid_total_fen, m.tier) if m else (0, "")
    for tier, single, cumulative in reversed(tiers.THRESHOLDS):
        if tiers.rank(tier) > tiers.rank(current):
            return {"tier": tiers.TIER_LABELS[tier], "single": single, "cumulative": cumulative,
                    "short": max(0, cumulative - paid)}
    return None


def tier_history(patient: Patient) -> list[TierChange]:
    return list(TierChange.select().join(Membership).where(Membership.patient == patient).order_by(TierChange.id.desc()))


def for_patient_link(patient: Patient, config, today: date) -> dict | None:
    """For the patient's read-only link: tier, points and benefits left (None for non-members)."""
    m = Membership.get_or_none(Membership.patient == patient)
    if m is None:
        return None
    info = card(patient, today)
    return {"tier": info["tier_label"], "card_no": info["card_no"], "points": info["points"],
            "benefits": [b for b in info["benefits"] if b["left"]], "plan": settings.get(config, "plan")}


# --- birthdays ---------------------------------------------------------------------------------

def birthday_run(today: date, config) -> list[int]:
    """Members with a birthday today (or, in month mode, this month, on its first run): a greeting
    if they agreed to greetings (marketing consent) and a gift for the desk to hand over. Idempotent."""
    from portal.notify.outbox import queue
    from portal.services.patients import current_consents
    mode = settings.get(config, "birthday_mode")
    q = Membership.select(Membership, Patient).join(Patient).where(Membership.tier != "")
    ids = []
    for m in q:
        b = m.patient.birth_date
        if b.month != today.month or (mode == "day" and b.day != today.day
                                      and not (b.month == 2 and b.day == 29 and today.day == 28)):
            continue
        period = f"{today.year}-{today.month:02d}" if mode == "month" else today.isoformat()
        key = f"bday:{m.patient_id}:{period}"
        with unit_of_work():
            if not DeskTask.select().where(DeskTask.unique_key == key).exists():
                DeskTask.create(code=new_code(), patient=m.patient_id, kind="birthday", unique_key=key,
                                detail=str(_l("Birthday: hand over the birthday gift")))
            consent = current_consents(m.patient)["marketing"]
            if consent and consent.granted:
                ids.append(queue(m.patient, "birthday_greeting", utcnow(), key, config))
    return [i for i in ids if i]


# --- the desk's hand-over tasks ------------------------------------------------------------------

def open_tasks(limit: int = 30) -> list[DeskTask]:
    return list(DeskTask.select(DeskTask, Patient).join(Patient).where(DeskTask.status == "open")
                .order_by(DeskTask.created_at).limit(limit))


def close_task(task: DeskTask, actor, note: str = "") -> None:
    with unit_of_work():
        n = DeskTask.update(status="done", done_by=actor, done_at=utcnow()).where(
            DeskTask.id == task.id, DeskTask.status == "open").execute()
        if n != 1:
            raise ServiceError(_l("This was done already."))
        audit.record("update", patient=task.patient, object_type="desk_task", object_ref=task.code,
                     detail={"note": note[:200]}, actor=actor)


# --- change of attending doctor ------------------------------------------------------------------

def request_doctor_change(patient: Patient, to_doctor: Staff, reason: str, actor) -> DoctorChangeRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Write the patient's reason, as on the signed request."), field="reason")
    if to_doctor is None or to_doctor.role != "doctor" or not to_doctor.active:
        raise ServiceError(_l("Choose a doctor."), field="doctor")
    if to_doctor.id == patient.attending_doctor_id:
        raise ServiceError(_l("That doctor is already the attending doctor."), field="doctor")
    with unit_of_work():
        row = DoctorChangeRequest.create(code=new_code(), patient=patient, from_doctor=patient.attending_doctor_id,
                                         to_doctor=to_doctor, reason=reason[:300], requested_by=actor)
        audit.record("create", patient=patient, object_type="doctor_change", object_ref=row.code,
                     detail={"to": to_doctor.username}, actor=actor)
    return row


def decide_doctor_change(row: DoctorChangeRequest, approve: bool, manager, note: str = "") -> DoctorChangeRequest:
    if manager.role != "manager":
        raise ServiceError(_l("Only a manager approves this."))
    with unit_of_work():
        n = DoctorChangeRequest.update(status="approved" if approve else "rejected", decided_by=manager,
                                       decided_at=utcnow(), decision_note=(note or "")[:300]).where(
            DoctorChangeRequest.id == row.id, DoctorChangeRequest.status == "pending").execute()
        if n != 1:
            raise ServiceError(_l("This was decided already."))
        if approve:
            Patient.update(attending_doctor=row.to_doctor_id, updated_at=utcnow()).where(Patient.id == row.patient_id).execute()
        audit.record("update", patient=row.patient, object_type="doctor_change", object_ref=row.code,
                     detail={"approved": approve, "to": row.to_doctor.username}, actor=manager)
    return DoctorChangeRequest.get_by_id(row.id)


def pending_doctor_changes() -> list[DoctorChangeRequest]:
    From, To = Staff.alias(), Staff.alias()
    return list(DoctorChangeRequest.select(DoctorChangeRequest, Patient, From, To).join(Patient).switch(DoctorChangeRequest)
                .join(From, JOIN.LEFT_OUTER, on=(DoctorChangeRequest.from_doctor == From.id)).switch(DoctorChangeRequest)
                .join(To, on=(DoctorChangeRequest.to_doctor == To.id))
                .where(DoctorChangeRequest.status == "pending").order_by(DoctorChangeRequest.id))

