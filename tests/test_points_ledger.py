"""The points ledger: FIFO expiry one year after earning (plan B; plan A points are for life),
idempotent daily run, refunds, referrals."""
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from portal.models import OutboxMessage, PointEntry, Referral
from portal.services import ServiceError, billing, referrals
from portal.services import points as ledger
from tests.members_helpers import bill_of, pay


def plan_b(app, staff):
    from portal.services import member_settings
    member_settings.save(app.config, {"plan": "B"}, staff["manager"])


def test_one_point_per_yuan_and_none_on_points_paid(app, staff, make_patient):
    plan_b(app, staff)
    p = make_patient()
    bill, payments = pay(app, staff, p, 123456)  # ¥1,234.56 → 1,234 points
    assert payments[0].points_earned == 1234 and ledger.balance(p) == 1234
    bill = bill_of(app, staff, p, 50000)
    billing.take_payment(bill, [("points", 1000, ""), ("wechat", 49000, "wx1")], staff["frontdesk"], app.config)
    assert ledger.balance(p) == 1234 - 1000 + 490  # 1,000 points paid ¥10; ¥490 earned 490
    assert billing.totals(bill).due == 0


def test_fifo_spending_and_expiry_one_year_after_earning(app, staff, make_patient):
    plan_b(app, staff)
    p = make_patient()
    first = ledger.earn(p, 100, "adjustment", staff["manager"], date(2025, 1, 10), note="a")
    second = ledger.earn(p, 50, "adjustment", staff["manager"], date(2025, 6, 1), note="b")
    ledger.spend(p, 120, "redemption", staff["consultant"])
    assert PointEntry.get_by_id(first.id).remaining == 0 and PointEntry.get_by_id(second.id).remaining == 30
    assert ledger.expire_due(date(2026, 5, 31)) == 0
    assert ledger.expire_due(date(2026, 6, 1)) == 1
    assert ledger.expire_due(date(2026, 6, 1)) == 0  # the daily run is safe twice
    assert ledger.balance(p) == ledger.ledger_sum(p) == 0
    assert PointEntry.select().where(PointEntry.patient == p, PointEntry.reason == "expiry").count() == 1


def test_expiry_reminder_queued_once(app, staff, make_patient):
    plan_b(app, staff)
    p = make_patient(consents={"reminders": True})
    ledger.earn(p, 100, "adjustment", staff["manager"], date(2025, 6, 20), note="a")
    assert len(ledger.remind_expiring(date(2026, 6, 1), app.config, 30)) == 1
    assert ledger.remind_expiring(date(2026, 6, 1), app.config, 30) == []
    assert OutboxMessage.select().where(OutboxMessage.template == "points_expiring").count() == 1


def test_refund_reverses_points_never_below_zero(app, staff, make_patient):
    p = make_patient()
    bill, (payment,) = pay(app, staff, p, 100000)  # 1,000 points
    row = billing.refund(payment, 40000, "partly unused", staff["manager"], app.config)
    assert row.state == "done" and ledger.balance(p) == 600
    ledger.spend(p, 550, "redemption", staff["consultant"])
    billing.refund(payment, 60000, "rest", staff["manager"], app.config)
    assert ledger.balance(p) == 0 == ledger.ledger_sum(p)  # wanted 600 back, only 50 were left
    with pytest.raises(ServiceError):
        billing.refund(payment, 1, "more", staff["manager"], app.config)


def test_refund_above_limit_waits_for_manager(app, staff, make_patient):
    p = make_patient()
    bill, (payment,) = pay(app, staff, p, 100000)
    row = billing.refund(payment, 30000, "cancelled", staff["frontdesk"], app.config)
    assert row.state == "pending" and ledger.balance(p) == 1000
    with pytest.raises(ServiceError):
        billing.decide_refund(row, True, staff["frontdesk"], app.config)
    billing.decide_refund(row, True, staff["manager"], app.config)
    assert ledger.balance(p) == 700
    small = billing.refund(payment, 100, "small", staff["frontdesk"], app.config)
    assert small.state == "done"


def test_referral_rewards_both_sides_once(app, staff, make_patient):
    from tests.members_helpers import join
    old = make_patient(name="老客户")
    join(app, staff, old)  # points go to members only
    new = make_patient(name="新客户")
    new.referred_by = old  # recorded at registration
    new.save()
    pay(app, staff, new, 30000)
    assert ledger.balance(old) == 500 and ledger.balance(new) == 300 + 200
    pay(app, staff, new, 30000)
    assert ledger.balance(old) == 500 and Referral.select().count() == 1
    assert referrals.reward_if_due(new, staff["frontdesk"], app.config, date(2026, 3, 3)) is False
    assert [n["patient"].id for n in referrals.tree(old)] == [new.id]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["pay", "refund", "redeem", "expire"]), st.integers(1, 300000)), max_size=8))
def test_balance_equals_ledger_and_never_negative(app, staff, make_patient, steps):
    p = make_patient()
    payments, day = [], date(2026, 1, 1)
    for op, n in steps:
        day += timedelta(days=90)
        if op == "pay":
            payments += pay(app, staff, p, n, when=datetime.combine(day, datetime.min.time()) + timedelta(hours=3))[1]
        elif op == "refund" and payments:
            left = payments[-1].amount_fen - sum(r.amount_fen for r in payments[-1].refunds)
            if left > 0:
                billing.refund(payments[-1], min(n, left), "x", staff["manager"], app.config)
        elif op == "redeem":
            try:
                ledger.spend(p, n % 2000 + 1, "redemption", staff["consultant"])
            except ServiceError:
                pass
        else:
            ledger.expire_due(day)
        bal = ledger.balance(p)
        assert bal == ledger.ledger_sum(p) >= 0
        assert bal == sum(e.remaining for e in PointEntry.select().where(PointEntry.patient == p, PointEntry.delta > 0))


def test_daily_worker_task_is_idempotent(app, staff, make_patient):
    plan_b(app, staff)
    import tasks
    from portal.services.clock import local_now
    today = local_now(app.config["PORTAL_TZ"]).date()
    p = make_patient(birth_date=today.replace(year=1990) if not (today.month == 2 and today.day == 29) else date(1990, 2, 28),
                     consents={"reminders": True, "marketing": True})
    pay(app, staff, p, 200000)
    ledger.earn(p, 50, "adjustment", staff["manager"], today - timedelta(days=366), note="old")
    with app.app_context():
        first = tasks.membership_daily.call_local()
        second = tasks.membership_daily.call_local()
    assert first["expired"] == 1 and first["greeted"] == 1
    assert second["expired"] == 0 and second["greeted"] == 0 and second["reminded"] == 0
    assert ledger.balance(p) == ledger.ledger_sum(p) == 2000
