"""The points ledger (积分): append-only entries, each with a reason and who made it.

Earning rows are lots spent first-in first-out. Under plan A (seed 002: 积分采用终生制) points are
for life and cannot pay; under plan B a lot expires `points_valid_months` (12) after it was earned
(seed 002: 积分有效期限为一年). A lot keeps the expiry of the plan it was earned under.
The balance on the member's card always equals the ledger's sum and is never negative.
"""
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from peewee import JOIN

from portal.db import unit_of_work
from portal.models import Membership, Patient, PointEntry, utcnow
from portal.services import ServiceError

REASON_LABELS = {"payment": _l("Payment"), "refund": _l("Refund"), "redemption": _l("Redemption"),
                 "referral": _l("Referral"), "birthday": _l("Birthday"), "expiry": _l("Expired"),
                 "adjustment": _l("Adjustment")}


def expiry_for(earned_on: date, months: int = 12) -> date:
    """`months` after earning, on the same day of the month or the month's last day (29 February
    earns until 28 February a year later)."""
    import calendar
    y, m = divmod(earned_on.month - 1 + months, 12)
    year, month = earned_on.year + y, m + 1
    return earned_on.replace(year=year, month=month, day=min(earned_on.day, calendar.monthrange(year, month)[1]))


def expiry_under_plan(earned_on: date, config=None) -> date | None:
    """None (for life) under plan A; under plan B the configured validity."""
    from portal.services import member_settings as settings
    values = settings.all_settings(config)
    return expiry_for(earned_on, values["points_valid_months"]) if values["plan"] == "B" else None


def can_redeem(patient, config=None) -> bool:
    """Plan B redemption point (seed 002 B方案: 一次性消费满1000分或累计积分达到2000分为兑换点): one
    payment (a bill, however split) earned enough points, or all payments together did."""
    from peewee import fn

    from portal.models import Payment
    from portal.services import member_settings as settings
    values = settings.all_settings(config)
    pid = getattr(patient, "id", patient)
    per_bill = [s for (s,) in Payment.select(fn.SUM(Payment.points_earned)).where(
        Payment.patient == pid, Payment.kind == "payment", Payment.state == "done").group_by(Payment.bill).tuples()]
    return (max(per_bill, default=0) or 0) >= values["redeem_single_points"] or \
        sum(x or 0 for x in per_bill) >= values["redeem_cumulative_points"]


def balance(patient) -> int:
    m = Membership.get_or_none(Membership.patient == patient)
    return m.points if m else 0


def ledger_sum(patient) -> int:
    from peewee import fn
    return PointEntry.select(fn.COALESCE(fn.SUM(PointEntry.delta), 0)).where(PointEntry.patient == patient).scalar()


def _bump(patient_id: int, delta: int) -> None:
    from portal.services.tiers import membership_of
    m = membership_of(Patient.get_by_id(patient_id))
    updated = Membership.update(points=Membership.points + delta).where(
        Membership.id == m.id, Membership.points + delta >= 0).execute()
    if updated != 1:
        raise ServiceError(_l("Not enough points."), field="points")


def earn(patient, points: int, reason: str, actor, today: date, note: str = "", payment=None,
         key: str | None = None, at=None, config=None) -> PointEntry | None:
    """A new lot, expiring as the plan in force says. With a key, earning twice for the same thing is
    a no-op (returns None)."""
    if points <= 0:
        return None
    with unit_of_work():
        if key and PointEntry.select().where(PointEntry.unique_key == key).exists():
            return None
        entry = PointEntry.create(patient=patient, delta=points, reason=reason, note=note[:200], payment=payment,
                                  expires_on=expiry_under_plan(today, config), remaining=points, unique_key=key,
                                  created_by=actor, created_at=at or utcnow())
        _bump(entry.patient_id, points)
    return entry


