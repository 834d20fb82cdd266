"""Member benefits (plan A) and the points catalogue (plan B), as seed 002 says.

Plan A has two kinds of perk per tier (Members ▸ Settings, defaults from the seed):
- yearly ("每年…一次"): granted per calendar year for the tier in force that year, from the year the
  tier is reached; what is left on 31 December is gone (no carry-over);
- one-off ("赠送…一次"): granted once when the tier is reached; they do not lapse.
The tier gift is neither: it is handed over once per tier reached (a desk task, see tiers).
A use is guarded in SQL (`used < quantity`), so two desks redeeming the last one at once cannot both
succeed. A transfer records the service in the beneficiary's own record, counts as one of the
member's uses, and waives a new patient's registration fee.
"""
from datetime import date

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from portal import audit
from portal.db import db, unit_of_work
from portal.models import BenefitGrant, BenefitUse, Membership, Patient, TierChange, new_code, utcnow
from portal.services import Conflict, ServiceError
from portal.services import member_settings as settings
from portal.services import points as ledger
from portal.services import tiers
from portal.services.identity import age_on

KIND_LABELS = {"gift": _l("Gift"), "scaling": _l("Ultrasonic scaling"), "air_polishing": _l("Air-polishing scaling"),
               "facial": _l("Facial care"), "herbal": _l("Herbal therapy"), "fluoride_child": _l("Child fluoride varnish"),
               "sealant": _l("Pit-and-fissure sealant (per tooth)")}
# Plan B, seed 002: points per redemption (the defaults; the manager may change them).
CATALOGUE_B = dict(settings.SEED_PRICES_B)
CHILD_AGE = 12


def children_under_12(patient: Patient, on: date) -> list[Patient]:
    if not patient.family_id:
        return []
    return [p for p in Patient.select().where(Patient.family == patient.family_id).order_by(Patient.birth_date.desc())
            if age_on(p.birth_date, on) < CHILD_AGE]


def entitlement(patient: Patient, tier: str, on: date, config=None) -> list[tuple[str, Patient | None, int]]:
    """This year's yearly perks for the tier: (kind, child, uses); none under plan B."""
    values = settings.all_settings(config)
    if values["plan"] == "B" or not tier:
        return []
    yearly = settings.perks(config)[tier]
    rows = [(kind, None, n) for kind, n in yearly.items() if kind != "fluoride_child"]
    if yearly.get("fluoride_child"):
        rows += [("fluoride_child", child, yearly["fluoride_child"]) for child in children_under_12(patient, on)]
    return rows


def once_entitlement(m: Membership | None, config=None) -> list[tuple[str, int, str, int]]:
    """One-off perks of every tier reached: (tier, year reached, kind, uses); none under plan B."""
    if m is None or not m.tier or settings.get(config, "plan") == "B":
        return []
    once = settings.perks(config, once=True)
    reached = {}
    for ch in TierChange.select().where(TierChange.membership == m).order_by(TierChange.id):
        reached.setdefault(ch.to_tier, ch.reached_at.year)
    if m.tier not in reached and m.tier_reached_at:
        reached[m.tier] = m.tier_reached_at.year
    return [(tier, year, kind, n) for tier, year in reached.items() for kind, n in once.get(tier, {}).items()]


def _once_key(patient_id: int, tier: str, kind: str) -> str:
    return f"{patient_id}:once:{tier}:{kind}"


def _grant(patient: Patient, key: str, **fields) -> None:
    g = BenefitGrant.get_or_none(BenefitGrant.grant_key == key)
    if g is None:
        try:
            with db.atomic():  # a savepoint: a second desk granting at the same moment loses quietly
                BenefitGrant.create(code=new_code(), patient=patient, grant_key=key, **fields)
        except IntegrityError:
            pass
    elif g.quantity < fields["quantity"]:
        BenefitGrant.update(quantity=fields["quantity"]).where(BenefitGrant.id == g.id).execute()


