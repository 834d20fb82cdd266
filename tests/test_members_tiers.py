"""Tiers (DOMAIN.md "Membership"): every threshold, single vs cumulative, never down; yearly benefits."""
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from portal.models import BenefitGrant, DeskTask, Membership, OutboxMessage
from portal.services import ServiceError, benefits, tiers
from portal.services import points as ledger
from tests.members_helpers import pay

YUAN = 100
TABLE = [("member", 1000, 2000), ("senior", 5000, 8000), ("vip", 10000, 15000), ("diamond", 20000, 25000)]


@pytest.mark.parametrize("tier,single,cumulative", TABLE)
def test_rule_at_every_threshold(tier, single, cumulative):
    below = tiers.TIER_ORDER[tiers.rank(tier) - 1]
    assert tiers.tier_for(single * YUAN - 1, 0)[0] == below
    assert tiers.tier_for(single * YUAN, 0) == (tier, "single")
    assert tiers.tier_for(single * YUAN + 1, 0)[0] == tier
    assert tiers.tier_for(0, cumulative * YUAN - 1)[0] == tiers.TIER_ORDER[max(0, tiers.rank(tier) - 1)] or \
        tiers.rank(tiers.tier_for(0, cumulative * YUAN - 1)[0]) < tiers.rank(tier)
    assert tiers.tier_for(0, cumulative * YUAN) == (tier, "cumulative")
    assert tiers.tier_for(0, cumulative * YUAN + 1)[0] == tier


@pytest.mark.parametrize("tier,single,cumulative", TABLE)
def test_single_payment_reaches_tier(app, staff, make_patient, tier, single, cumulative):
    p = make_patient()
    pay(app, staff, p, single * YUAN - 1)
    m = Membership.get(Membership.patient == p)
    assert tiers.rank(m.tier) < tiers.rank(tier)
    q = make_patient()
    pay(app, staff, q, single * YUAN)
    assert Membership.get(Membership.patient == q).tier == tier


def test_running_total_reaches_tier_and_tier_never_goes_down(app, staff, make_patient):
    p = make_patient()
    for _ in range(3):
        pay(app, staff, p, 700 * YUAN)  # 2,100 in total, no single payment ≥ 1,000
    m = Membership.get(Membership.patient == p)
    assert m.tier == "member" and m.paid_total_fen == 2100 * YUAN
    bill, payments = pay(app, staff, p, 12000 * YUAN)  # a single ¥12,000 payment: VIP
    assert Membership.get(Membership.patient == p).tier == "vip"
    from portal.services import billing
    billing.refund(payments[0], 12000 * YUAN, "treatment cancelled", staff["manager"], app.config)
    m = Membership.get(Membership.patient == p)
    assert m.tier == "vip" and m.paid_total_fen == 2100 * YUAN  # refund lowers the total, never the tier


def test_reaching_a_tier_tells_desk_and_patient(app, staff, make_patient):
    p = make_patient(consents={"reminders": True})
    pay(app, staff, p, 12000 * YUAN)
    assert DeskTask.select().where(DeskTask.patient == p, DeskTask.kind == "tier_gift").count() == 1
    assert OutboxMessage.select().where(OutboxMessage.patient == p, OutboxMessage.template == "tier_reached").count() == 1


def test_yearly_benefits_granted_in_year_reached_and_not_carried_over(app, staff, make_patient):
    p = make_patient()
    pay(app, staff, p, 10000 * YUAN, when=datetime(2026, 12, 30, 3))
    m = Membership.get(Membership.patient == p)
    m.tier_reached_at = datetime(2026, 12, 30, 3)
    m.save()
    on = date(2026, 12, 31)
    left = {b["kind"]: b["left"] for b in benefits.left_this_year(p, "vip", on)}
    assert left == {"scaling": 2, "facial": 1, "herbal": 1}  # the gift is a desk hand-over, facial/herbal once
    benefits.use(p, "scaling", staff["frontdesk"], on)
    assert {b["kind"]: b["left"] for b in benefits.left_this_year(p, "vip", on)}["scaling"] == 1
    new_year = date(2027, 1, 1)
    assert {b["kind"]: b["left"] for b in benefits.left_this_year(p, "vip", new_year)}["scaling"] == 2  # not 3
    benefits.ensure_grants(p, new_year)
    assert BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.year == 2027, BenefitGrant.kind == "scaling").quantity == 2
    benefits.use(p, "scaling", staff["frontdesk"], new_year)
    benefits.use(p, "scaling", staff["frontdesk"], new_year)
    with pytest.raises(ServiceError):
        benefits.use(p, "scaling", staff["frontdesk"], new_year)


def test_no_benefits_before_the_year_the_tier_was_reached(app, staff, make_patient):
    p = make_patient()
    pay(app, staff, p, 5000 * YUAN, when=datetime(2026, 3, 2, 3))
    m = Membership.get(Membership.patient == p)
    assert tiers.tier_in_year(m, 2025) == "" and tiers.tier_in_year(m, 2026) == "senior"


