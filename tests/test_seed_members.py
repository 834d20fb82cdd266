"""Membership exactly as seed 002 (口腔医院会员制实施方案及管理办法) says: transfers, one-off vs yearly
perks, plans A and B, joining with consent, the Friday gift count, the diamond VIP room, and the
manager's versioned settings."""
from datetime import date, datetime, timedelta

import pytest

from portal.labels import desk_task_text
from portal.models import (BenefitGrant, BenefitUse, BillLine, DeskTask, GiftItem, Membership, OutboxMessage,
                           PointEntry)
from portal.services import ServiceError, benefits, billing, gifts, members, tiers
from portal.services import member_settings as settings
from portal.services import points as ledger
from tests.chart_samples import scaling_procedure
from tests.members_helpers import id_for, join, pay
from tests.schedule_fixtures import clinic  # noqa: F401

YUAN = 100
D = date(2026, 3, 3)


def _grant(p, kind):
    return BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.kind == kind)


def _left(app, p, on):
    return {(b["kind"], b["once"]): b["left"] for b in members.card(p, on, app.config)["benefits"]}


# --- benefit transfer (转赠): a new patient pays no registration fee; the member's count drops once ---

def test_transfer_covered_on_new_patients_bill_waives_registration(app, staff, make_patient):
    member, friend = make_patient(name="会员甲"), make_patient(name="朋友乙")
    pay(app, staff, member, 5000 * YUAN)  # senior: one ultrasonic scaling a year
    bill = billing.open_bill(friend, staff["frontdesk"], app.config, D)  # registration fee charged first
    billing.add_charge(bill, scaling_procedure(steps=[]), staff["frontdesk"], app.config, D)
    line = bill.lines.where(BillLine.kind == "procedure").get()
    use = billing.cover_with_benefit(bill, line, "scaling", staff["frontdesk"], app.config, D, member=member)
    assert use.registration_waived
    assert bill.lines.where(BillLine.kind == "registration").get().amount_fen == 0
    assert billing.totals(bill).due == 0
    assert _grant(member, "scaling").used == 1


def test_transfer_recorded_on_member_page_then_covered_on_bill_counts_once(app, staff, make_patient):
    member, friend = make_patient(name="会员丙"), make_patient(name="朋友丁")
    pay(app, staff, member, 10000 * YUAN)  # VIP: two scalings a year
    benefits.use(member, "scaling", staff["frontdesk"], D, beneficiary=friend)
    bill = billing.open_bill(friend, staff["frontdesk"], app.config, D)
    billing.add_charge(bill, scaling_procedure(steps=[]), staff["frontdesk"], app.config, D)
    line = bill.lines.where(BillLine.kind == "procedure").get()
    billing.cover_with_benefit(bill, line, "scaling", staff["frontdesk"], app.config, D, member=member)
    assert _grant(member, "scaling").used == 1
    assert BenefitUse.select().where(BenefitUse.member == member).count() == 1
    assert bill.lines.where(BillLine.kind == "registration").get().amount_fen == 0
    assert billing.totals(bill).due == 0


def test_transfer_recorded_after_the_new_patients_bill_was_opened_still_waives(app, staff, make_patient):
    member, friend = make_patient(name="会员戊"), make_patient(name="朋友己")
    pay(app, staff, member, 5000 * YUAN)
    bill = billing.open_bill(friend, staff["frontdesk"], app.config, D)
    assert billing.totals(bill).due == 1000
    use = benefits.use(member, "scaling", staff["frontdesk"], D, beneficiary=friend)
    assert use.registration_waived
    assert billing.totals(bill).due == 0


# --- once vs yearly (每年…一次 / 赠送…一次) ---------------------------------------------------------

def test_senior_scaling_is_yearly_but_facial_is_one_off(app, staff, make_patient, clock):
    p = make_patient(name="高级甲")
    pay(app, staff, p, 5000 * YUAN)
    left = _left(app, p, D)
    assert left == {("scaling", False): 1, ("facial", True): 1}  # no yearly gift, no yearly facial
    benefits.use(p, "facial", staff["frontdesk"], D)
    benefits.use(p, "scaling", staff["frontdesk"], D)
    next_year = date(2027, 2, 1)
    assert _left(app, p, next_year) == {("scaling", False): 1, ("facial", True): 0}
    with pytest.raises(ServiceError):
        benefits.use(p, "facial", staff["frontdesk"], next_year)