def _take_fifo(patient_id: int, points: int, prefer_payment=None) -> None:
    lots = PointEntry.select().where(PointEntry.patient == patient_id, PointEntry.remaining > 0)
    # Lots that expire go first (soonest first); lifetime lots (plan A) last.
    ordered = sorted(lots, key=lambda e: (e.payment_id != getattr(prefer_payment, "id", -1),
                                          e.expires_on or date.max, e.id))
    left = points
    for lot in ordered:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        PointEntry.update(remaining=PointEntry.remaining - take).where(
            PointEntry.id == lot.id, PointEntry.remaining >= take).execute()
        left -= take


def spend(patient, points: int, reason: str, actor, note: str = "", payment=None, key: str | None = None,
          cap_at_balance: bool = False) -> PointEntry | None:
    """Take points, oldest lots first. `cap_at_balance` (refunds) takes what is there, never below zero."""
    if points <= 0:
        return None
    with unit_of_work():
        if key and PointEntry.select().where(PointEntry.unique_key == key).exists():
            return None
        pid = getattr(patient, "id", patient)
        if cap_at_balance:
            _bump(pid, 0)  # takes the card's row lock first (PostgreSQL), so the balance read next is current
            points = min(points, balance(pid))
            if points <= 0:
                return None
        _bump(pid, -points)
        _take_fifo(pid, points, prefer_payment=payment)
        return PointEntry.create(patient=pid, delta=-points, reason=reason, note=note[:200], payment=payment,
                                 unique_key=key, created_by=actor, created_at=utcnow())


def adjust(patient, points: int, reason_text: str, actor, today: date, config=None) -> PointEntry | None:
    """A manual correction: a reason is required; a deduction cannot go below zero."""
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise ServiceError(_l("Say why the points change."), field="reason")
    if points == 0:
        raise ServiceError(_l("Enter a number of points other than zero."), field="points")
    if points > 0:
        return earn(patient, points, "adjustment", actor, today, note=reason_text, config=config)
    return spend(patient, -points, "adjustment", actor, note=reason_text)


def expire_due(today: date, actor=None) -> int:
    """The daily run: every lot past its date loses what is left of it. Safe to run twice:
    each lot's expiry entry has its own key, and an expired lot has nothing left."""
    done = 0
    for lot in PointEntry.select().where(PointEntry.expires_on <= today, PointEntry.remaining > 0):
        with unit_of_work():
            fresh = PointEntry.get_by_id(lot.id)
            if fresh.remaining <= 0:
                continue
            key = f"expire:{lot.id}"
            if PointEntry.select().where(PointEntry.unique_key == key).exists():
                continue
            PointEntry.update(remaining=0).where(PointEntry.id == lot.id).execute()
            _bump(lot.patient_id, -fresh.remaining)
            PointEntry.create(patient=lot.patient_id, delta=-fresh.remaining, reason="expiry", unique_key=key,
                              note=str(_l("Earned %(d)s", d=lot.created_at.date().isoformat())), created_by=actor)
            done += 1
    return done


def remind_expiring(today: date, config, days: int) -> list[int]:
    """One message per patient and expiry date for points running out within `days`."""
    from portal.notify.outbox import queue
    ids = []
    horizon = today + timedelta(days=days)
    rows = (PointEntry.select(PointEntry.patient, PointEntry.expires_on)
            .where(PointEntry.remaining > 0, PointEntry.expires_on > today, PointEntry.expires_on <= horizon)
            .group_by(PointEntry.patient, PointEntry.expires_on))
    for row in rows:
        patient = Patient.get_by_id(row.patient_id)
        with unit_of_work():
            ids.append(queue(patient, "points_expiring", utcnow(), f"ptsexp:{row.patient_id}:{row.expires_on}",
                             config, context={"date": row.expires_on.isoformat()}))
    return [i for i in ids if i]


def history(patient, limit: int = 100) -> list[PointEntry]:
    from portal.models import Staff
    return list(PointEntry.select(PointEntry, Staff).join(Staff, JOIN.LEFT_OUTER, on=(PointEntry.created_by == Staff.id))
                .where(PointEntry.patient == patient)
                .order_by(PointEntry.created_at.desc(), PointEntry.id.desc()).limit(limit))
