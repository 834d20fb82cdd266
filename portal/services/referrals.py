"""Referrals (老带新): recorded at registration (Patient.referred_by); when the new patient's first
visit is paid, both sides get their points, once."""
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Bill, Patient, Referral
from portal.services import member_settings as settings
from portal.services import points as ledger


def reward_if_due(patient: Patient, actor, config, today) -> bool:
    patient = Patient.get_by_id(patient.id)
    if not patient.referred_by_id or Referral.select().where(Referral.referee == patient).exists():
        return False
    if Bill.select().where(Bill.patient == patient, Bill.status == "paid").count() != 1:
        return False  # the reward belongs to the first paid visit
    from portal.models import Membership
    joined = {m.patient_id for m in Membership.select(Membership.patient).where(
        Membership.patient.in_([patient.id, patient.referred_by_id]), Membership.joined_at.is_null(False))}
    from peewee import IntegrityError

    from portal.db import db
    with unit_of_work():
        try:
            with db.atomic():  # a savepoint: a second paid bill at the same moment rewards nothing
                Referral.create(referrer=patient.referred_by_id, referee=patient)
        except IntegrityError:
            return False
        # Points go only to members (consent recorded); the referral itself is always recorded.
        if patient.referred_by_id in joined:
            ledger.earn(patient.referred_by_id, settings.get(config, "referral_points_referrer"), "referral", actor,
                        today, note=str(_l("Referred %(name)s", name=patient.name)),
                        key=f"referral:{patient.id}:referrer", config=config)
        if patient.id in joined:
            ledger.earn(patient, settings.get(config, "referral_points_referee"), "referral", actor, today,
                        note=str(_l("Welcome reward")), key=f"referral:{patient.id}:referee", config=config)
        audit.record("update", patient=patient, object_type="referral", object_ref=patient.chart_no,
                     detail={"referrer": patient.referred_by.chart_no}, actor=actor)
    return True


def tree(patient: Patient, depth: int = 3) -> list[dict]:
    """Who this member brought in, and whom they brought in (a level-by-level query, not per person)."""
    levels, frontier = [], [patient.id]
    nodes: dict[int, dict] = {}
    for level in range(depth):
        rows = list(Patient.select(Patient.id, Patient.name, Patient.code, Patient.chart_no, Patient.referred_by,
                                   Patient.created_at).where(Patient.referred_by.in_(frontier)).order_by(Patient.id))
        if not rows:
            break
        rewarded = {r.referee_id for r in Referral.select(Referral.referee).where(Referral.referee.in_([p.id for p in rows]))}
        for p in rows:
            nodes[p.id] = {"patient": p, "rewarded": p.id in rewarded, "children": [], "level": level}
            (nodes[p.referred_by_id]["children"] if p.referred_by_id in nodes else levels).append(nodes[p.id])
        frontier = [p.id for p in rows]
    return levels

