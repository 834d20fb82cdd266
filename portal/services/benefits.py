"""Yearly member benefits (plan A) and the points catalogue (plan B).

Benefits are granted per calendar year for the tier in force that year, from the year the tier is
reached; what is left on 31 December is gone (no carry-over). A use is guarded in SQL
(`used < quantity`), so two desks redeeming the last one at once cannot both succeed. A transfer
records the service in the beneficiary's own record and counts as one of the member's uses.
"""
from datetime import date

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from portal import audit
from portal.db import db, unit_of_work
from portal.models import BenefitGrant, BenefitUse, Bill, Membership, Patient, new_code, utcnow
from portal.services import ServiceError
from portal.services import member_settings as settings
from portal.services import points as ledger
from portal.services import tiers
from portal.services.identity import age_on

KIND_LABELS = {"gift": _l("Gift"), "scaling": _l("Ultrasonic scaling"), "air_polishing": _l("Air-polishing scaling"),
               "facial": _l("Facial care"), "herbal": _l("Herbal therapy"), "fluoride_child": _l("Child fluoride varnish"),
               "sealant": _l("Pit-and-fissure sealant (per tooth)")}
# Plan A, DOMAIN.md: uses per year by tier. The VIP room is a standing privilege, not counted.
YEARLY = {"member": {"gift": 1},
          "senior": {"scaling": 1, "gift": 1, "facial": 1},
          "vip": {"scaling": 2, "gift": 1, "facial": 1, "herbal": 1},
          "diamond": {"air_polishing": 2, "facial": 1, "herbal": 1, "gift": 1}}
# Plan B, DOMAIN.md: points per redemption.
CATALOGUE_B = {"scaling": 5000, "air_polishing": 6000, "fluoride_child": 2000, "sealant": 2000, "facial": 3000,
               "herbal": 5000}
CHILD_AGE = 12


def children_under_12(patient: Patient, on: date) -> list[Patient]:
    if not patient.family_id:
        return []
    return [p for p in Patient.select().where(Patient.family == patient.family_id).order_by(Patient.birth_date.desc())
            if age_on(p.birth_date, on) < CHILD_AGE]


def entitlement(patient: Patient, tier: str, on: date) -> list[tuple[str, Patient | None, int]]:
    rows = [(kind, None, n) for kind, n in YEARLY.get(tier, {}).items()]
    if tier == "diamond":
        rows += [("fluoride_child", child, 1) for child in children_under_12(patient, on)]
    return rows


def ensure_grants(patient: Patient, on: date) -> list[BenefitGrant]:
    """Grant this year's benefits for the tier in force (idempotent; a higher tier raises quantities)."""
    m = Membership.get_or_none(Membership.patient == patient)
    tier = tiers.tier_in_year(m, on.year)
    with unit_of_work():
        for kind, child, n in entitlement(patient, tier, on):
            key = f"{patient.id}:{on.year}:{kind}:{child.id if child else 0}"
            g = BenefitGrant.get_or_none(BenefitGrant.grant_key == key)
            if g is None:
                try:
                    with db.atomic():  # a savepoint: a second desk granting at the same moment loses quietly
                        BenefitGrant.create(code=new_code(), patient=patient, year=on.year, kind=kind, child=child,
                                            quantity=n, grant_key=key)
                except IntegrityError:
                    pass
            elif g.quantity < n:
                BenefitGrant.update(quantity=n).where(BenefitGrant.id == g.id).execute()
    return grants(patient, on.year)


def grants(patient: Patient, year: int) -> list[BenefitGrant]:
    return list(BenefitGrant.select().where(BenefitGrant.patient == patient, BenefitGrant.year == year)
                .order_by(BenefitGrant.kind, BenefitGrant.id))


def left_this_year(patient: Patient, tier: str, on: date) -> list[dict]:
    """What the member may still use this year; read-only (before the worker granted, from the rule)."""
    found = {g.grant_key: g for g in grants(patient, on.year)}
    out = []
    for kind, child, n in entitlement(patient, tier, on):
        g = found.get(f"{patient.id}:{on.year}:{kind}:{child.id if child else 0}")
        qty, used = (max(n, g.quantity), g.used) if g else (n, 0)
        out.append({"kind": kind, "label": KIND_LABELS[kind], "child": child, "quantity": qty, "used": used,
                    "left": max(0, qty - used), "grant": g})
    return out