def ensure_grants(patient: Patient, on: date, config=None) -> list[BenefitGrant]:
    """Grant this year's yearly perks for the tier in force and the one-off perks of every tier
    reached (idempotent; a higher tier or setting raises quantities)."""
    m = Membership.get_or_none(Membership.patient == patient)
    tier = tiers.tier_in_year(m, on.year)
    with unit_of_work():
        for kind, child, n in entitlement(patient, tier, on, config):
            _grant(patient, f"{patient.id}:{on.year}:{kind}:{child.id if child else 0}", year=on.year, kind=kind,
                   child=child, quantity=n)
        for reached, year, kind, n in once_entitlement(m, config):
            if year <= on.year:
                _grant(patient, _once_key(patient.id, reached, kind), year=year, kind=kind, quantity=n, once=True)
    return grants(patient, on.year)


def grants(patient: Patient, year: int) -> list[BenefitGrant]:
    """This year's yearly grants and every one-off grant."""
    return list(BenefitGrant.select().where(BenefitGrant.patient == patient,
                                            (BenefitGrant.year == year) | (BenefitGrant.once == True))  # noqa: E712
                .order_by(BenefitGrant.once, BenefitGrant.kind, BenefitGrant.id))


def left_this_year(patient: Patient, tier: str, on: date, config=None) -> list[dict]:
    """What the member may still use: this year's yearly perks, then the one-off perks; read-only
    (before the worker granted, from the rule)."""
    found = {g.grant_key: g for g in grants(patient, on.year)}
    out = []

    def row(kind, child, n, key, once):
        g = found.get(key)
        qty, used = (max(n, g.quantity), g.used) if g else (n, 0)
        out.append({"kind": kind, "label": KIND_LABELS[kind], "child": child, "quantity": qty, "used": used,
                    "left": max(0, qty - used), "grant": g, "once": once})

    for kind, child, n in entitlement(patient, tier, on, config):
        row(kind, child, n, f"{patient.id}:{on.year}:{kind}:{child.id if child else 0}", False)
    m = Membership.get_or_none(Membership.patient == patient)
    for reached, year, kind, n in once_entitlement(m, config):
        if year <= on.year:
            row(kind, None, n, _once_key(patient.id, reached, kind), True)
    return out


def _beneficiary_is_new(p: Patient) -> bool:
    from portal.services.billing import is_new_patient
    return is_new_patient(p)


def use(member: Patient, kind: str, actor, on: date, beneficiary: Patient | None = None, child_id: int | None = None,
        note: str = "", config=None, bill=None) -> BenefitUse:
    """Use one perk, for the member or (a transfer) for someone else: this year's yearly allowance
    first (it lapses), then a one-off perk of the same kind."""
    from portal.services.billing import waive_registration
    ensure_grants(member, on, config)
    yearly = BenefitGrant.get_or_none(BenefitGrant.grant_key == f"{member.id}:{on.year}:{kind}:{child_id or 0}")
    candidates = ([yearly] if yearly else []) + ([] if child_id else list(
        BenefitGrant.select().where(BenefitGrant.patient == member, BenefitGrant.kind == kind,
                                    BenefitGrant.once == True).order_by(BenefitGrant.id)))  # noqa: E712
    if not candidates:
        raise ServiceError(_l("This benefit is not part of the member's tier this year."), field="kind")
    target = beneficiary or (Patient.get_by_id(child_id) if child_id else member)
    transferred = target.id != member.id and target.id != child_id
    with unit_of_work():
        grant = None
        for g in candidates:
            if BenefitGrant.update(used=BenefitGrant.used + 1).where(
                    BenefitGrant.id == g.id, BenefitGrant.used < BenefitGrant.quantity).execute() == 1:
                grant = g
                break
        if grant is None:
            last = (BenefitUse.select().where(BenefitUse.grant.in_([g.id for g in candidates]))
                    .order_by(BenefitUse.id.desc()).first())
            if last is None:
                raise ServiceError(_l("No %(what)s left this year.", what=KIND_LABELS[kind]), field="kind")
            from portal.services.moved_on import who_when
            raise Conflict(_l("No %(what)s left this year: the last one was used by %(who)s at %(time)s.",
                              what=KIND_LABELS[kind], **who_when(last.used_by_id, last.used_at, config)), field="kind")
        waived = transferred and _beneficiary_is_new(target)
        row = BenefitUse.create(code=new_code(), member=member, beneficiary=target, grant=grant, kind=kind,
                                transferred=transferred, registration_waived=waived, bill=bill,
                                note=(note or "")[:200], used_by=actor, used_at=utcnow())
        audit.record("update", patient=member, object_type="benefit_use", object_ref=row.code,
                     detail={"kind": kind, "year": on.year, "once": grant.once, "beneficiary": target.chart_no,
                             "transferred": transferred}, actor=actor)
        if transferred:
            audit.record("update", patient=target, object_type="benefit_received", object_ref=row.code,
                         detail={"kind": kind, "from": member.chart_no}, actor=actor)
            if waived:
                waive_registration(target, actor)
    return row