def test_one_off_perk_not_used_stays_the_next_year(app, staff, make_patient):
    p = make_patient(name="贵宾甲")
    pay(app, staff, p, 10000 * YUAN)  # VIP: facial and herbal once
    assert _left(app, p, D) == {("scaling", False): 2, ("facial", True): 1, ("herbal", True): 1}
    benefits.use(p, "herbal", staff["frontdesk"], date(2027, 5, 1))  # the one-off does not lapse on 31 December
    assert _left(app, p, date(2027, 5, 1))[("herbal", True)] == 0


def test_diamond_facial_herbal_and_child_fluoride_are_yearly(app, staff, make_patient):
    p = make_patient(name="钻石甲", birth_date=date(1985, 1, 1))
    pay(app, staff, p, 20000 * YUAN)
    left = _left(app, p, D)
    assert left[("air_polishing", False)] == 2
    assert left[("facial", False)] == 1 and left[("herbal", False)] == 1
    assert ("gift", False) not in left and ("gift", True) not in left
    benefits.use(p, "facial", staff["frontdesk"], D)
    assert _left(app, p, date(2027, 1, 5))[("facial", False)] == 1


@pytest.mark.parametrize("amount,tier,value", [(1000, "member", "¥10.00"), (5000, "senior", "¥50.00"),
                                               (10000, "vip", "¥100.00"), (20000, "diamond", "¥200.00")])
def test_tier_gift_value_by_tier_handed_once(app, staff, make_patient, amount, tier, value):
    p = make_patient(name="礼品甲")
    pay(app, staff, p, amount * YUAN)
    tasks = list(DeskTask.select().where(DeskTask.patient == p, DeskTask.kind == "tier_gift"))
    assert len(tasks) == 1
    with app.test_request_context():  # stored as a key, read in the reader's language (portal.labels)
        assert value in desk_task_text(tasks[0])
    benefits.ensure_grants(p, date(2027, 1, 5), app.config)
    assert not BenefitGrant.select().where(BenefitGrant.patient == p, BenefitGrant.kind == "gift").exists()


# --- plans A and B -----------------------------------------------------------------------------------

def test_plan_a_has_no_tier_discount_unless_configured(app, staff, make_patient):
    p = make_patient(name="折扣甲")
    pay(app, staff, p, 10000 * YUAN)
    bill = billing.open_bill(p, staff["frontdesk"], app.config, D)
    billing.add_charge(bill, scaling_procedure(steps=[]), staff["frontdesk"], app.config, D)
    assert not bill.lines.where(BillLine.kind == "discount").exists()
    settings.save(app.config, {"discount_vip_pct": "10"}, staff["manager"])
    billing.add_charge(bill, scaling_procedure(steps=[]), staff["frontdesk"], app.config, D)
    assert [x.amount_fen for x in bill.lines.where(BillLine.kind == "discount")] == [-2880]


def test_plan_a_points_are_for_life_and_cannot_pay(app, staff, make_patient):
    p = make_patient(name="终生甲")
    pay(app, staff, p, 3000 * YUAN)
    lot = PointEntry.get(PointEntry.patient == p, PointEntry.reason == "payment")
    assert lot.expires_on is None
    assert ledger.expire_due(date(2030, 1, 1)) == 0 and ledger.balance(p) == 3000
    bill = billing.open_bill(p, staff["frontdesk"], app.config, D)
    billing.add_adjustment(bill, 500, "x", staff["manager"], app.config)
    with pytest.raises(ServiceError):
        billing.take_payment(bill, [("points", 500, "")], staff["frontdesk"], app.config)


