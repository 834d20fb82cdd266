"""The outbox: every message is a row before anything is sent.

A row is claimed atomically (one UPDATE … WHERE status = 'pending'), so two workers never
both send it. The claim is a lease: stamped with the time it is made (not the time a sweep
began), and renewed every third of OUTBOX_LEASE_SECONDS while the channel is still sending, so
a slow gateway never makes a live claim look abandoned. Only a claim nobody renews (the worker
died or froze mid-send) goes stale and is retried, with the same idempotency key, so the gateway
drops a repeat. Each claim bumps `attempts`, which doubles as the claim's token: renewals and the
outcome are written only while the row still carries it, so a sender that lost its lease cannot
overwrite the new claimant's row. Reminders carry `not_after` (the visit's start) and are
skipped, never sent, once that has passed.
"""
import json
import logging
import threading
from datetime import datetime, timedelta

import peewee as pw
from babel.dates import format_skeleton

from portal.db import db, unit_of_work
from portal.models import Appointment, OutboxMessage, Patient, utcnow
from portal.models.schedule import ACTIVE_STATUSES
from portal.notify import texts
from portal.notify.channels import DeliveryError, channel_for
from portal.services.clock import parse_hhmm, to_local, to_utc

log = logging.getLogger("portal.notify")
BACKOFF_SECONDS = (30, 120, 600, 3600, 4 * 3600)
SENDABLE = ("sms", "email")


def _channel_and_recipient(patient: Patient) -> tuple[str, str]:
    # Phone and WeChat preferences are served by SMS: a call is made by a person, not the worker.
    if patient.preferred_channel == "email" and patient.email:
        return "email", patient.email
    return "sms", patient.phone


def _reminders_consented(patient: Patient) -> bool:
    from portal.services.patients import current_consents
    decision = current_consents(patient)["reminders"]
    return bool(decision and decision.granted)


def respect_quiet_hours(when_local: datetime, not_after_local: datetime | None, config) -> datetime:
    """Outside quiet hours: later the same morning if that is still before the visit, else the evening before."""
    quiet_from, quiet_until = (parse_hhmm(v) for v in config["QUIET_HOURS"])
    t = when_local.time()
    in_quiet = (t >= quiet_from or t < quiet_until) if quiet_from > quiet_until else quiet_from <= t < quiet_until
    if not in_quiet:
        return when_local
    morning = when_local.replace(hour=quiet_until.hour, minute=quiet_until.minute, second=0, microsecond=0)
    if t >= quiet_from and quiet_from > quiet_until:
        morning += timedelta(days=1)
    if not_after_local is None or morning < not_after_local - timedelta(minutes=30):
        return morning
    evening = morning - timedelta(days=1)
    return evening.replace(hour=quiet_from.hour, minute=quiet_from.minute) - timedelta(minutes=30)


def queue(patient: Patient, template: str, when_utc: datetime, key: str, config,
          appointment: Appointment | None = None, not_after: datetime | None = None,
          context: dict | None = None) -> int | None:
    """Insert one message unless its key exists already (queuing twice is harmless)."""
    tz = config["PORTAL_TZ"]
    channel, recipient = _channel_and_recipient(patient)
    local = respect_quiet_hours(to_local(when_utc, tz), to_local(not_after, tz) if not_after else None, config)
    ctx = {"clinic": config["CLINIC_NAME"], "clinic_phone": config["CLINIC_PHONE"], **(context or {})}
    consented = _reminders_consented(patient)
    key = key[:120]
    if OutboxMessage.select().where(OutboxMessage.unique_key == key).exists():
        return None
    try:
        with db.atomic():  # a savepoint: a concurrent twin with the same key loses quietly
            row = OutboxMessage.create(
                patient=patient, appointment=appointment, channel=channel, recipient=recipient, template=template,
                locale=config["PORTAL_LOCALE"], context=json.dumps(ctx, ensure_ascii=False),
                scheduled_at=to_utc(local, tz), not_after=not_after, unique_key=key,
                status="pending" if consented else "skipped",
                last_error="" if consented else "no consent to reminders")
    except pw.IntegrityError:
        return None
    return row.id if consented else None


def _appt_context(appt: Appointment, config) -> dict:
    return {"start": to_local(appt.start_at, config["PORTAL_TZ"]).isoformat(timespec="minutes")}


def queue_for_booking(appt: Appointment, config, first: str = "booking_confirmation") -> list[int]:
    tz, now = config["PORTAL_TZ"], utcnow()
    ctx = _appt_context(appt, config)
    ids = [queue(appt.patient, first, now, f"appt:{appt.id}:{first}", config, appt, context=ctx)]
    start_local = to_local(appt.start_at, tz)
    day_before = datetime.combine(start_local.date() - timedelta(days=1), parse_hhmm(config["REMINDER_DAY_BEFORE_AT"]))
    if to_utc(day_before, tz) > now:
        ids.append(queue(appt.patient, "reminder_day_before", to_utc(day_before, tz), f"appt:{appt.id}:day_before",
                         config, appt, not_after=appt.start_at, context=ctx))
    hours_before = appt.start_at - timedelta(hours=config["REMINDER_HOURS_BEFORE"])
    if hours_before > now + timedelta(minutes=30):
        ids.append(queue(appt.patient, "reminder_hours_before", hours_before, f"appt:{appt.id}:hours_before",
                         config, appt, not_after=appt.start_at, context=ctx))
    return [i for i in ids if i]


