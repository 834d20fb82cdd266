"""Complaints (DOMAIN.md "Complaints and satisfaction").

First reply within 24 hours of receipt. Resolution within 3 / 7 / 14 working days (minor /
medium / severe); the manager changes these numbers on the clinic rules page (clinic_settings), and a
complaint keeps the deadlines set when it was received. Working days follow the Chinese calendar
with official holidays and make-up working days; the day received does not count. Closing needs
the outcome told to the patient and plans a satisfaction survey. The worker flags overdue
complaints to the manager once each.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Complaint, ComplaintAction, Patient, Staff, new_code, utcnow
from portal.models.followup import COMPLAINT_CATEGORIES, COMPLAINT_CHANNELS, SEVERITIES
from portal.services import Conflict, ServiceError, clinic_settings
from portal.services.clock import to_local
from portal.services.moved_on import locked, who_when
from portal.services.workdays import add_workdays

REPLY_HOURS_KEY = "complaint.reply_hours"
RESOLVE_DAYS_KEY = "complaint.resolve_days.{}"  # .minor / .medium / .severe
OPEN_STATUSES = ("open", "replied", "resolved")


@dataclass
class ComplaintData:
    channel: str
    category: str
    severity: str
    summary: str
    patient: Patient | None = None
    doctor: Staff | None = None
    owner: Staff | None = None


def deadlines(received_utc: datetime, severity: str, tz: str, config=None) -> tuple[datetime, date]:
    """(first reply due, UTC; resolution due, the clinic-local working day). With `config`, the
    manager's current numbers; without, the defaults."""
    if config is None:
        hours = clinic_settings.setting(REPLY_HOURS_KEY).default
        days = clinic_settings.setting(RESOLVE_DAYS_KEY.format(severity)).default
    else:
        hours = clinic_settings.get(config, REPLY_HOURS_KEY)
        days = clinic_settings.get(config, RESOLVE_DAYS_KEY.format(severity))
    return received_utc + timedelta(hours=hours), add_workdays(to_local(received_utc, tz).date(), days)


def _note(complaint: Complaint, actor: Staff | None, kind: str, text: str = "") -> None:
    ComplaintAction.create(complaint=complaint, by=actor, kind=kind, text=(text or "")[:2000])


def receive(data: ComplaintData, actor: Staff, config, received_at: datetime | None = None) -> Complaint:
    if data.channel not in COMPLAINT_CHANNELS:
        raise ServiceError(_l("Choose how the complaint came in."), field="channel")
    if data.category not in COMPLAINT_CATEGORIES:
        raise ServiceError(_l("Choose a category."), field="category")
    if data.severity not in SEVERITIES:
        raise ServiceError(_l("Choose the severity."), field="severity")
    summary = (data.summary or "").strip()
    if not summary:
        raise ServiceError(_l("Write what the complaint is about."), field="summary")
    received = received_at or utcnow()
    reply_due, resolve_due = deadlines(received, data.severity, config["PORTAL_TZ"], config)
    with unit_of_work():
        c = Complaint.create(code=new_code(), patient=data.patient, doctor=data.doctor, channel=data.channel,
                             category=data.category, severity=data.severity, summary=summary[:4000],
                             received_at=received, reply_due_at=reply_due, resolve_due=resolve_due,
                             owner=data.owner, created_by=actor)
        _note(c, actor, "received")
        audit.record("create", patient=data.patient, object_type="complaint", object_ref=c.code, actor=actor,
                     detail={"category": data.category, "severity": data.severity, "channel": data.channel})
    return c


_ALREADY = {
    "close": lambda **kw: _l("This complaint was already closed by %(who)s at %(time)s.", **kw),
    "reply": lambda **kw: _l("The first reply was already recorded by %(who)s at %(time)s.", **kw),
    "resolve": lambda **kw: _l("This complaint was already resolved by %(who)s at %(time)s.", **kw),
}


def _moved_on(complaint_id: int, kind: str, config=None) -> Conflict:
    """A Conflict naming who made the `kind` entry (close / first reply / resolve) and when."""
    entries = ComplaintAction.select().where(ComplaintAction.complaint == complaint_id, ComplaintAction.kind == kind)
    entry = (entries.order_by(ComplaintAction.id) if kind == "reply" else entries.order_by(ComplaintAction.id.desc())).first()
    return Conflict(_ALREADY[kind](**who_when(entry.by_id if entry else None, entry.at if entry else None, config)))


def _current(c: Complaint, config=None) -> Complaint:
    """The complaint as it is now, inside the caller's unit of work (locked on PostgreSQL); a
    closed one refuses every change, naming who closed it."""
    current = locked(Complaint, c.id)
    if current is None:
        raise Conflict(_l("This complaint no longer exists."))
    if current.status == "closed":
        raise _moved_on(c.id, "close", config)
    return current