def test_diamond_fluoride_for_each_child_under_12(app, staff, make_patient):
    from portal.services import patients as registry
    parent = make_patient(name="钻石妈妈", sex="F", birth_date=date(1985, 1, 1))
    fam = registry.create_family("钻家", parent, staff["frontdesk"])
    kids = [make_patient(name=n, birth_date=b, family=fam) for n, b in
            (("小一", date(2018, 6, 1)), ("小二", date(2020, 6, 1)), ("大哥", date(2010, 6, 1)))]
    pay(app, staff, parent, 20000 * YUAN)
    rows = benefits.left_this_year(parent, "diamond", date(2026, 3, 2))
    fluoride = [b for b in rows if b["kind"] == "fluoride_child"]
    assert {b["child"].id for b in fluoride} == {kids[0].id, kids[1].id}
    use = benefits.use(parent, "fluoride_child", staff["frontdesk"], date(2026, 3, 2), child_id=kids[0].id)
    assert use.beneficiary_id == kids[0].id and not use.transferred


def test_transfer_records_in_beneficiary_waives_registration_and_counts_once(app, staff, make_patient):
    from portal.services import billing
    member, friend = make_patient(name="会员甲"), make_patient(name="朋友乙")
    pay(app, staff, member, 5000 * YUAN)
    on = date(2026, 3, 2)
    use = benefits.use(member, "scaling", staff["frontdesk"], on, beneficiary=friend)
    assert use.transferred and use.registration_waived and use.beneficiary_id == friend.id
    assert use in benefits.uses_of(friend) and use in benefits.uses_of(member)
    assert {b["kind"]: b for b in benefits.left_this_year(member, "senior", on)}["scaling"]["left"] == 0
    assert {b["kind"]: b for b in benefits.left_this_year(member, "senior", on)}["scaling"]["quantity"] == 1
    bill = billing.open_bill(friend, staff["frontdesk"], app.config, on)
    reg = [x for x in bill.lines if x.kind == "registration"]
    assert reg and reg[0].amount_fen == 0


def test_last_benefit_used_once_even_if_two_desks_try(app, staff, make_patient):
    """The guard is in SQL (`used < quantity`): a stale read cannot use it twice."""
    p = make_patient()
    pay(app, staff, p, 5000 * YUAN)
    on = date(2026, 3, 2)
    benefits.ensure_grants(p, on)
    grant = BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.kind == "facial")
    first = BenefitGrant.update(used=BenefitGrant.used + 1).where(
        BenefitGrant.id == grant.id, BenefitGrant.used < BenefitGrant.quantity).execute()
    second = BenefitGrant.update(used=BenefitGrant.used + 1).where(
        BenefitGrant.id == grant.id, BenefitGrant.used < BenefitGrant.quantity).execute()
    assert (first, second) == (1, 0)
    with pytest.raises(ServiceError):
        benefits.use(p, "facial", staff["frontdesk"], on)


def test_plan_b_redeems_points_at_catalogue_prices(app, staff, make_patient):
    from portal.services import member_settings
    p = make_patient()
    ledger.earn(p, 7000, "adjustment", staff["manager"], date(2026, 3, 2), note="test")
    with pytest.raises(ServiceError):
        benefits.redeem_points(p, "scaling", staff["consultant"], app.config)  # plan A by default
    member_settings.save(app.config, {"plan": "B"}, staff["manager"])
    with pytest.raises(ServiceError):  # not yet at the redemption point (1,000 points in one payment)
        benefits.redeem_points(p, "scaling", staff["consultant"], app.config)
    pay(app, staff, p, 1000 * YUAN)
    benefits.redeem_points(p, "scaling", staff["consultant"], app.config)
    assert ledger.balance(p) == 3000
    benefits.redeem_points(p, "sealant", staff["consultant"], app.config, teeth=1)
    assert ledger.balance(p) == 1000
    with pytest.raises(ServiceError):
        benefits.redeem_points(p, "facial", staff["consultant"], app.config)
    assert ledger.balance(p) == ledger.ledger_sum(p) == 1000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=1, max_value=2_600_000), min_size=1, max_size=5))
def test_tier_is_the_rule_applied_to_the_history(app, staff, make_patient, amounts):
    p = make_patient()
    expected, total = "", 0
    for a in amounts:
        pay(app, staff, p, a)
        total += a
        t, _ = tiers.tier_for(a, total)
        expected = t if tiers.rank(t) > tiers.rank(expected) else expected
    m = Membership.get(Membership.patient == p)
    assert m.tier == expected and m.points == ledger.ledger_sum(p) >= 0


def test_two_desks_redeeming_the_last_benefit_at_once(app, staff, make_patient):
    """Two threads, two connections, one benefit left: exactly one use succeeds."""
    import threading

    from portal.db import db
    p = make_patient()
    pay(app, staff, p, 5000 * YUAN)
    on = date(2026, 3, 2)
    benefits.ensure_grants(p, on)
    barrier, results = threading.Barrier(2), []

    def desk(who):
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                benefits.use(p, "facial", staff[who], on)
                results.append("ok")
            except ServiceError:
                results.append("refused")
            finally:
                db.close()
    threads = [threading.Thread(target=desk, args=(w,)) for w in ("frontdesk", "consultant")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.kind == "facial").used == 1
