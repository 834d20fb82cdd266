"""Complaint deadlines on the Chinese calendar, closing with a survey, and the worker's overdue scan."""
from datetime import date, datetime, timedelta

import pytest

from portal.models import Complaint, ComplaintAction, OutboxMessage, Survey
from portal.services import ServiceError
from portal.services import complaints
from portal.services import workdays
from portal.services.clock import to_utc

TZ = "Asia/Shanghai"


def test_working_days_follow_holidays_and_make_up_days():
    # National Day 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are working days.
    assert workdays.is_workday(date(2025, 9, 28)) and workdays.is_workday(date(2025, 10, 11))
    assert not workdays.is_workday(date(2025, 10, 1)) and not workdays.is_workday(date(2025, 10, 8))
    assert workdays.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)  # Thu 9, Fri 10, make-up Sat 11
    assert workdays.add_workdays(date(2025, 9, 26), 3) == date(2025, 9, 30)   # make-up Sun 28, Mon 29, Tue 30
    # Spring Festival 2026: 15–23 February off; Saturday 14 and 28 February are working days.
    assert workdays.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert workdays.add_workdays(date(2026, 2, 14), 3) == date(2026, 2, 26)
    assert workdays.workdays_between(date(2025, 9, 30), date(2025, 10, 11)) == 3


def test_outside_the_published_calendar_falls_back_to_monday_to_friday():
    assert workdays.is_workday(date(2031, 10, 1))  # a Wednesday; no official schedule known yet
    assert workdays.add_workdays(date(2031, 1, 3), 3) == date(2031, 1, 8)  # Fri → Mon, Tue, Wed


@pytest.mark.parametrize("severity, received, due", [
    ("minor", datetime(2025, 9, 30, 15, 0), date(2025, 10, 11)),    # before National Day: the make-up Saturday
    ("medium", datetime(2025, 9, 30, 15, 0), date(2025, 10, 16)),
    ("severe", datetime(2025, 9, 30, 15, 0), date(2025, 10, 27)),
    ("minor", datetime(2025, 9, 30, 23, 30), date(2025, 10, 11)),   # late evening local is still the 30th
])
def test_resolution_due_in_working_days(severity, received, due):
    reply_due, resolve_due = complaints.deadlines(to_utc(received, TZ), severity, TZ)
    assert resolve_due == due
    assert reply_due == to_utc(received, TZ) + timedelta(hours=24)


def _receive(app, staff, patient=None, severity="minor", at=None):
    data = complaints.ComplaintData("phone", "attitude", severity, "Waited 40 minutes without being told why.",
                                    patient=patient, owner=staff["consultant"])
    return complaints.receive(data, staff["frontdesk"], app.config, received_at=at)


def test_receive_reply_resolve_close_plans_a_survey(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        c = _receive(app, staff, patient)
        complaints.add_action(c, staff["consultant"], "reply", "Called the patient and apologised.")
        complaints.add_action(Complaint.get_by_id(c.id), staff["consultant"], "action", "Desk now announces delays.")
        with pytest.raises(ServiceError, match="outcome"):
            complaints.close(Complaint.get_by_id(c.id), staff["consultant"], "phone", app.config)
        complaints.add_action(Complaint.get_by_id(c.id), staff["consultant"], "resolve", "Apology and a process change.")
        with pytest.raises(ServiceError):
            complaints.close(Complaint.get_by_id(c.id), staff["consultant"], "", app.config)
        survey = complaints.close(Complaint.get_by_id(c.id), staff["consultant"], "Told by phone", app.config)
    c = Complaint.get_by_id(c.id)
    assert c.status == "closed" and c.first_reply_at and c.resolved_at and c.outcome_told_at
    assert survey.source == "complaint" and Survey.select().where(Survey.complaint == c.id).count() == 1
    assert [a.kind for a in ComplaintAction.select().where(ComplaintAction.complaint == c)
            .order_by(ComplaintAction.id)] == ["received", "reply", "action", "resolve", "close"]


@pytest.mark.parametrize("field, kwargs", [("channel", {"channel": "pigeon"}), ("category", {"category": "price"}),
                                           ("severity", {"severity": "huge"}), ("summary", {"summary": "  "})])
def test_complaint_fields_are_checked(app, staff, field, kwargs):
    data = {"channel": "phone", "category": "process", "severity": "minor", "summary": "x", **kwargs}
    with app.app_context(), pytest.raises(ServiceError) as err:
        complaints.receive(complaints.ComplaintData(**data), staff["frontdesk"], app.config)
    assert err.value.field == field


def test_worker_flags_overdue_complaints_to_the_manager_once(app, staff, make_patient):
    received = to_utc(datetime(2025, 9, 30, 10, 0), TZ)
    with app.app_context():
        late_reply = _receive(app, staff, make_patient(), at=received)
        replied = _receive(app, staff, make_patient(name="王二"), at=received)
        complaints.add_action(replied, staff["consultant"], "reply", "Called back.", now=received + timedelta(hours=2))
        # Frozen clock: the next morning, only the unanswered one is late.
        assert complaints.scan_overdue(app.config, now=received + timedelta(hours=25)) == 1
        assert complaints.scan_overdue(app.config, now=received + timedelta(hours=26)) == 0  # flagged once
        # 10 October: not yet late on resolution (due the make-up Saturday, 11 October) ...
        assert complaints.scan_overdue(app.config, now=to_utc(datetime(2025, 10, 11, 18, 0), TZ)) == 0
        # ... 12 October: both are late on resolution (each flagged once more, for that).
        assert complaints.scan_overdue(app.config, now=to_utc(datetime(2025, 10, 12, 9, 0), TZ)) == 2
        assert complaints.scan_overdue(app.config, now=to_utc(datetime(2025, 10, 13, 9, 0), TZ)) == 0
        flags = complaints.overdue_flags(Complaint.get_by_id(replied.id), to_utc(datetime(2025, 10, 12, 9), TZ), TZ)
    assert flags == ["resolution"]
    assert Complaint.get_by_id(late_reply.id).flagged_at is not None
    notes = OutboxMessage.select().where(OutboxMessage.template == "complaint_overdue")
    assert {m.staff_id for m in notes} == {staff["manager"].id} and notes.count() == 3


def test_periodic_task_runs_the_scan(app, staff, make_patient):
    import tasks
    with app.app_context():
        _receive(app, staff, make_patient(), at=datetime(2020, 1, 2, 1, 0))
    with app.app_context():
        assert tasks.flag_overdue_complaints.call_local() == 2  # no first reply, and not resolved in time
        assert tasks.flag_overdue_complaints.call_local() == 0
    notes = OutboxMessage.select().where(OutboxMessage.template == "complaint_overdue")
    assert [m.staff_id for m in notes] == [staff["manager"].id] * 2