def add_action(c: Complaint, actor: Staff, kind: str, text: str, now: datetime | None = None) -> None:
    """kind: reply (first reply to the patient), action (what was done), resolve (the outcome).
    Decided on the complaint re-read inside the unit of work: `c` is what the person saw, so a
    first reply or a resolution someone else recorded since is refused, naming them."""
    text = (text or "").strip()
    if not text:
        raise ServiceError(_l("Write what was said or done."), field="text")
    if kind not in ("reply", "action", "resolve"):
        raise ServiceError(_l("Choose what kind of entry this is."), field="kind")
    now = now or utcnow()
    with unit_of_work():
        current = _current(c)
        if kind == "reply" and c.first_reply_at is None and current.first_reply_at is not None:
            raise _moved_on(c.id, "reply")
        if kind == "resolve" and c.status != "resolved" and current.status == "resolved":
            raise _moved_on(c.id, "resolve")
        fields = {}
        if kind == "reply" and current.first_reply_at is None:
            fields.update(first_reply_at=now, status="replied" if current.status == "open" else current.status)
        if kind == "resolve":
            fields.update(resolved_at=now, outcome=text[:4000], status="resolved")
        if fields:
            won = Complaint.update(**fields).where(Complaint.id == c.id, Complaint.status == current.status).execute()
            if won != 1:  # moved on between the re-read and the update
                raise Conflict(_l("Someone else changed this complaint just now. Reload it."))
        _note(c, actor, kind, text)
        audit.record("update", patient=c.patient_id, object_type="complaint", object_ref=c.code, actor=actor,
                     detail={"entry": kind})


def set_owner(c: Complaint, owner: Staff, actor: Staff) -> None:
    if owner.role not in ("consultant", "manager") or not owner.active:
        raise ServiceError(_l("Choose a consultant or the manager."), field="owner")
    with unit_of_work():
        current = _current(c)
        Complaint.update(owner=owner).where(Complaint.id == c.id, Complaint.status == current.status).execute()
        _note(c, actor, "owner", owner.display_name)
        audit.record("update", patient=c.patient_id, object_type="complaint", object_ref=c.code, actor=actor,
                     detail={"owner": owner.username})


def close(c: Complaint, actor: Staff, told_how: str, config, now: datetime | None = None):
    """The patient has been told the outcome: close, and plan a satisfaction survey. Of two clicks
    or two desks one closes (one event, one survey); the other is refused, naming who closed it."""
    from portal.services import surveys
    told_how = (told_how or "").strip()
    if not told_how:
        raise ServiceError(_l("Say how the patient was told the outcome."), field="told_how")
    now = now or utcnow()
    with unit_of_work():
        current = _current(c, config)
        if current.status != "resolved" or not current.outcome:
            raise ServiceError(_l("Record the outcome (resolve) before closing."))
        won = Complaint.update(status="closed", closed_at=now, outcome_told_at=now).where(
            Complaint.id == c.id, Complaint.status == "resolved").execute()
        if won != 1:
            raise _moved_on(c.id, "close", config)
        _note(c, actor, "close", told_how)
        audit.record("update", patient=c.patient_id, object_type="complaint", object_ref=c.code, actor=actor,
                     detail={"closed": True})
        survey = surveys.plan_after_complaint(current, to_local(now, config["PORTAL_TZ"]).date()) \
            if current.patient_id else None
    return survey


def overdue_flags(c: Complaint, now: datetime, tz: str) -> list[str]:
    flags = []
    if c.status == "closed":
        return flags
    if c.first_reply_at is None and now > c.reply_due_at:
        flags.append("reply")
    if c.resolved_at is None and to_local(now, tz).date() > c.resolve_due:
        flags.append("resolution")
    return flags


def listing(status: str, now: datetime, config, limit: int = 200) -> list[dict]:
    """Complaints with their deadline state; one query."""
    owner = Staff.alias()
    q = (Complaint.select(Complaint, Patient, owner).join(Patient, pw.JOIN.LEFT_OUTER).switch(Complaint)
         .join(owner, pw.JOIN.LEFT_OUTER, on=(Complaint.owner == owner.id)))
    q = q.where(Complaint.status.in_(OPEN_STATUSES)) if status == "open" else q.where(Complaint.status == "closed")
    rows = q.order_by(Complaint.resolve_due, Complaint.id).limit(limit)
    return [{"c": c, "flags": overdue_flags(c, now, config["PORTAL_TZ"])} for c in rows]


def scan_overdue(config, now: datetime | None = None) -> int:
    """The worker: flag each overdue complaint to the managers, once per kind of lateness
    (first reply, resolution). Returns how many new flags were raised."""
    from portal.notify import outbox
    now = now or utcnow()
    tz = config["PORTAL_TZ"]
    today = to_local(now, tz).date()
    late = list(Complaint.select().where(
        Complaint.status.in_(OPEN_STATUSES),
        (Complaint.first_reply_at.is_null() & (Complaint.reply_due_at < now))
        | (Complaint.resolved_at.is_null() & (Complaint.resolve_due < today))))
    if not late:
        return 0
    raised = set(ComplaintAction.select(ComplaintAction.complaint, ComplaintAction.text).where(
        ComplaintAction.kind == "flagged", ComplaintAction.complaint.in_([c.id for c in late])).tuples())
    managers = list(Staff.select().where(Staff.role == "manager", Staff.active == True))  # noqa: E712
    ids, count = [], 0
    with unit_of_work():
        for c in late:
            for flag in overdue_flags(c, now, tz):
                if (c.id, flag) in raised:
                    continue
                count += 1
                _note(c, None, "flagged", flag)
                if c.flagged_at is None:
                    Complaint.update(flagged_at=now).where(Complaint.id == c.id).execute()
                for m in managers:
                    ids.append(outbox.queue_staff(m, "complaint_overdue", now, f"complaint:{c.id}:{flag}:{m.id}", config))
    outbox.dispatch([i for i in ids if i])
    return count


def actions_of(c: Complaint) -> list[ComplaintAction]:
    by = Staff.alias()
    return list(ComplaintAction.select(ComplaintAction, by).join(by, pw.JOIN.LEFT_OUTER, on=(ComplaintAction.by == by.id))
                .where(ComplaintAction.complaint == c).order_by(ComplaintAction.at, ComplaintAction.id))
