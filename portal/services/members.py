"""The membership desk: the member list and card, birthdays, hand-over tasks, change-of-doctor
requests, and what the patient's own link shows."""
from datetime import date

from flask_babel import lazy_gettext as _l
from peewee import JOIN

from portal import audit
from portal.db import unit_of_work
from portal.models import (DeskTask, DoctorChangeRequest, Membership, Patient, Staff, TierChange, new_code, utcnow)
from portal.services import Conflict, ServiceError
from portal.services.moved_on import who_when
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


def card(patient: Patient, on: date, config=None) -> dict:
    m = Membership.get_or_none(Membership.patient == patient)
    tier = m.tier if m else ""
    return {"membership": m, "tier": tier, "tier_label": tiers.TIER_LABELS[tier], "points": m.points if m else 0,
            "card_no": m.card_no if m else tiers.card_no(patient), "paid_total": m.paid_total_fen if m else 0,
            "joined": bool(m and m.joined_at), "joined_at": m.joined_at if m else None,
            "benefits": benefits.left_this_year(patient, tier, on, config), "vip_room": tier in tiers.VIP_TIERS,
            "always_vip_room": tier == "diamond", "next": _next_tier(m, config)}


def _next_tier(m: Membership | None, config=None):
    paid, current = (m.paid_total_fen, m.tier) if m else (0, "")
    for tier, single, cumulative in reversed(settings.thresholds(config)):
        if tiers.rank(tier) > tiers.rank(current):
            return {"tier": tiers.TIER_LABELS[tier], "single": single, "cumulative": cumulative,
                    "short": max(0, cumulative - paid)}
    return None


def join(patient: Patient, actor, config, consent: bool, id_number: str = "", address: str = "",
         now=None) -> Membership:
    """Seed 002 入会流程: with the patient's consent, the desk records the full registration details
    (name, ID number, detailed address) and the patient becomes a member. Earlier payments count
    toward the tier (一次性消费…或累计…); points are earned only from joining on."""
    from portal.models import Bill, Payment
    from portal.models.billing import MONEY_METHODS
    from portal.services.identity import has_control_chars, normalize_id_number
    if not consent:
        raise ServiceError(_l("Membership starts only with the patient's consent; tick it when they agree."),
                           field="consent")
    id_number = normalize_id_number(id_number or patient.id_number, patient.birth_date)
    if not id_number:
        raise ServiceError(_l("Enter the ID number: a member registers name, ID number and full address."),
                           field="id_number")
    address = (address or patient.address or "").strip()
    if len(address) < 2 or len(address) > 200 or has_control_chars(address) or "<" in address:
        raise ServiceError(_l("Enter the full address (up to 200 characters)."), field="address")
    now = now or utcnow()
    with unit_of_work():
        m = tiers.membership_of(patient)
        if not Membership.update(joined_at=now, joined_by=actor).where(Membership.id == m.id,
                                                                       Membership.joined_at.is_null()).execute():
            m = Membership.get_by_id(m.id)
            raise Conflict(_l("This patient became a member already (%(who)s, %(time)s).",
                              **who_when(m.joined_by_id, m.joined_at, config)))
        if (id_number, address) != (patient.id_number, patient.address):
            Patient.update(id_number=id_number, address=address, updated_at=utcnow()).where(
                Patient.id == patient.id).execute()
        m = Membership.get_by_id(m.id)
        audit.record("update", patient=patient, object_type="member_join", object_ref=m.card_no,
                     detail={"consent": True}, actor=actor)
        single = 0
        for bill in Bill.select(Bill.id).where(Bill.patient == patient):
            paid = 0
            for pay in Payment.select(Payment.kind, Payment.method, Payment.amount_fen).where(
                    Payment.bill == bill.id, Payment.state == "done"):
                if pay.method in MONEY_METHODS:
                    paid += pay.amount_fen if pay.kind == "payment" else -pay.amount_fen
            single = max(single, paid)
        tiers.apply_payment(m, single, None, config, now)
    return Membership.get_by_id(m.id)


def tier_history(patient: Patient) -> list[TierChange]:
    return list(TierChange.select().join(Membership).where(Membership.patient == patient).order_by(TierChange.id.desc()))


def for_patient_link(patient: Patient, config, today: date) -> dict | None:
    """For the patient's read-only link: tier, points and benefits left (None for non-members)."""
    m = Membership.get_or_none(Membership.patient == patient)
    if m is None:
        return None
    info = card(patient, today, config)
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
                # the kind says it all; shown in the reader's words (portal.labels.desk_task_text)
                DeskTask.create(code=new_code(), patient=m.patient_id, kind="birthday", unique_key=key, detail="")
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
            done = DeskTask.get_by_id(task.id)
            raise Conflict(_l("This was done already by %(who)s at %(time)s.", **who_when(done.done_by_id, done.done_at)))
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
            from portal.services.billing import _decided_already
            now = DoctorChangeRequest.get_by_id(row.id)
            raise _decided_already(now.status, now.decided_by_id, now.decided_at, None)
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