def test_plan_b_points_expire_and_redeem_needs_1000_at_once_or_2000_accumulated(app, staff, make_patient):
    settings.save(app.config, {"plan": "B"}, staff["manager"])
    p = make_patient(name="兑换甲")
    pay(app, staff, p, 900 * YUAN)
    lot = PointEntry.get(PointEntry.patient == p, PointEntry.reason == "payment")
    assert lot.expires_on == date(2027, 3, 2)
    ledger.adjust(p, 6000, "gift of points", staff["manager"], D, app.config)
    with pytest.raises(ServiceError):
        benefits.redeem_points(p, "scaling", staff["frontdesk"], app.config)
    pay(app, staff, p, 1000 * YUAN)  # one payment of 1,000 points: the redemption point
    benefits.redeem_points(p, "scaling", staff["frontdesk"], app.config)
    assert ledger.balance(p) == 900 + 6000 + 1000 - 5000
    q = make_patient(name="兑换乙")
    for _ in range(3):
        pay(app, staff, q, 700 * YUAN)  # 2,100 accumulated
    benefits.redeem_points(q, "fluoride_child", staff["frontdesk"], app.config)


def test_plan_b_prices_and_validity_come_from_settings(app, staff, make_patient):
    settings.save(app.config, {"plan": "B", "price_b_scaling": "4000", "points_valid_months": "6"}, staff["manager"])
    p = make_patient(name="兑换丙")
    pay(app, staff, p, 5000 * YUAN)
    assert PointEntry.get(PointEntry.patient == p, PointEntry.reason == "payment").expires_on == date(2026, 9, 2)
    benefits.redeem_points(p, "scaling", staff["frontdesk"], app.config)
    assert ledger.balance(p) == 1000


# --- joining: consent and registration details ---------------------------------------------------------

def test_without_consent_the_patient_pays_and_earns_nothing(app, staff, make_patient):
    p = make_patient(name="未入会")
    pay(app, staff, p, 6000 * YUAN, joined=False)
    m = Membership.get(Membership.patient == p)
    assert m.tier == "" and ledger.balance(p) == 0 and m.joined_at is None
    assert not DeskTask.select().where(DeskTask.patient == p).exists()
    with pytest.raises(ServiceError):
        members.join(p, staff["frontdesk"], app.config, consent=False, id_number=id_for(p.birth_date), address="北京")
    with pytest.raises(ServiceError):
        members.join(p, staff["frontdesk"], app.config, consent=True, id_number="", address="北京")
    with pytest.raises(ServiceError):
        members.join(p, staff["frontdesk"], app.config, consent=True, id_number=id_for(p.birth_date), address="")
    join(app, staff, p)
    m = Membership.get(Membership.patient == p)
    assert m.joined_at is not None and m.tier == "senior"  # the 6,000 paid in one go before joining counts
    assert ledger.balance(p) == 0  # points only from joining on
    pay(app, staff, p, 100 * YUAN)
    assert ledger.balance(p) == 100


def test_join_form_on_member_card(app, staff, make_patient, as_role):
    p = make_patient(name="入会页")
    client = as_role("frontdesk")
    page = client.get(f"/members/{p.code}").get_data(as_text=True)
    assert 'name="consent"' in page
    r = client.post(f"/members/{p.code}/join", data={"consent": "yes", "id_number": id_for(p.birth_date),
                                                     "address": "上海市黄浦区 1 号"})
    assert r.status_code == 303
    assert Membership.get(Membership.patient == p).joined_at is not None


# --- gifts are counted on Friday ------------------------------------------------------------------

def test_friday_count_reconciles_the_week(app, staff, clock):
    item = gifts.create_item("牙刷", 0, 0, staff["manager"])
    gifts.stock_in(item, 10, "bought", staff["manager"])
    clock.set("2026-06-12 16:00")  # Friday
    gifts.count(GiftItem.get_by_id(item.id), 10, staff["manager"])
    monday = date(2026, 6, 8)
    assert gifts.week_report(monday, app.config["PORTAL_TZ"])[0]["counted"]
    clock.set("2026-06-13 09:00")
    assert gifts.weekly_check(app.config, date(2026, 6, 13)) == []