def queue_change(appt: Appointment, config) -> list[int]:
    return queue_for_booking(appt, config, first="change_notice")


def queue_cancellation(appt: Appointment, config) -> list[int]:
    cancel_pending(appt, "cancelled", keep=("cancellation_notice",))  # never withdraw its own notice
    key = f"appt:{appt.id}:cancellation_notice"
    return [i for i in [queue(appt.patient, "cancellation_notice", utcnow(), key, config, appt,
                              context=_appt_context(appt, config))] if i]


def queue_no_show(appt: Appointment, config) -> list[int]:
    cancel_pending(appt, "no-show")
    key = f"appt:{appt.id}:no_show_followup"
    return [i for i in [queue(appt.patient, "no_show_followup", utcnow() + timedelta(hours=2), key, config, appt,
                              context=_appt_context(appt, config))] if i]


def cancel_pending(appt: Appointment, why: str, reminders_only: bool = False, keep: tuple = ()) -> int:
    """Withdraw what has not gone yet: everything when the visit is off, only reminders once it began
    (`keep`: templates that stay, such as the cancellation notice itself)."""
    where = (OutboxMessage.appointment == appt) & (OutboxMessage.status == "pending")
    if keep:
        where &= OutboxMessage.template.not_in(list(keep))
    if reminders_only:
        where &= OutboxMessage.template.startswith("reminder")
    return OutboxMessage.update(status="cancelled", last_error=why[:300]).where(where).execute()


def dispatch(ids: list[int]) -> None:
    """After commit: ask the worker to send each message at its time. If the queue is down the
    rows stay pending and the sweeper sends them."""
    if not ids:
        return
    try:
        import tasks
        from portal.jobs import at_utc
        now = utcnow()
        for row in OutboxMessage.select(OutboxMessage.id, OutboxMessage.scheduled_at).where(
                OutboxMessage.id.in_(ids), OutboxMessage.status == "pending"):
            if row.scheduled_at <= now:
                tasks.send_message(row.id)
            else:
                tasks.send_message.schedule(args=(row.id,), eta=at_utc(row.scheduled_at))
    except Exception:  # the outbox row is the promise; the sweeper keeps it
        log.exception("could not enqueue outbox messages %s; the sweeper will send them", ids)


