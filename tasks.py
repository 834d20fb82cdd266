"""Huey tasks: thin wrappers that open an app context and call services."""
import logging
import os
import time
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from huey import crontab

from portal.jobs import app_context, at_utc, huey

log = logging.getLogger("portal.tasks")
# A send task woken this close before its message is due waits in place rather than going back
# through the scheduler (which only looks once a second).
EARLY_WAKE_SLEEP_SECONDS = 2.0


def clinic_crontab(**fields):
    """crontab() on the clinic's clock (PORTAL_TZ): huey checks periodic tasks against UTC,
    so a bare crontab(hour="3") would run at 11:00 in Shanghai, in the middle of the clinic day."""
    matches = crontab(**fields)
    clinic_tz = ZoneInfo(os.environ.get("PORTAL_TZ", "Asia/Shanghai"))

    def validate(ts):
        if huey.utc:
            ts = ts.replace(tzinfo=timezone.utc).astimezone(clinic_tz).replace(tzinfo=None)
        return matches(ts)
    return validate


@huey.periodic_task(clinic_crontab(minute="17", hour="3"), name="portal.purge_sessions")
def purge_sessions():
    """Drop ended sessions and old login attempts (kept 30 days for investigations), and form
    keys older than a day. A session nobody ended (the browser was closed) counts as ended when
    it was last seen."""
    with app_context():
        from portal.db import unit_of_work
        from portal.models import LoginAttempt, StaffSession, utcnow
        cutoff = utcnow() - timedelta(days=30)
        with unit_of_work():
            sessions = StaffSession.delete().where(
                (StaffSession.ended_at < cutoff)
                | (StaffSession.ended_at.is_null() & (StaffSession.last_seen_at < cutoff))).execute()
            attempts = LoginAttempt.delete().where(LoginAttempt.at < cutoff).execute()
            from portal import submissions
            form_keys = submissions.purge()  # a day is long enough to answer a repeated click
        return {"sessions": sessions, "attempts": attempts, "form_keys": form_keys}


@huey.periodic_task(clinic_crontab(minute="40", hour="2"), name="portal.verify_audit_chain")
def verify_audit_chain():
    """Nightly: the audit chain must be intact; a break is logged for the manager to act on."""
    with app_context():
        from portal.audit import verify_chain
        intact, checked, broken_at = verify_chain()
        if not intact:
            log.error("audit chain broken at event %s after %s intact rows", broken_at, checked)
        return {"intact": intact, "checked": checked, "broken_at": broken_at}


@huey.task(name="portal.send_message", retries=0)
def send_message(message_id):
    """Send one outbox message at its time (the sweeper is the safety net)."""
    with app_context() as ctx:
        from portal.models import utcnow
        from portal.notify.outbox import next_attempt, send_one
        result = send_one(message_id, ctx.app.config)
        due = next_attempt(message_id) if result == "not-due" else None
        wait = (due - utcnow()).total_seconds() if due is not None else 0.0
        if wait > EARLY_WAKE_SLEEP_SECONDS:  # moved later, or a retry backing off: sleep in the queue
            send_message.schedule(args=(message_id,), eta=at_utc(due))
        elif wait > 0:  # a moment early (clock granularity): wait here, not a scheduler round
            time.sleep(wait)
            result = send_one(message_id, ctx.app.config)
        return result


@huey.periodic_task(crontab(minute="*"), name="portal.sweep_outbox")
def sweep_outbox():
    """Every minute: send what is due, including anything a stopped worker left behind."""
    with app_context() as ctx:
        from portal.notify.outbox import send_due
        return send_due(ctx.app.config)


@huey.on_startup(name="portal.catch_up_outbox")
def catch_up_outbox():
    """When the worker starts, send what fell due while it was down (and retry stale claims)."""
    sweep_outbox()


@huey.periodic_task(crontab(minute="5"), name="portal.flag_overdue_complaints")
def flag_overdue_complaints():
    """Hourly: complaints past their reply or resolution deadline are flagged to the manager."""
    with app_context() as ctx:
        from portal.services.complaints import scan_overdue
        return scan_overdue(ctx.app.config)


@huey.periodic_task(clinic_crontab(minute="20", hour="*/2"), name="portal.plan_procedure_followups")
def plan_procedure_followups():
    """Catch-up: procedures completed on visits get their after-care follow-ups (idempotent)."""
    with app_context() as ctx:
        from portal.services.followups import plan_recent_procedures
        return plan_recent_procedures(ctx.app.config)


@huey.periodic_task(clinic_crontab(minute="30", hour="9"), name="portal.recall_reminders")
def recall_reminders():
    """Daily: one reminder per recall falling due within the week (sent at the reminder hour)."""
    with app_context() as ctx:
        from portal.notify.outbox import dispatch
        from portal.services import recalls
        from portal.services.clock import local_now
        due = recalls.due_list(local_now(ctx.app.config["PORTAL_TZ"]).date(), ahead=7, include_restricted=True)
        ids = recalls.send_reminders(due, ctx.app.config)
        dispatch(ids)
        return len(ids)


@huey.task(name="portal.render_print_job", retries=0)
def render_print_job(job_id):
    """A large or batch printout (issue 5): render it to instance/printouts/ and mark it ready."""
    with app_context():
        from flask import current_app
        base = current_app.config.get("PUBLIC_BASE_URL") or "http://localhost/"
        with current_app.test_request_context("/", base_url=base):  # url_for for the printout's links
            from portal.reports.jobs import run
            return run(job_id)


@huey.periodic_task(clinic_crontab(minute="10", hour="6"), name="portal.membership_daily")
def membership_daily():
    """Daily (issue 7): expire points past their year (FIFO lots), remind before expiry, grant the
    year's benefits, greet birthdays and set out their gifts. Every step is idempotent."""
    with app_context() as ctx:
        from portal.notify.outbox import dispatch
        from portal.services import benefits, members
        from portal.services import member_settings as settings
        from portal.services import points
        from portal.services.clock import local_now
        config = ctx.app.config
        today = local_now(config["PORTAL_TZ"]).date()
        expired = points.expire_due(today)
        reminded = points.remind_expiring(today, config, settings.get(config, "expiry_notice_days"))
        granted = benefits.grant_all(today)
        greeted = members.birthday_run(today, config)
        dispatch(reminded + greeted)
        return {"expired": expired, "reminded": len(reminded), "granted": granted, "greeted": len(greeted)}


@huey.periodic_task(clinic_crontab(minute="0", hour="9", day_of_week="1"), name="portal.gift_weekly_check")
def gift_weekly_check():
    """Mondays (issue 7): gifts running out or not counted last week are flagged to the managers."""
    with app_context() as ctx:
        from portal.notify.outbox import dispatch
        from portal.services import gifts
        from portal.services.clock import local_now
        ids = gifts.weekly_check(ctx.app.config, local_now(ctx.app.config["PORTAL_TZ"]).date())
        dispatch(ids)
        return len(ids)