def redeem_points(member: Patient, kind: str, actor, config, teeth: int = 1, beneficiary: Patient | None = None) -> BenefitUse:
    """Plan B: the service for its points price (sealant per tooth); the points are deducted. Only
    from the redemption point on (one payment earning 1,000 points or 2,000 in total)."""
    from portal.services.billing import waive_registration
    values = settings.all_settings(config)
    if values["plan"] != "B":
        raise ServiceError(_l("The points catalogue is switched off (plan A)."))
    prices = settings.prices_b(config)
    if kind not in prices:
        raise ServiceError(_l("Choose a service from the catalogue."), field="kind")
    if not ledger.can_redeem(member, config):
        raise ServiceError(_l("Points can be redeemed after one payment earning %(a)s points or %(b)s in total.",
                              a=values["redeem_single_points"], b=values["redeem_cumulative_points"]), field="kind")
    cost = prices[kind] * (max(1, min(32, teeth)) if kind == "sealant" else 1)
    target = beneficiary or member
    transferred = target.id != member.id
    with unit_of_work():
        waived = transferred and _beneficiary_is_new(target)
        row = BenefitUse.create(code=new_code(), member=member, beneficiary=target, kind=kind, points=cost,
                                transferred=transferred, used_by=actor, used_at=utcnow(), registration_waived=waived)
        ledger.spend(member, cost, "redemption", actor, note=str(KIND_LABELS[kind]), key=f"redeem:{row.id}")
        audit.record("update", patient=member, object_type="benefit_use", object_ref=row.code,
                     detail={"kind": kind, "points": cost, "beneficiary": target.chart_no}, actor=actor)
        if waived:
            waive_registration(target, actor)
    return row


def uses_of(patient: Patient, limit: int = 50) -> list[BenefitUse]:
    """Given by this member, or received by this patient."""
    Member, Beneficiary = Patient.alias(), Patient.alias()
    return list(BenefitUse.select(BenefitUse, Member.name, Member.id, Beneficiary.name, Beneficiary.id)
                .join(Member, on=(BenefitUse.member == Member.id)).switch(BenefitUse)
                .join(Beneficiary, on=(BenefitUse.beneficiary == Beneficiary.id))
                .where((BenefitUse.member == patient) | (BenefitUse.beneficiary == patient))
                .order_by(BenefitUse.used_at.desc()).limit(limit))


def grant_all(on: date, config=None) -> int:
    """The worker's yearly (and daily catch-up) grant for every member with a tier."""
    n = 0
    for m in Membership.select(Membership.patient).where(Membership.tier != ""):
        ensure_grants(Patient.get_by_id(m.patient_id), on, config)
        n += 1
    return n