def next_attempt(message_id: int) -> datetime | None:
    """When a pending message becomes due (None if it is no longer pending)."""
    row = OutboxMessage.get_or_none(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
    return max(row.scheduled_at, row.next_attempt_at or row.scheduled_at) if row else None


def _due(now: datetime, lease: int):
    stale = now - timedelta(seconds=lease)
    return (((OutboxMessage.status == "pending") & (OutboxMessage.scheduled_at <= now)
             & (OutboxMessage.next_attempt_at.is_null() | (OutboxMessage.next_attempt_at <= now)))
            | ((OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale)))


def _ticking(start: datetime | None):
    """The clock a sender stamps with: the real one, or one started at `start` (a sweep told its
    time, a test) that moves on as real time passes, so a stamp is always the time it is made."""
    if start is None:
        return utcnow
    offset = start - utcnow()
    return lambda: utcnow() + offset


def claim(message_id: int, config, now: datetime) -> OutboxMessage | None:
    """Take the message if it is due or its last claim went stale; the claimed row, or None.
    Read back in the same transaction, so the row's `attempts` is this claim's token."""
    with unit_of_work():
        taken = (OutboxMessage.update(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
                 .where(OutboxMessage.id == message_id, _due(now, config["OUTBOX_LEASE_SECONDS"])).execute()) == 1
        return OutboxMessage.get_by_id(message_id) if taken else None


def _ours(msg: OutboxMessage):
    """The row as long as it is still this claim's (a later claim bumped `attempts`)."""
    return ((OutboxMessage.id == msg.id) & (OutboxMessage.status == "sending")
            & (OutboxMessage.attempts == msg.attempts))


class _Lease:
    """Renews a claim every third of the lease while the channel is sending (a thread of its own,
    with its own connection, opened only if a send outlasts the first third)."""

    def __init__(self, msg: OutboxMessage, config, clock):
        self.msg, self.clock = msg, clock
        self.every = max(config["OUTBOX_LEASE_SECONDS"] / 3, 0.05)
        self.done = threading.Event()
        self.lost = False
        self.thread = threading.Thread(target=self._run, name=f"outbox-lease-{msg.id}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def _run(self):
        try:
            while not self.done.wait(self.every):
                db.connect(reuse_if_open=True)
                with unit_of_work():
                    renewed = OutboxMessage.update(claimed_at=self.clock()).where(_ours(self.msg)).execute()
                if not renewed:  # taken over (we were frozen past the lease) or finished elsewhere
                    self.lost = True
                    log.warning("outbox message %s: claim %s lost while sending", self.msg.id, self.msg.attempts)
                    return
        except Exception:  # a renewal that fails leaves the lease to run out: a same-key retry at worst
            log.exception("outbox message %s: could not renew the claim", self.msg.id)
        finally:
            if not db.is_closed():
                db.close()


# Context values that are secrets (a patient link carries its token): once the message has gone
# out, or will never go, the row keeps only a marker, so the outbox table is not a key store.
SECRET_CONTEXT_KEYS = ("url",)
REDACTED = "[sent; removed from the outbox]"


def _without_secrets(context: str) -> str:
    ctx = json.loads(context or "{}")
    if not any(key in ctx for key in SECRET_CONTEXT_KEYS):
        return context
    return json.dumps({k: (REDACTED if k in SECRET_CONTEXT_KEYS else v) for k, v in ctx.items()}, ensure_ascii=False)


def _finish(msg: OutboxMessage, **fields) -> None:
    if fields.get("status") in ("sent", "skipped"):
        fields["context"] = _without_secrets(msg.context)
    with unit_of_work():
        OutboxMessage.update(**fields).where(_ours(msg)).execute()


def send_one(message_id: int, config, now: datetime | None = None) -> str:
    """Claim, check, send, record. Returns the row's new status (or 'not-due')."""
    clock = _ticking(now)
    now = clock()
    msg = claim(message_id, config, now)
    if msg is None:
        return "not-due"
    if msg.not_after and now >= msg.not_after:
        _finish(msg, status="skipped", last_error="the visit had begun")
        return "skipped"
    if msg.appointment_id and msg.template.startswith("reminder"):
        status = Appointment.select(Appointment.status).where(Appointment.id == msg.appointment_id).scalar()
        if status not in ACTIVE_STATUSES:
            _finish(msg, status="skipped", last_error=f"appointment {status}")
            return "skipped"
    try:
        ctx = json.loads(msg.context or "{}")
        if "start" in ctx:
            start = datetime.fromisoformat(ctx["start"])
            ctx["when"] = (f"{format_skeleton('MMMEd', start, locale=msg.locale)} "
                           f"{format_skeleton('Hm', start, locale=msg.locale)}")
        text = texts.render(msg.template, msg.locale, ctx)
        with _Lease(msg, config, clock):
            channel_for(msg.channel, config).send(msg.recipient, text, msg.unique_key,
                                                  texts.subject(msg.template, msg.locale, ctx.get("clinic", "")))
    except DeliveryError as exc:
        if msg.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            _finish(msg, status="failed", last_error=str(exc)[:300])
            return "failed"
        delay = BACKOFF_SECONDS[min(msg.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        _finish(msg, status="pending", next_attempt_at=clock() + timedelta(seconds=delay), last_error=str(exc)[:300])
        return "retry"
    except Exception as exc:  # a bug, not the network: stop retrying and show it to staff
        log.exception("outbox message %s could not be prepared", msg.id)
        _finish(msg, status="failed", last_error=f"internal error: {type(exc).__name__}")
        return "failed"
    _finish(msg, status="sent", sent_at=utcnow(), last_error="")
    return "sent"


def send_due(config, now: datetime | None = None, limit: int = 200) -> dict:
    """The sweeper: everything due, including what a stopped worker left behind. A long sweep
    (a slow gateway, a backlog) claims each message at the time it reaches it, never at `now`."""
    clock = _ticking(now)
    ids = [r.id for r in OutboxMessage.select(OutboxMessage.id)
           .where(_due(clock(), config["OUTBOX_LEASE_SECONDS"])).order_by(OutboxMessage.scheduled_at).limit(limit)]
    counts: dict[str, int] = {}
    for message_id in ids:
        result = send_one(message_id, config, clock())
        counts[result] = counts.get(result, 0) + 1
    return counts


def retry(msg: OutboxMessage) -> None:
    """Staff send a failed message again."""
    with unit_of_work():
        OutboxMessage.update(status="pending", attempts=0, next_attempt_at=None, scheduled_at=utcnow(),
                             last_error="").where(OutboxMessage.id == msg.id,
                                                  OutboxMessage.status.in_(["failed", "skipped"])).execute()
    dispatch([msg.id])


def queue_staff(staff, template: str, when_utc: datetime, key: str, config, patient: Patient | None = None,
                context: dict | None = None) -> int | None:
    """A message to a staff member (an urgent task, an overdue complaint). Staff messages need no
    patient consent and carry no clinical details; the portal shows the rest after sign-in."""
    ctx = {"clinic": config["CLINIC_NAME"], "clinic_phone": config["CLINIC_PHONE"], **(context or {})}
    key = key[:120]
    if OutboxMessage.select().where(OutboxMessage.unique_key == key).exists():
        return None
    try:
        with db.atomic():
            row = OutboxMessage.create(patient=patient, staff=staff, channel="staff", recipient=staff.username,
                                       template=template, locale=staff.locale or config["PORTAL_LOCALE"],
                                       context=json.dumps(ctx, ensure_ascii=False), scheduled_at=when_utc,
                                       unique_key=key)
    except pw.IntegrityError:
        return None
    return row.id
