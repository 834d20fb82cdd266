"""Billing at the desk and the members screens: visit charges, discounts, split payments,
approvals, receipts, takings, birthdays, gifts, doctor changes, access and audit."""
from datetime import date, datetime

import pytest

from portal.models import (AuditEvent, Bill, BillLine, DeskTask, DoctorChangeRequest, GiftItem, Membership, OutboxMessage,
                           Patient, Payment)
from portal.services import ServiceError, billing, gifts, members
from portal.services import chart_visits as visits
from tests.chart_samples import scaling_procedure
from tests.members_helpers import bill_of, pay
from tests.statements import statements_of
from tests.clock import clinic_today




def test_bill_from_visit_prices_from_catalogue_with_tier_discount(app, staff, make_patient):
    from portal.models import VisitProcedure, new_code
    from portal.services import member_settings
    member_settings.save(app.config, {"discount_vip_pct": "10"}, staff["manager"])  # none unless configured
    p = make_patient()
    pay(app, staff, p, 1000000)  # VIP: 10% on periodontal work
    proc = scaling_procedure(steps=[])
    visit = visits.open_visit(p, staff["doctor"], date(2026, 3, 3))
    VisitProcedure.create(code=new_code(), visit=visit, procedure=proc, started_by=staff["doctor"], status="completed")
    bill = billing.open_bill(p, staff["frontdesk"], app.config, date(2026, 3, 3), visit=visit)
    kinds = [(x.kind, x.amount_fen) for x in bill.lines.order_by(BillLine.id)]
    assert kinds == [("procedure", 28800), ("discount", -2880)]
    assert billing.open_bill(p, staff["frontdesk"], app.config, date(2026, 3, 3), visit=visit).id == bill.id


def test_birthday_discount_on_the_day_replaces_a_smaller_tier_discount(app, staff, make_patient):
    p = make_patient(birth_date=date(1990, 3, 3))
    pay(app, staff, p, 200000)  # member: 0%
    assert billing.discount_pct(p, "member", "periodontal", date(2026, 3, 3), app.config) == (10, "birthday")
    assert billing.discount_pct(p, "member", "periodontal", date(2026, 3, 4), app.config) == (0, "tier")


def test_split_payment_across_methods(app, staff, make_patient):
    from tests.members_helpers import join
    p = make_patient()
    join(app, staff, p)
    bill = bill_of(app, staff, p, 1200000)
    made = billing.take_payment(bill, [("card", 600000, "c1"), ("wechat", 400000, "w1"), ("alipay", 200000, "a1")],
                                staff["frontdesk"], app.config)
    assert [x.method for x in made] == ["card", "wechat", "alipay"]
    assert Bill.get_by_id(bill.id).status == "paid"
    assert Membership.get(Membership.patient == p).tier == "vip"  # one bill paid in parts is one payment
    with pytest.raises(ServiceError):
        billing.take_payment(bill, [("cash", 1, "")], staff["frontdesk"], app.config)


def test_overpayment_refused(app, staff, make_patient):
    p = make_patient()
    bill = bill_of(app, staff, p, 10000)
    with pytest.raises(ServiceError):
        billing.take_payment(bill, [("cash", 10001, "")], staff["frontdesk"], app.config)


def test_adjustment_above_limit_needs_manager(app, staff, make_patient):
    p = make_patient()
    bill = bill_of(app, staff, p, 100000)
    small = billing.add_adjustment(bill, -20000, "loyal patient", staff["frontdesk"], app.config)
    big = billing.add_adjustment(bill, -20001, "goodwill", staff["frontdesk"], app.config)
    assert (small.state, big.state) == ("approved", "pending")
    with pytest.raises(ServiceError):
        billing.take_payment(bill, [("cash", 100, "")], staff["frontdesk"], app.config)
    with pytest.raises(ServiceError):
        billing.add_adjustment(bill, -100, "  ", staff["frontdesk"], app.config)
    billing.decide_line(big, True, staff["manager"])
    assert billing.totals(bill).charges == 100000 - 20000 - 20001


