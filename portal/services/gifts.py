"""Gifts (礼品): stock in, issue to a patient (who, when, why), a weekly count that reconciles the
book with the shelf; an item at or below its low mark is flagged.

Seed 002 (四、会员礼品管理): 会员礼品每周核对一次(每星期五…核对) — the count is on Friday. A week's
reconciliation is the count made on its Friday (clinic time); after that Friday (the worker checks on
Monday morning) managers are told once which items were not counted that Friday and which are
running out."""
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from peewee import fn

from portal import audit
from portal.db import unit_of_work
from portal.models import DeskTask, GiftItem, GiftMovement, new_code, utcnow
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when


def items(active_only: bool = True) -> list[GiftItem]:
    q = GiftItem.select().order_by(GiftItem.name)
    return list(q.where(GiftItem.active == True) if active_only else q)  # noqa: E712


def low(items_) -> list[GiftItem]:
    return [i for i in items_ if i.stock <= i.low_stock]


def create_item(name: str, low_stock: int, unit_cost_fen: int, actor) -> GiftItem:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("Name the gift."), field="name")
    with unit_of_work():
        item = GiftItem.create(code=new_code(), name=name[:60], low_stock=max(0, low_stock), unit_cost_fen=max(0, unit_cost_fen))
        audit.record("create", object_type="gift_item", object_ref=item.code, detail={"name": item.name}, actor=actor)
    return item


def _move(item: GiftItem, delta: int, kind: str, reason: str, actor, patient=None) -> GiftMovement:
    n = GiftItem.update(stock=GiftItem.stock + delta).where(GiftItem.id == item.id, GiftItem.stock + delta >= 0).execute()
    if n != 1:
        last = (GiftMovement.select().where(GiftMovement.item == item.id, GiftMovement.kind == "issue")
                .order_by(GiftMovement.id.desc()).first())
        if kind == "issue" and last is not None:
            raise Conflict(_l("No %(name)s left in stock: the last one was issued by %(who)s at %(time)s.",
                              name=item.name, **who_when(last.by_id, last.at)), field="quantity")
        raise ServiceError(_l("Not enough %(name)s in stock.", name=item.name), field="quantity")
    return GiftMovement.create(item=item, delta=delta, kind=kind, reason=reason[:200], by=actor, patient=patient)


def stock_in(item: GiftItem, quantity: int, reason: str, actor) -> GiftMovement:
    if quantity <= 0:
        raise ServiceError(_l("Enter how many came in."), field="quantity")
    with unit_of_work():
        mv = _move(item, quantity, "in", (reason or "").strip() or str(_l("Bought")), actor)
        audit.record("update", object_type="gift_item", object_ref=item.code, detail={"in": quantity}, actor=actor)
    return mv


def issue(item: GiftItem, patient, reason: str, actor, task: DeskTask | None = None) -> GiftMovement:
    # a task's gift keeps the task's key, shown in the reader's words (portal.labels.gift_reason_text)
    reason = (reason or "").strip() or ((task.detail or f"desk:{task.kind}") if task else "")
    if not reason:
        raise ServiceError(_l("Say why the gift is given."), field="reason")
    with unit_of_work():
        if task is not None:  # the task first: a second click on the same hand-over takes no second gift
            n = DeskTask.update(status="done", done_by=actor, done_at=utcnow()).where(
                DeskTask.id == task.id, DeskTask.status == "open").execute()
            if n != 1:
                done = DeskTask.get_by_id(task.id)
                raise Conflict(_l("This gift was handed over already by %(who)s at %(time)s.",
                                  **who_when(done.done_by_id, done.done_at)))
        mv = _move(item, -1, "issue", reason, actor, patient=patient)
        audit.record("update", patient=patient, object_type="gift_issue", object_ref=item.code,
                     detail={"reason": reason}, actor=actor)
    return mv


def count(item: GiftItem, counted: int, actor) -> GiftMovement | None:
    """The weekly count: the difference to the book is recorded as a movement of its own."""
    if counted < 0:
        raise ServiceError(_l("Enter what is on the shelf."), field="counted")
    with unit_of_work():
        fresh = locked(GiftItem, item.id)  # the book as it is now: issues wait for the count, or land before it
        mv = _move(fresh, counted - fresh.stock, "count", str(_l("Weekly count: %(n)s on the shelf", n=counted)), actor)
        audit.record("update", object_type="gift_item", object_ref=item.code, detail={"counted": counted}, actor=actor)
    return mv


