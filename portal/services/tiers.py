"""Tiers (plan A, DOMAIN.md "Membership"): a single payment or the running total reaches a tier;
a tier is never lowered. Reaching one tells the front desk (a hand-over task) and the patient."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from portal.models import DeskTask, Membership, Patient, TierChange, new_code, utcnow

TIER_ORDER = ("", "member", "senior", "vip", "diamond")
# tier: (single payment ≥ fen, cumulative ≥ fen) — the seed's table, in fen. The manager may change
# them (Members ▸ Settings); services read member_settings.thresholds(config).
THRESHOLDS = (("diamond", 2_000_000, 2_500_000), ("vip", 1_000_000, 1_500_000),
              ("senior", 500_000, 800_000), ("member", 100_000, 200_000))
TIER_LABELS = {"": _l("Not yet a member"), "member": _l("Member"), "senior": _l("Senior member"),
               "vip": _l("VIP member"), "diamond": _l("Diamond VIP")}
VIP_TIERS = ("vip", "diamond")


def rank(tier: str) -> int:
    return TIER_ORDER.index(tier or "")


def tier_for(single_fen: int, cumulative_fen: int, table=None) -> tuple[str, str]:
    """(tier, basis) the rule gives for one payment and the running total; ('', '') below member."""
    for tier, single, cumulative in table or THRESHOLDS:
        if single_fen >= single:
            return tier, "single"
        if cumulative_fen >= cumulative:
            return tier, "cumulative"
    return "", ""


def card_no(patient: Patient) -> str:
    return f"M{patient.chart_no}"


def membership_of(patient: Patient) -> Membership:
    """The patient's card, made on first need (inside the caller's unit of work)."""
    m = Membership.get_or_none(Membership.patient == patient)
    if m is None:
        from peewee import IntegrityError

        from portal.db import db
        try:
            with db.atomic():  # a savepoint: another desk making the same card at once wins quietly
                m = Membership.create(patient=patient, card_no=card_no(patient))
        except IntegrityError:
            m = Membership.get(Membership.patient == patient)
    return m


def apply_payment(m: Membership, single_fen: int, payment, config, now) -> str | None:
    """After a payment (totals already updated): raise the tier if the rule says so; never lower it.
    Returns the new tier, or None when it did not change."""
    from portal.services import member_settings
    if m.joined_at is None:
        return None  # without consent no tier (seed 002: 经病人同意后…成为会员)
    reached, basis = tier_for(single_fen, m.paid_total_fen, member_settings.thresholds(config))
    if rank(reached) <= rank(m.tier):
        return None
    old = m.tier
    if not Membership.update(tier=reached, tier_reached_at=now).where(Membership.id == m.id,
                                                                      Membership.tier == old).execute():
        return None  # another payment moved the tier on in the meantime; it announced its own
    m.tier, m.tier_reached_at = reached, now
    TierChange.create(membership=m, from_tier=old, to_tier=reached, basis=basis,
                      amount_fen=single_fen if basis == "single" else m.paid_total_fen, payment=payment,
                      reached_at=now)
    _announce(m, reached, config)
    return reached


def _announce(m: Membership, tier: str, config) -> None:
    """The tier gift is handed over once per tier reached (seed 002: 赠送口腔保健礼品一份), worth the
    tier's gift value; it is not a yearly benefit."""
    from portal.notify.outbox import queue
    from portal.services import member_settings
    from portal.labels import tier_gift_detail
    key = f"tier:{m.patient_id}:{tier}"
    value = member_settings.get(config, f"gift_value_{tier}_fen")
    DeskTask.get_or_none(DeskTask.unique_key == key) or DeskTask.create(
        code=new_code(), patient=m.patient_id, kind="tier_gift", unique_key=key,
        detail=tier_gift_detail(tier, value))  # shown in the reader's words (portal.labels)
    m._queued = queue(m.patient, "tier_reached", utcnow() + timedelta(minutes=1), key, config,
                      context={"tier": tier})


def tier_in_year(m: Membership | None, year: int) -> str:
    """The tier in force during `year` (the highest reached by its end); tiers never go down."""
    if m is None or not m.tier:
        return ""
    if m.tier_reached_at and m.tier_reached_at.year <= year:
        return m.tier
    best = ""
    for ch in TierChange.select().where(TierChange.membership == m).order_by(TierChange.id):
        if ch.reached_at.year <= year and rank(ch.to_tier) > rank(best):
            best = ch.to_tier
    return best


def always_vip_room(patient) -> bool:
    """Seed 002: the diamond VIP is seen in the VIP room every time (每次在VIP诊室就诊); a VIP member
    may ask for it when booking (可以预约在VIP诊室就诊)."""
    pid = getattr(patient, "id", patient)
    return Membership.select().where(Membership.patient == pid, Membership.tier == "diamond",
                                     Membership.joined_at.is_null(False)).exists()