def test_daily_takings_by_method(app, staff, make_patient):
    p = make_patient()
    when = datetime(2026, 3, 2, 3)
    bill = bill_of(app, staff, p, 50000)
    made = billing.take_payment(bill, [("cash", 20000, ""), ("alipay", 30000, "")], staff["frontdesk"], app.config, now=when)
    billing.refund(made[0], 5000, "x", staff["manager"], app.config, now=when)
    t = billing.daily_takings(date(2026, 3, 2), "Asia/Shanghai")
    assert t["methods"]["cash"]["net"] == 15000 and t["methods"]["alipay"]["net"] == 30000 and t["money_net"] == 45000


def test_birthday_greeting_respects_marketing_consent(app, staff, make_patient):
    today = date(2026, 3, 2)
    yes = make_patient(name="同意", birth_date=date(1990, 3, 2), consents={"reminders": True, "marketing": True})
    no = make_patient(name="不同意", birth_date=date(1991, 3, 2), consents={"reminders": True, "marketing": False})
    for p in (yes, no):
        pay(app, staff, p, 200000)
    members.birthday_run(today, app.config)
    members.birthday_run(today, app.config)  # twice: nothing doubles
    greetings = OutboxMessage.select().where(OutboxMessage.template == "birthday_greeting")
    assert [m.patient_id for m in greetings] == [yes.id]
    assert DeskTask.select().where(DeskTask.kind == "birthday").count() == 2  # both get the gift at the desk


def test_gifts_stock_issue_count_and_low_flag(app, staff, make_patient):
    p = make_patient()
    item = gifts.create_item("电动牙刷", 1, 0, staff["manager"])
    gifts.stock_in(item, 2, "bought", staff["manager"])
    task = DeskTask.create(code="T1", patient=p, kind="tier_gift", unique_key="k1", detail="welcome")
    gifts.issue(GiftItem.get_by_id(item.id), p, "", staff["frontdesk"], task=task)
    assert DeskTask.get_by_id(task.id).status == "done"
    assert gifts.low(gifts.items())[0].id == item.id  # 1 left, flagged at 1
    gifts.count(item, 0, staff["manager"])
    with pytest.raises(ServiceError):
        gifts.issue(GiftItem.get_by_id(item.id), p, "why", staff["frontdesk"])
    row = [r for r in gifts.week_report(clinic_today() - __import__("datetime").timedelta(days=clinic_today().weekday()))][0]
    assert (row["in"], row["issued"], row["difference"]) == (2, 1, -1)


def test_doctor_change_recorded_by_desk_approved_by_manager(app, staff, make_patient):
    from portal.models import Staff
    p = make_patient()
    other = Staff.create(username="doc2", display_name="Doc Two", role="doctor", password_hash="x")
    row = members.request_doctor_change(p, other, "signed request", staff["frontdesk"])
    with pytest.raises(ServiceError):
        members.decide_doctor_change(row, True, staff["frontdesk"])
    members.decide_doctor_change(row, True, staff["manager"])
    assert Patient.get_by_id(p.id).attending_doctor_id == other.id
    assert DoctorChangeRequest.get_by_id(row.id).status == "approved"
    assert AuditEvent.select().where(AuditEvent.object_type == "doctor_change").count() == 2


def test_member_pages_for_desk_and_consultant_audited_and_refused_to_clinicians(app, staff, as_role, make_patient):
    p = make_patient(name="会员丙")
    pay(app, staff, p, 1200000)
    for role in ("frontdesk", "consultant", "manager"):
        client = as_role(role)
        assert client.get("/members").status_code == 200
        page = client.get(f"/members/{p.code}")
        assert page.status_code == 200 and "M" + p.chart_no in page.get_data(as_text=True)
        assert "no-store" in page.headers.get("Cache-Control", "")
    assert AuditEvent.select().where(AuditEvent.object_type == "membership", AuditEvent.patient_id == p.id).count() == 3
    for role in ("doctor", "nurse"):
        assert as_role(role).get(f"/members/{p.code}").status_code == 403
        assert as_role(role).get("/members").status_code == 403