COUNT_WEEKDAY = 4  # Friday


def count_day(week_start: date) -> date:
    """The Friday of the week starting on Monday `week_start`."""
    return week_start - timedelta(days=week_start.weekday()) + timedelta(days=COUNT_WEEKDAY)


def _bounds(day: date, tz: str | None, days: int = 1) -> tuple[datetime, datetime]:
    if tz:
        from portal.services.clock import day_bounds_utc
        start = day_bounds_utc(day, tz)[0]
        return start, day_bounds_utc(day + timedelta(days=days - 1), tz)[1]
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=days)


def week_report(week_start: date, tz: str | None = None, tz_start_utc: datetime | None = None) -> list[dict]:
    """Per item for the week from Monday `week_start`: in, issued, count differences, stock now, and
    whether it was counted on the week's Friday."""
    start, end = _bounds(week_start, tz, 7)
    if tz_start_utc:
        start, end = tz_start_utc, tz_start_utc + timedelta(days=7)
    friday_start, friday_end = _bounds(count_day(week_start), tz)
    sums = {}
    for r in (GiftMovement.select(GiftMovement.item, GiftMovement.kind, fn.SUM(GiftMovement.delta).alias("s"))
              .where(GiftMovement.at >= start, GiftMovement.at < end).group_by(GiftMovement.item, GiftMovement.kind)):
        sums.setdefault(r.item_id, {})[r.kind] = r.s
    counted = {r.item_id for r in GiftMovement.select(GiftMovement.item).where(
        GiftMovement.at >= friday_start, GiftMovement.at < friday_end, GiftMovement.kind == "count")}
    return [{"item": i, "in": sums.get(i.id, {}).get("in", 0), "issued": -sums.get(i.id, {}).get("issue", 0),
             "difference": sums.get(i.id, {}).get("count", 0), "counted": i.id in counted, "low": i.stock <= i.low_stock}
            for i in items()]


def recent_issues(limit: int = 30) -> list[GiftMovement]:
    from peewee import JOIN

    from portal.models import Patient, Staff
    return list(GiftMovement.select(GiftMovement, GiftItem, Patient.name, Patient.id, Staff.display_name, Staff.id)
                .join(GiftItem).switch(GiftMovement).join(Patient, JOIN.LEFT_OUTER, on=(GiftMovement.patient == Patient.id))
                .switch(GiftMovement).join(Staff, on=(GiftMovement.by == Staff.id))
                .where(GiftMovement.kind == "issue").order_by(GiftMovement.at.desc()).limit(limit))


def weekly_check(config, today: date) -> list[int]:
    """After the Friday count: tell each manager (once per Friday) which gifts are running out and which
    items on the shelf by that Friday were not counted on it."""
    from portal.models import Staff
    from portal.notify.outbox import queue_staff
    tz = config["PORTAL_TZ"]
    friday = count_day(today)
    if friday >= today:
        friday -= timedelta(days=7)  # this week's count is not due yet (or is today): the last one
    report = week_report(friday - timedelta(days=COUNT_WEEKDAY), tz)
    friday_end = _bounds(friday, tz)[1]
    on_shelf = {r.item_id for r in GiftMovement.select(GiftMovement.item).where(GiftMovement.at < friday_end)}
    short = [r["item"].name for r in report if r["low"]]
    uncounted = [r["item"].name for r in report if not r["counted"] and r["item"].id in on_shelf]
    if not short and not uncounted:
        return []
    text = str(_l("Gifts: %(low)s running out; %(n)s not counted on Friday %(day)s. Please open Gifts in the portal.",
                  low=len(short), n=len(uncounted), day=friday.isoformat()))
    ids = []
    with unit_of_work():
        for m in Staff.select().where(Staff.role == "manager", Staff.active == True):  # noqa: E712
            ids.append(queue_staff(m, "staff_alert", utcnow(), f"gifts:{friday.isoformat()}:{m.id}", config,
                                   context={"text": text}))
    return [i for i in ids if i]
