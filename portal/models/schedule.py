"""Chairs, doctor shifts, appointments, the message outbox and calendar feeds."""
from datetime import timedelta

import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.people import Patient
from portal.models.staff import Staff

VISIT_TYPES = ("first", "revisit", "emergency", "recall", "followup")
SOURCES = ("frontdesk", "phone", "patient", "recall")
# booked → confirmed is kept apart from the visit's progress; see services.schedule.
STATUSES = ("booked", "arrived", "seated", "completed", "no_show", "cancelled", "rescheduled")
ACTIVE_STATUSES = ("booked", "arrived", "seated", "completed")
EXCEPTION_KINDS = ("leave", "extra", "holiday")
# Booking refuses anything longer; overlap queries rely on it to bound their index range.
LONGEST_APPOINTMENT = timedelta(hours=8)


class Chair(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=30)
    room = pw.CharField(max_length=30, default="")
    is_vip = pw.BooleanField(default=False)
    active = pw.BooleanField(default=True)
    sort_order = pw.IntegerField(default=0)

    class Meta:
        table_name = "chair"


class ShiftPattern(BaseModel):
    """A doctor works `weekday` (0 = Monday) from start to end, from valid_from on."""
    doctor = pw.ForeignKeyField(Staff, backref="shift_patterns", on_delete="CASCADE")
    weekday = pw.IntegerField()
    start_time = pw.TimeField()
    end_time = pw.TimeField()
    chair = pw.ForeignKeyField(Chair, null=True, on_delete="SET NULL")
    valid_from = pw.DateField()
    valid_to = pw.DateField(null=True)

    class Meta:
        table_name = "shift_pattern"


class ShiftException(BaseModel):
    """Leave (no work that day, or part of it), an extra session, or a clinic holiday (doctor null)."""
    doctor = pw.ForeignKeyField(Staff, null=True, backref="shift_exceptions", on_delete="CASCADE")
    day = pw.DateField(index=True)
    kind = pw.CharField(max_length=10)
    start_time = pw.TimeField(null=True)
    end_time = pw.TimeField(null=True)
    note = pw.CharField(max_length=100, default="")
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "shift_exception"


class Appointment(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="appointments", on_delete="CASCADE")
    doctor = pw.ForeignKeyField(Staff, backref="appointments", on_delete="RESTRICT")
    chair = pw.ForeignKeyField(Chair, backref="appointments", on_delete="RESTRICT")
    start_at = pw.DateTimeField()  # UTC
    end_at = pw.DateTimeField()
    visit_type = pw.CharField(max_length=12)
    planned = pw.CharField(max_length=200, default="")
    notes = pw.TextField(default="")
    source = pw.CharField(max_length=12, default="frontdesk")
    status = pw.CharField(max_length=12, default="booked")
    confirmed_at = pw.DateTimeField(null=True)
    arrived_at = pw.DateTimeField(null=True)
    seated_at = pw.DateTimeField(null=True)
    completed_at = pw.DateTimeField(null=True)
    cancel_reason = pw.CharField(max_length=200, default="")
    rescheduled_to = pw.ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "appointment"

    @classmethod
    def overlapping(cls, start_utc, end_utc):
        """Condition for appointments overlapping [start, end). The lower bound on start_at is
        implied by the longest appointment; without it the start_at index range runs from the
        first appointment ever booked, and every day view slows as the years pile up."""
        return ((cls.start_at < end_utc) & (cls.start_at > start_utc - LONGEST_APPOINTMENT)
                & (cls.end_at > start_utc))


class AppointmentEvent(BaseModel):
    """Every status or confirmation change: who, when, from what to what."""
    appointment = pw.ForeignKeyField(Appointment, backref="events", on_delete="CASCADE")
    at = pw.DateTimeField(default=utcnow)
    by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    change = pw.CharField(max_length=30)
    from_status = pw.CharField(max_length=12, default="")
    to_status = pw.CharField(max_length=12, default="")
    note = pw.CharField(max_length=200, default="")

    class Meta:
        table_name = "appointment_event"


class OutboxMessage(BaseModel):
    """A message exists here before anything is sent; the worker claims and sends it once."""
    patient = pw.ForeignKeyField(Patient, null=True, backref="messages", on_delete="CASCADE")
    staff = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="CASCADE")
    appointment = pw.ForeignKeyField(Appointment, null=True, backref="messages", on_delete="CASCADE")
    channel = pw.CharField(max_length=10)
    recipient = pw.CharField(max_length=120)
    template = pw.CharField(max_length=40)
    locale = pw.CharField(max_length=10, default="zh_CN")
    context = pw.TextField(default="{}")  # JSON; never clinical details
    scheduled_at = pw.DateTimeField(index=True)
    not_after = pw.DateTimeField(null=True)  # a reminder is pointless once the visit began
    status = pw.CharField(max_length=10, default="pending", index=True)
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(null=True)
    claimed_at = pw.DateTimeField(null=True)
    sent_at = pw.DateTimeField(null=True)
    last_error = pw.CharField(max_length=300, default="")
    unique_key = pw.CharField(max_length=120, unique=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "outbox_message"


class CalendarFeed(BaseModel):
    doctor = pw.ForeignKeyField(Staff, backref="calendar_feeds", on_delete="CASCADE")
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=utcnow)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "calendar_feed"


class ScheduleVersion(BaseModel):
    """One row whose `n` database triggers move on any change the schedule grid shows
    (migration 0008); rendered day grids are kept per value of it."""
    n = pw.BigIntegerField(default=0)

    class Meta:
        table_name = "schedule_version"