def test_desk_takes_12000_and_sees_vip_gift_and_two_scalings(app, staff, as_role, make_patient):
    from tests.members_helpers import id_for
    p = make_patient(name="大客户")
    desk = as_role("frontdesk")
    assert desk.post(f"/members/{p.code}/join", data={"consent": "yes", "id_number": id_for(p.birth_date),
                                                      "address": "北京市朝阳区 8 号"}).status_code == 303
    desk.post(f"/members/{p.code}/bills")
    bill = Bill.get(Bill.patient == p)
    billing.add_adjustment(bill, 1200000 - 1000, "implant", staff["manager"], app.config)
    resp = desk.post(f"/members/bills/{bill.code}/payments", data={"amount_card": "8000", "amount_wechat": "4,000.00"})
    assert resp.status_code == 303
    assert Payment.select().where(Payment.bill == bill).count() == 2
    page = desk.get(f"/members/{p.code}").get_data(as_text=True)
    assert "VIP member" in page and "2 / 2" in page
    home = desk.get("/").get_data(as_text=True)
    assert "Gifts to hand over" in home and "大客户" in home
    receipt = desk.get(f"/members/bills/{bill.code}/receipt")
    assert receipt.status_code == 200 and "¥12,000.00" in receipt.get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == "receipt").count() == 1


def test_members_list_query_count_is_constant(app, staff, as_role, make_patient):
    client = as_role("frontdesk")
    pay(app, staff, make_patient(name="甲"), 200000)
    few = statements_of(client, "/members")
    for i in range(6):
        pay(app, staff, make_patient(name="乙" + "一二三四五六"[i]), 200000)
    assert statements_of(client, "/members") == few


def test_member_card_and_bill_query_counts_are_constant(app, staff, as_role, make_patient):
    from portal.services import benefits
    client = as_role("frontdesk")
    p, friend = make_patient(name="常客"), make_patient(name="朋友")
    bill, _ = pay(app, staff, p, 500000)
    few = (statements_of(client, f"/members/{p.code}"), statements_of(client, f"/members/bills/{bill.code}"))
    for _ in range(5):
        bill, _ = pay(app, staff, p, 100000)
    benefits.use(p, "scaling", staff["frontdesk"], clinic_today(), beneficiary=friend)
    benefits.use(p, "facial", staff["frontdesk"], clinic_today())
    more = (statements_of(client, f"/members/{p.code}"), statements_of(client, f"/members/bills/{bill.code}"))
    assert more == few


def test_benefit_covers_a_treatment_at_the_visit_and_earns_no_points(app, staff, make_patient):
    from portal.models import BenefitGrant, VisitProcedure, new_code
    from portal.services import points as ledger
    p, friend = make_patient(name="高级甲"), make_patient(name="朋友丁")
    pay(app, staff, p, 500000)  # senior: one scaling a year, 5% off periodontal work
    before = ledger.balance(p)
    proc = scaling_procedure(steps=[])
    visit = visits.open_visit(p, staff["doctor"], date(2026, 3, 3))
    VisitProcedure.create(code=new_code(), visit=visit, procedure=proc, started_by=staff["doctor"], status="completed")
    bill = billing.open_bill(p, staff["frontdesk"], app.config, date(2026, 3, 3), visit=visit)
    line = bill.lines.where(BillLine.kind == "procedure").get()
    billing.cover_with_benefit(bill, line, "scaling", staff["frontdesk"], app.config, date(2026, 3, 3))
    assert billing.totals(bill).due == 0
    with pytest.raises(ServiceError):
        billing.cover_with_benefit(bill, line, "scaling", staff["frontdesk"], app.config, date(2026, 3, 3))
    assert BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.kind == "scaling").used == 1
    assert ledger.balance(p) == before
    # The friend's bill is covered by the member's benefit (a transfer): the friend's record shows it.
    other = billing.open_bill(friend, staff["frontdesk"], app.config, date(2026, 3, 3))
    billing.add_charge(other, proc, staff["frontdesk"], app.config, date(2026, 3, 3))
    with pytest.raises(ServiceError):  # the one scaling of the year is used
        billing.cover_with_benefit(other, other.lines.where(BillLine.kind == "procedure").get(), "scaling",
                                   staff["frontdesk"], app.config, date(2026, 3, 3), member=p)
    q = make_patient(name="高级乙")
    pay(app, staff, q, 500000)
    use = billing.cover_with_benefit(other, other.lines.where(BillLine.kind == "procedure").get(), "scaling",
                                     staff["frontdesk"], app.config, date(2026, 3, 3), member=q)
    assert use.transferred and use.beneficiary_id == friend.id
    assert billing.totals(other).due == 0  # a new patient given a member's benefit pays no registration fee


