"""What each role sees first on its home page."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import peewee as pw

from portal.models import AuditEvent, LoginAttempt, Patient, Staff, StaffSession, utcnow


def _utc_day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def registered_on(day: date, tz: str, limit: int = 20) -> list[Patient]:
    start, end = _utc_day_bounds(day, tz)
    return list(Patient.select().where(Patient.created_at.between(start, end))
                .order_by(Patient.created_at.desc()).limit(limit))


def recently_opened(staff: Staff, limit: int = 10) -> list[Patient]:
    """Patients this person opened lately, newest first, from their own audit trail."""
    recent = (AuditEvent.select(AuditEvent.patient_id, pw.fn.MAX(AuditEvent.id).alias("last"))
              .where(AuditEvent.actor_id == staff.id, AuditEvent.action == "read",
                     AuditEvent.patient_id.is_null(False),
                     AuditEvent.at > utcnow() - timedelta(days=14))
              .group_by(AuditEvent.patient_id)
              .order_by(pw.fn.MAX(AuditEvent.id).desc()).limit(limit))
    ids = [row.patient_id for row in recent]
    by_id = {p.id: p for p in Patient.select().where(Patient.id.in_(ids))} if ids else {}
    return [by_id[i] for i in ids if i in by_id]


def manager_summary() -> dict:
    since = utcnow() - timedelta(hours=24)
    by_role = dict(Staff.select(Staff.role, pw.fn.COUNT(Staff.id)).where(Staff.active == True)  # noqa: E712
                   .group_by(Staff.role).tuples())
    return {
        "staff_by_role": by_role,
        "patients": Patient.select().count(),
        "open_sessions": StaffSession.select().where(StaffSession.ended_at.is_null()).count(),
        "failed_logins": LoginAttempt.select().where(LoginAttempt.success == False,  # noqa: E712
                                                     LoginAttempt.at > since).count(),
        "denied": AuditEvent.select().where(AuditEvent.action == "denied", AuditEvent.at > since).count(),
    }
