"""Browsing the audit trail (manager)."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.models import AuditEvent, Patient, Staff


def _utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(tz)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def events(tz: str, actor: str = "", chart_no: str = "", action: str = "",
           date_from: date | None = None, date_to: date | None = None,
           before_id: int | None = None, limit: int = 50):
    """A page of events, newest first, with the patients they name (two queries)."""
    query = AuditEvent.select().order_by(AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor_label == actor.strip().lower())
    if chart_no:
        patient = Patient.get_or_none(Patient.chart_no == chart_no.strip())
        query = query.where(AuditEvent.patient_id == (patient.id if patient else -1))
    if action:
        query = query.where(AuditEvent.action == action)
    if date_from:
        query = query.where(AuditEvent.at >= _utc(date_from, tz))
    if date_to:
        query = query.where(AuditEvent.at < _utc(date_to + timedelta(days=1), tz))
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    rows = list(query.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    ids = {r.patient_id for r in rows if r.patient_id}
    patients = {p.id: p for p in Patient.select(Patient.id, Patient.name, Patient.chart_no, Patient.code)
                .where(Patient.id.in_(list(ids)))} if ids else {}
    return rows, patients, more


def staff_usernames() -> list[str]:
    return [s.username for s in Staff.select(Staff.username).order_by(Staff.username)]