def test_patient_link_shows_tier_points_and_benefits(app, staff, make_patient):
    from portal.services import members, patient_links
    p = make_patient(name="链接甲")
    assert members.for_patient_link(p, app.config, date(2026, 3, 2)) is None
    pay(app, staff, p, 1200000)
    with app.test_request_context("/"):
        info = members.for_patient_link(p, app.config, date(2026, 3, 2))
        assert str(info["tier"]) == "VIP member" and info["points"] == 12000
        assert {b["kind"] for b in info["benefits"]} == {"scaling", "facial", "herbal"}
        html = app.jinja_env.get_template("members/_link_section.html").render(s={"data": info})
        assert "VIP member" in html and "12,000" in html and "M" + p.chart_no in html
    assert any(key == "membership" for key, *_ in patient_links.SECTIONS)


def test_weekly_gift_check_flags_once_to_managers(app, staff, make_patient):
    item = gifts.create_item("漱口水", 5, 0, staff["manager"])
    gifts.stock_in(item, 2, "bought", staff["manager"])
    monday = clinic_today() - __import__("datetime").timedelta(days=clinic_today().weekday())
    assert len(gifts.weekly_check(app.config, monday)) == 1
    assert gifts.weekly_check(app.config, monday) == []
    assert OutboxMessage.select().where(OutboxMessage.staff == staff["manager"]).count() == 1


def test_vip_members_and_their_referrals_are_vip_at_the_desk(app, staff, make_patient):
    from portal.services.schedule_board import vip_patient_ids
    vip, friend, plain = make_patient(name="贵宾"), make_patient(name="贵宾朋友"), make_patient(name="普通")
    friend.referred_by = vip
    friend.save()
    pay(app, staff, vip, 1000000)
    pay(app, staff, plain, 500000)
    assert vip_patient_ids([vip.id, friend.id, plain.id]) == {vip.id, friend.id}


def test_desk_and_manager_forms_end_to_end(app, staff, as_role, make_patient):
    from portal.models import BillLine as Line
    p = make_patient(name="表单甲")
    desk, manager = as_role("frontdesk"), as_role("manager")
    bill = bill_of(app, staff, p, 100000)
    assert desk.post(f"/members/bills/{bill.code}/adjustments", data={"amount": "-300", "reason": "goodwill"}).status_code == 303
    line = Line.get(Line.bill == bill, Line.state == "pending")
    assert desk.post(f"/members/lines/{line.code}/decide", data={"decision": "approve"}).status_code == 403
    manager.post(f"/members/lines/{line.code}/decide", data={"decision": "approve"})
    assert billing.totals(bill).due == 70000
    desk.post(f"/members/bills/{bill.code}/payments", data={"amount_cash": "200", "amount_alipay": "500.00"})
    assert Bill.get_by_id(bill.id).status == "paid"
    cash = Payment.get(Payment.bill == bill, Payment.method == "alipay")
    desk.post(f"/members/payments/{cash.code}/refund", data={"amount": "250", "reason": "unused"})
    refund = Payment.get(Payment.refund_of == cash)
    assert refund.state == "pending"
    manager.post(f"/members/payments/{refund.code}/decide", data={"decision": "approve"})
    assert Payment.get_by_id(refund.id).state == "done"
    assert manager.post("/members/settings", data={"approval_limit_fen": "50000", "plan": "B"}).status_code == 303
    from portal.services import member_settings
    assert member_settings.get(app.config, "approval_limit_fen") == 50000 and member_settings.get(app.config, "plan") == "B"
    assert desk.post("/members/settings", data={"plan": "A"}).status_code == 403
    assert desk.post(f"/members/bills/{bill.code}/adjustments", data={"amount": "1e9", "reason": "x"}).status_code == 422  # refused
    assert Line.select().where(Line.bill == bill).count() == 3  # a bad amount changed nothing
