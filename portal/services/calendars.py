"""Doctor calendar feeds (iCalendar): a secret URL per feed, revocable, initials only."""
import hashlib
import secrets
from datetime import timedelta

from icalendar import Calendar, Event

from portal import audit
from portal.db import unit_of_work
from portal.models import Appointment, CalendarFeed, Patient, Staff, utcnow
from portal.models.schedule import ACTIVE_STATUSES
from portal.services.clock import UTC


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(doctor: Staff, actor: Staff) -> str:
    """A new feed URL token; earlier feeds of this doctor are revoked (one phone, one link)."""
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        revoke_feeds(doctor)
        CalendarFeed.create(doctor=doctor, token_hash=_hash(token))
        audit.record("create", actor=actor, object_type="calendar_feed", object_ref=doctor.username)
    return token


def revoke_feeds(doctor: Staff) -> int:
    return (CalendarFeed.update(revoked_at=utcnow())
            .where(CalendarFeed.doctor == doctor, CalendarFeed.revoked_at.is_null()).execute())


def feed_doctor(token: str) -> Staff | None:
    feed = (CalendarFeed.select(CalendarFeed, Staff).join(Staff)
            .where(CalendarFeed.token_hash == _hash(token or ""), CalendarFeed.revoked_at.is_null()).first())
    return feed.doctor if feed and feed.doctor.active else None


def initials(name: str, pinyin_initials: str) -> str:
    """Z.X.M. — enough for the doctor to recognise, not enough to identify on a lost phone."""
    letters = (pinyin_initials or "").upper() or "?"
    return ".".join(letters) + "."


def ics(doctor: Staff, clinic: str, labels: dict, days_back: int = 30, days_ahead: int = 120) -> bytes:
    now = utcnow()
    cal = Calendar()
    cal.add("prodid", "-//dental-portal//schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{clinic} · {doctor.display_name}")
    rows = (Appointment.select(Appointment, Patient).join(Patient)
            .where(Appointment.doctor == doctor, Appointment.status.in_(ACTIVE_STATUSES),
                   Appointment.start_at.between(now - timedelta(days=days_back), now + timedelta(days=days_ahead)))
            .order_by(Appointment.start_at))
    for a in rows:
        event = Event()
        event.add("uid", f"{a.code}@dental-portal")
        event.add("dtstamp", now.replace(tzinfo=UTC))
        event.add("dtstart", a.start_at.replace(tzinfo=UTC))
        event.add("dtend", a.end_at.replace(tzinfo=UTC))
        event.add("summary", f"{labels.get(a.visit_type, a.visit_type)} · {initials(a.patient.name, a.patient.name_initials)}")
        event.add("location", clinic)
        cal.add_component(event)
    return cal.to_ical()
