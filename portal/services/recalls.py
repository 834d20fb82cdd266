"""Long-term recall (长期回访): routine every 6 months, special cases every 3, in calendar months
(the clinic's settings, read through followups.followup_settings; planning in followups).

A recall is a follow-up of kind "recall", planned when a visit completes and kept ("visited")
when the next visit completes. Reminders go through the outbox, once per recall.
"""
from datetime import date, datetime, timedelta

from portal.models import Followup, Patient, utcnow
from portal.services.clock import parse_hhmm, to_utc

REMIND_DAYS_AHEAD = 14


def due_list(today: date, kind: str = "", ahead: int = REMIND_DAYS_AHEAD, limit: int = 300, include_restricted=False):
    """Open recalls due within `ahead` days or overdue, oldest first; one query."""
    q = (Followup.select(Followup, Patient).join(Patient)
         .where(Followup.kind == "recall", Followup.status == "open", Followup.due_date <= today + timedelta(days=ahead)))
    if kind in ("recall_routine", "recall_special"):
        q = q.where(Followup.event == kind)
    if not include_restricted:
        q = q.where(Patient.restricted == False)  # noqa: E712
    return list(q.order_by(Followup.due_date, Followup.id).limit(limit))


def send_reminders(recalls, config, day: date | None = None) -> list[int]:
    """Queue one reminder per recall (at the reminder hour on `day`, default now); the caller dispatches."""
    from portal.notify import outbox
    when = utcnow()
    if day is not None:
        when = max(when, to_utc(datetime.combine(day, parse_hhmm(config["REMINDER_DAY_BEFORE_AT"])),
                                config["PORTAL_TZ"]))
    ids = [outbox.queue(f.patient, "recall_reminder", when, f"recall:{f.id}:reminder", config) for f in recalls]
    return [i for i in ids if i]


def compliance(today: date, months: int = 6) -> list[dict]:
    """Per month of the due date: recalls due, kept by a visit, and the share kept. One grouped query.
    `today` is the clinic's date (never the server's)."""
    start = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = (Followup.select(Followup.due_date, Followup.outcome)
            .where(Followup.kind == "recall", Followup.due_date >= start, Followup.due_date <= today,
                   Followup.status != "merged").tuples())
    months_seen: dict[str, list[int]] = {}
    for due, outcome in rows.iterator():
        bucket = months_seen.setdefault(due.strftime("%Y-%m"), [0, 0])
        bucket[0] += 1
        bucket[1] += outcome == "visited"
    return [{"month": m, "due": d, "kept": k, "rate": round(100 * k / d) if d else 0}
            for m, (d, k) in sorted(months_seen.items(), reverse=True)]
