"""Money and quotas under races (issue 12): 16 desks (or 16 double clicks) at once, each with its own
connection, and the invariants hold on SQLite and PostgreSQL — one refund, one use of the last
benefit, a points balance never below zero, a gift stock never below zero, a bill that is paid
stays paid in full. Losers get a refusal (409/422 through the routes), never a 303 that looks like
success, and nothing half-written."""
import time

from peewee import fn

from portal.models import (AuditEvent, BenefitGrant, BenefitUse, Bill, BillLine, DeskTask, GiftItem, GiftMovement,
                           Membership, Patient, Payment, Procedure, new_code)
from portal.services import benefits, billing, gifts, member_settings
from portal.services import points as ledger
from tests.conftest import sign_in
from tests.races import race as run_together
from tests.members_helpers import bill_of, join, pay

N = 16


def race(app, attempt, n=N):
    """n desks at once (tests/races.py); returns (results, errors)."""
    return run_together(app, n, attempt)


def clients(app, person, n=N):
    return [sign_in(app.test_client(), person) for _ in range(n)]


def statuses(results):
    return sorted(r.status_code for r in results)


def test_sixteen_refunds_of_one_payment_refund_once(app, staff, make_patient):
    p = make_patient()
    bill, (payment,) = pay(app, staff, p, 100000)
    desks = clients(app, staff["manager"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/payments/{payment.code}/refund",
                                                        data={"amount": "1000", "reason": "double click"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    refunds = list(Payment.select().where(Payment.refund_of == payment))
    assert len(refunds) == 1 and sum(r.amount_fen for r in refunds) <= payment.amount_fen
    assert AuditEvent.select().where(AuditEvent.object_type == "refund").count() == 1
    loser = next(r for r in results if r.status_code == 409).get_data(as_text=True)
    assert "Demo manager" in loser  # who refunded it
    m = Membership.get(Membership.patient == p)
    assert m.paid_total_fen == 0 and m.points >= 0 and m.points == ledger.ledger_sum(p)


def test_sixteen_refunds_through_the_service_never_exceed_the_payment(app, staff, make_patient):
    """Partial refunds of ¥100 against a ¥1,000 payment: ten at most, whatever the interleaving."""
    p = make_patient()
    bill, (payment,) = pay(app, staff, p, 100000)
    results, errors = race(app, lambda i: billing.refund(payment, 10000, "part", staff["manager"], app.config))
    assert errors == []
    done = [r for r in results if isinstance(r, Payment)]
    assert len(done) == 10
    assert sum(r.amount_fen for r in Payment.select().where(Payment.refund_of == payment)) == payment.amount_fen


def test_sixteen_uses_of_the_last_yearly_scaling_succeed_once(app, staff, make_patient):
    from tests.clock import clinic_today
    p = make_patient()
    pay(app, staff, p, 1200000)  # VIP: two scalings a year
    with app.app_context():
        benefits.use(p, "scaling", staff["frontdesk"], clinic_today(), config=app.config)
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/{p.code}/benefits", data={"kind": "scaling"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    grant = BenefitGrant.get(BenefitGrant.patient == p, BenefitGrant.kind == "scaling", BenefitGrant.once == False)  # noqa: E712
    assert grant.used == grant.quantity == 2
    assert BenefitUse.select().where(BenefitUse.member == p, BenefitUse.kind == "scaling").count() == 2
    assert AuditEvent.select().where(AuditEvent.object_type == "benefit_use").count() == 2


def _plan_b_member(app, staff, make_patient):
    member_settings.save(app.config, {"plan": "B"}, staff["manager"])
    p = make_patient()
    pay(app, staff, p, 1200000)  # 12,000 points, past the redemption point
    assert ledger.balance(p) == 12000
    return p


def test_sixteen_plan_b_redemptions_never_take_the_balance_below_zero(app, staff, make_patient):
    p = _plan_b_member(app, staff, make_patient)  # scaling costs 5,000 points: two fit
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/{p.code}/benefits", data={"kind": "scaling"}))
    assert errors == []
    assert statuses(results) == [303] * 2 + [422] * (N - 2)
    assert ledger.balance(p) == 2000 == ledger.ledger_sum(p)
    assert BenefitUse.select().where(BenefitUse.member == p).count() == 2
    assert PointLots.remaining(p) == 2000


class PointLots:
    @staticmethod
    def remaining(p):
        from portal.models import PointEntry
        return PointEntry.select(fn.COALESCE(fn.SUM(PointEntry.remaining), 0)).where(PointEntry.patient == p).scalar()


def test_sixteen_bills_paid_with_points_never_take_the_balance_below_zero(app, staff, make_patient):
    p = _plan_b_member(app, staff, make_patient)
    bills = [bill_of(app, staff, p, 5000) for _ in range(N)]
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/bills/{bills[i].code}/payments",
                                                        data={"amount_points": "50"}))
    assert errors == []
    assert statuses(results) == [303] * 2 + [422] * (N - 2)
    assert ledger.balance(p) == 2000 == ledger.ledger_sum(p) == PointLots.remaining(p)
    assert Payment.select().where(Payment.method == "points").count() == 2
    assert Bill.select().where(Bill.id.in_([b.id for b in bills]), Bill.status == "paid").count() == 2


def test_sixteen_issues_of_the_last_gift_issue_one(app, staff, make_patient):
    item = gifts.create_item("牙刷", 0, 0, staff["manager"])
    gifts.stock_in(item, 1, "bought", staff["manager"])
    patients = [make_patient(name="礼" + "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"[i], phone=f"1371000{i:04d}") for i in range(N)]
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/gifts/{item.code}", data={
        "action": "issue", "patient": patients[i].chart_no, "reason": "birthday"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert GiftItem.get_by_id(item.id).stock == 0
    assert GiftMovement.select().where(GiftMovement.item == item, GiftMovement.kind == "issue").count() == 1


def test_sixteen_desks_close_one_gift_task_with_the_last_gifts_once(app, staff, make_patient):
    p = make_patient()
    item = gifts.create_item("礼盒", 0, 0, staff["manager"])
    gifts.stock_in(item, 5, "bought", staff["manager"])
    task = DeskTask.create(code=new_code(), patient=p, kind="tier_gift", unique_key="t1", detail="Reached VIP")
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/tasks/{task.code}/done", data={"item": item.code}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert GiftItem.get_by_id(item.id).stock == 4
    assert GiftMovement.select().where(GiftMovement.item == item, GiftMovement.kind == "issue").count() == 1


def test_a_weekly_count_racing_issues_keeps_the_shelf_figure(app, staff, make_patient):
    """The count says what is on the shelf at the moment it is saved: issues that land before it
    are in the count, issues after it come off it — the book never drifts from the shelf."""
    item = gifts.create_item("漱口水", 0, 0, staff["manager"])
    gifts.stock_in(item, 20, "bought", staff["manager"])
    p = make_patient()

    def attempt(i):
        if i == 0:
            return gifts.count(GiftItem.get_by_id(item.id), 20, staff["manager"])
        return gifts.issue(item, p, "gift", staff["frontdesk"])

    results, errors = race(app, attempt)
    assert errors == []
    moves = list(GiftMovement.select().where(GiftMovement.item == item).order_by(GiftMovement.id))
    stock = GiftItem.get_by_id(item.id).stock
    assert stock == sum(m.delta for m in moves) >= 0
    after_count = [m for m in moves[[m.kind for m in moves].index("count"):] if m.kind == "issue"]
    assert stock == 20 - len(after_count)


def test_sixteen_payments_of_one_bill_pay_it_once(app, staff, make_patient):
    p = make_patient()
    join(app, staff, p)
    bill = bill_of(app, staff, p, 30000)
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/bills/{bill.code}/payments",
                                                        data={"amount_cash": "300"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert Payment.select().where(Payment.bill == bill).count() == 1
    t = billing.totals(Bill.get_by_id(bill.id))
    assert t.paid == t.charges == 30000
    assert Membership.get(Membership.patient == p).paid_total_fen == 30000


def test_charges_and_adjustments_racing_the_payment_never_reopen_a_paid_bill(app, staff, make_patient):
    """One desk takes the balance while fifteen add lines: either a line is in before the payment
    (and the payment is refused as short or too much) or it is refused: a paid bill has nothing due."""
    p = make_patient()
    join(app, staff, p)
    bill = bill_of(app, staff, p, 30000)
    proc = Procedure.create(code="RACE1", name_zh="洁治", name_en="Scaling", department="periodontal",
                            price_fen=10000)

    def attempt(i):
        if i == 0:
            return billing.take_payment(bill, [("cash", 30000, "")], staff["frontdesk"], app.config)
        time.sleep(0.05 * (i % 4))  # some land before the payment, some after it (on a page loaded before)
        if i % 2:
            return billing.add_charge(bill, proc, staff["frontdesk"], app.config, bill.created_at.date())
        return billing.add_adjustment(bill, 500, "extra", staff["manager"], app.config)

    for _round in range(3):
        results, errors = race(app, attempt)
        assert errors == []
        b = Bill.get_by_id(bill.id)
        t = billing.totals(b)
        if b.status == "paid":
            assert t.due == 0 and t.charges == t.paid, (t, _round)
            later = BillLine.select().where(BillLine.bill == bill, BillLine.created_at > b.paid_at).count()
            assert later == 0
            return
        bill = bill_of(app, staff, p, 30000)


def test_sixteen_managers_decide_one_adjustment_once(app, staff, make_patient):
    p = make_patient()
    bill = bill_of(app, staff, p, 30000)
    line = billing.add_adjustment(bill, -25000, "goodwill", staff["frontdesk"], app.config)
    assert line.state == "pending"
    desks = clients(app, staff["manager"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/lines/{line.code}/decide", data={
        "decision": "approve" if i % 2 else "reject"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert AuditEvent.select().where(AuditEvent.object_type == "bill_line", AuditEvent.object_ref == line.code,
                                     AuditEvent.detail.contains('"approved"')).count() == 1  # one decision
    loser = next(r for r in results if r.status_code == 409).get_data(as_text=True)
    assert "Demo manager" in loser


def test_sixteen_managers_decide_one_refund_once(app, staff, make_patient):
    p = make_patient()
    bill, (payment,) = pay(app, staff, p, 100000)
    row = billing.refund(payment, 50000, "unhappy", staff["frontdesk"], app.config)
    assert row.state == "pending"
    desks = clients(app, staff["manager"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/payments/{row.code}/decide", data={
        "decision": "approve"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert Membership.get(Membership.patient == p).paid_total_fen == 50000
    assert Patient.get_by_id(p.id).id == p.id


def test_sixteen_desks_record_one_join(app, staff, make_patient):
    from tests.members_helpers import id_for
    p = make_patient()
    desks = clients(app, staff["frontdesk"])
    results, errors = race(app, lambda i: desks[i].post(f"/members/{p.code}/join", data={
        "consent": "yes", "id_number": id_for(p.birth_date), "address": "北京市东城区东华门大街 1 号"}))
    assert errors == []
    assert statuses(results) == [303] + [409] * (N - 1)
    assert AuditEvent.select().where(AuditEvent.object_type == "member_join").count() == 1