def _beneficiary_is_new(p: Patient) -> bool:
    return not Bill.select().where(Bill.patient == p).exists()


def use(member: Patient, kind: str, actor, on: date, beneficiary: Patient | None = None, child_id: int | None = None,
        note: str = "") -> BenefitUse:
    """Use one of this year's benefits, for the member or (a transfer) for someone else."""
    ensure_grants(member, on)
    key = f"{member.id}:{on.year}:{kind}:{child_id or 0}"
    grant = BenefitGrant.get_or_none(BenefitGrant.grant_key == key)
    if grant is None:
        raise ServiceError(_l("This benefit is not part of the member's tier this year."), field="kind")
    target = beneficiary or (Patient.get_by_id(child_id) if child_id else member)
    transferred = target.id != member.id and target.id != child_id
    with unit_of_work():
        n = BenefitGrant.update(used=BenefitGrant.used + 1).where(
            BenefitGrant.id == grant.id, BenefitGrant.used < BenefitGrant.quantity).execute()
        if n != 1:
            raise ServiceError(_l("No %(what)s left this year.", what=KIND_LABELS[kind]), field="kind")
        row = BenefitUse.create(code=new_code(), member=member, beneficiary=target, grant=grant, kind=kind,
                                transferred=transferred, registration_waived=transferred and _beneficiary_is_new(target),
                                note=(note or "")[:200], used_by=actor, used_at=utcnow())
        audit.record("update", patient=member, object_type="benefit_use", object_ref=row.code,
                     detail={"kind": kind, "year": on.year, "beneficiary": target.chart_no, "transferred": transferred},
                     actor=actor)
        if transferred:
            audit.record("update", patient=target, object_type="benefit_received", object_ref=row.code,
                         detail={"kind": kind, "from": member.chart_no}, actor=actor)
    return row


def redeem_points(member: Patient, kind: str, actor, config, teeth: int = 1, beneficiary: Patient | None = None) -> BenefitUse:
    """Plan B: the service for its points price (sealant per tooth); the points are deducted."""
    if settings.get(config, "plan") != "B":
        raise ServiceError(_l("The points catalogue is switched off (plan A)."))
    if kind not in CATALOGUE_B:
        raise ServiceError(_l("Choose a service from the catalogue."), field="kind")
    cost = CATALOGUE_B[kind] * (max(1, min(32, teeth)) if kind == "sealant" else 1)
    target = beneficiary or member
    with unit_of_work():
        row = BenefitUse.create(code=new_code(), member=member, beneficiary=target, kind=kind, points=cost,
                                transferred=target.id != member.id, used_by=actor, used_at=utcnow(),
                                registration_waived=target.id != member.id and _beneficiary_is_new(target))
        ledger.spend(member, cost, "redemption", actor, note=str(KIND_LABELS[kind]), key=f"redeem:{row.id}")
        audit.record("update", patient=member, object_type="benefit_use", object_ref=row.code,
                     detail={"kind": kind, "points": cost, "beneficiary": target.chart_no}, actor=actor)
    return row


def uses_of(patient: Patient, limit: int = 50) -> list[BenefitUse]:
    """Given by this member, or received by this patient."""
    Member, Beneficiary = Patient.alias(), Patient.alias()
    return list(BenefitUse.select(BenefitUse, Member.name, Member.id, Beneficiary.name, Beneficiary.id)
                .join(Member, on=(BenefitUse.member == Member.id)).switch(BenefitUse)
                .join(Beneficiary, on=(BenefitUse.beneficiary == Beneficiary.id))
                .where((BenefitUse.member == patient) | (BenefitUse.beneficiary == patient))
                .order_by(BenefitUse.used_at.desc()).limit(limit))


def grant_all(on: date) -> int:
    """The worker's yearly (and daily catch-up) grant for every member with a tier."""
    n = 0
    for m in Membership.select(Membership.patient).where(Membership.tier != ""):
        ensure_grants(Patient.get_by_id(m.patient_id), on)
        n += 1
    return n