@pytest.mark.clock("2026-06-10 10:00")  # counted on a Wednesday
def test_a_count_on_another_day_is_not_the_friday_count(app, staff, clock):
    item = gifts.create_item("漱口水", 0, 0, staff["manager"])
    gifts.stock_in(item, 10, "bought", staff["manager"])
    gifts.count(GiftItem.get_by_id(item.id), 10, staff["manager"])  # Wednesday 10 June
    assert not gifts.week_report(date(2026, 6, 8), app.config["PORTAL_TZ"])[0]["counted"]
    assert gifts.weekly_check(app.config, date(2026, 6, 11)) == []  # Thursday: Friday not come yet
    clock.set("2026-06-13 09:00")
    assert len(gifts.weekly_check(app.config, date(2026, 6, 13))) == 1
    assert gifts.weekly_check(app.config, date(2026, 6, 14)) == []  # once per Friday
    msg = OutboxMessage.select().where(OutboxMessage.staff == staff["manager"]).get()
    assert "2026-06-12" in msg.context


# --- the diamond member always gets the VIP room -------------------------------------------------

def test_diamond_member_is_offered_the_vip_chair(app, staff, make_patient, clinic):  # noqa: F811
    from portal.services.schedule import free_slots
    p = make_patient(name="钻石乙")
    pay(app, staff, p, 20000 * YUAN)
    vip_chair = next(c for c in clinic["chairs"] if c.is_vip)
    assert tiers.always_vip_room(p)
    slots = free_slots(staff["doctor"], 30, clinic["at"](9), app.config, days=1, limit=1, patient=p)
    assert slots[0].chair_id == vip_chair.id
    q = make_patient(name="普通丙")
    assert free_slots(staff["doctor"], 30, clinic["at"](9), app.config, days=1, limit=1, patient=q)[0].chair_id != vip_chair.id


# --- the manager's settings: validated and versioned ------------------------------------------------

def test_thresholds_edited_on_screen_apply_and_are_versioned(app, staff, make_patient):
    with pytest.raises(ServiceError):  # senior must stay above member
        settings.save(app.config, {"tier_senior_single_fen": "50000"}, staff["manager"])
    with pytest.raises(ServiceError):
        settings.save(app.config, {"yearly_senior_scaling": "-1"}, staff["manager"])
    settings.save(app.config, {"tier_member_single_fen": "50000"}, staff["manager"])
    p = make_patient(name="阈值甲")
    pay(app, staff, p, 500 * YUAN)
    assert Membership.get(Membership.patient == p).tier == "member"
    rows = settings.history()
    assert [(r.key, r.old_value, r.new_value, r.changed_by_id) for r in rows] == [
        ("tier_member_single_fen", "100000", "50000", staff["manager"].id)]


def test_perks_per_tier_are_settings(app, staff, make_patient):
    settings.save(app.config, {"yearly_senior_scaling": "3", "once_senior_facial": "0"}, staff["manager"])
    p = make_patient(name="权益甲")
    pay(app, staff, p, 5000 * YUAN)
    assert _left(app, p, D) == {("scaling", False): 3}


def test_settings_page_shows_history(app, staff, as_role):
    client = as_role("manager")
    r = client.post("/members/settings", data={"gift_value_senior_fen": "6000"})
    assert r.status_code == 303
    page = client.get("/members/settings").get_data(as_text=True)
    assert "gift_value_senior_fen" in page and "5000" in page and "6000" in page and staff["manager"].display_name in page


def test_referral_points_only_for_those_who_joined(app, staff, make_patient):
    from portal.models import Patient
    referrer = make_patient(name="老会员")
    pay(app, staff, referrer, 1000 * YUAN)
    newcomer = make_patient(name="新朋友")
    Patient.update(referred_by=referrer).where(Patient.id == newcomer.id).execute()
    pay(app, staff, Patient.get_by_id(newcomer.id), 300 * YUAN, joined=False)
    assert ledger.balance(referrer) == 1000 + 500
    assert ledger.balance(newcomer) == 0  # not a member: earns nothing as one
