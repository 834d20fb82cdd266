"""Booking rules: shifts, overlaps of doctor/chair/patient, durations, moves, statuses."""
import threading
from datetime import datetime, time, timedelta

import peewee as pw
import pytest

from portal.db import db
from portal.models import Appointment, AppointmentEvent, AuditEvent, OutboxMessage
from portal.services import ServiceError, shifts
from portal.services import schedule as booking
from tests.schedule_fixtures import clinic  # noqa: F401

pytestmark = pytest.mark.usefixtures("clinic")


def book(app, staff, patient, clinic, hour, minute=0, minutes=30, doctor=0, chair=0, kind="revisit"):
    return booking.book(staff["frontdesk"], patient, clinic["doctors"][doctor], clinic["chairs"][chair],
                        clinic["at"](hour, minute), minutes, kind, app.config)


def test_booking_creates_appointment_history_audit_and_messages(app, staff, make_patient, clinic):
    p = make_patient(consents={"reminders": True})
    with app.app_context():
        appt = book(app, staff, p, clinic, 10)
    assert appt.status == "booked" and appt.end_at - appt.start_at == timedelta(minutes=30)
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt).count() == 1
    assert AuditEvent.select().where(AuditEvent.object_ref == appt.code, AuditEvent.action == "create").exists()
    templates = {m.template for m in OutboxMessage.select().where(OutboxMessage.appointment == appt)}
    assert templates == {"booking_confirmation", "reminder_day_before", "reminder_hours_before"}


@pytest.mark.parametrize("case,kwargs,message", [
    ("doctor", {"chair": 1}, "doctor is already booked"),
    ("chair", {"doctor": 1}, "chair is already taken"),
    ("patient", {"doctor": 1, "chair": 1}, "patient already has an appointment"),
])
def test_no_double_booking(app, staff, make_patient, clinic, case, kwargs, message):
    first, second = make_patient(name="王一"), make_patient(name="王二")
    with app.app_context():
        book(app, staff, first, clinic, 10, minutes=60)
        who = first if case == "patient" else second
        with pytest.raises(booking.Conflict) as err:
            book(app, staff, who, clinic, 10, 30, **kwargs)
        assert message in str(err.value.message)
        assert err.value.suggestions, "a conflict offers the nearest free slots"
        assert all(s.start >= clinic["at"](9) for s in err.value.suggestions)
    assert Appointment.select().count() == 1


def test_touching_appointments_do_not_overlap(app, staff, make_patient, clinic):
    with app.app_context():
        book(app, staff, make_patient(name="甲"), clinic, 10)
        book(app, staff, make_patient(name="乙"), clinic, 10, 30)
    assert Appointment.select().count() == 2


def test_outside_shift_and_on_leave_refused(app, staff, make_patient, clinic):
    p = make_patient()
    with app.app_context():
        with pytest.raises(booking.Conflict, match="not working"):
            book(app, staff, p, clinic, 12, 30)  # the lunch break
        with pytest.raises(booking.Conflict, match="not working"):
            book(app, staff, p, clinic, 17, 45)  # runs past 18:00
        shifts.add_exception("leave", clinic["day"], staff["manager"], clinic["doctors"][0])
        with pytest.raises(booking.Conflict, match="not working"):
            book(app, staff, p, clinic, 10)
        shifts.add_exception("holiday", clinic["day"], staff["manager"])
        with pytest.raises(booking.Conflict):
            book(app, staff, p, clinic, 10, doctor=1)
    assert Appointment.select().count() == 0


def test_extra_session_opens_time(app, staff, make_patient, clinic):
    with app.app_context():
        shifts.add_exception("extra", clinic["day"], staff["manager"], clinic["doctors"][0], time(19), time(21))
        appt = book(app, staff, make_patient(), clinic, 19, 30)
    assert appt.status == "booked"


def test_first_visit_needs_an_hour(app, staff, make_patient, clinic):
    with app.app_context(), pytest.raises(ServiceError, match="at least 60 minutes"):
        book(app, staff, make_patient(), clinic, 9, minutes=45, kind="first")


def test_status_flow_and_cancellation_reason(app, staff, make_patient, clinic, clock):
    with app.app_context():
        appt = book(app, staff, make_patient(), clinic, 9)
        other = book(app, staff, make_patient(name="李二", consents={"reminders": True}), clinic, 10)
        clock.set(f"{clinic['day'].isoformat()} 08:30")  # status changes happen on the appointment's day
        with pytest.raises(ServiceError):
            booking.change_status(appt, "completed", staff["nurse"], app.config)
        for status in ("arrived", "seated", "completed"):
            booking.change_status(appt, status, staff["nurse"], app.config)
        assert appt.arrived_at and appt.seated_at and appt.completed_at
        with pytest.raises(ServiceError, match="why"):
            booking.change_status(other, "cancelled", staff["frontdesk"], app.config, "")
        booking.change_status(other, "cancelled", staff["frontdesk"], app.config, "patient ill")
    assert [e.to_status for e in AppointmentEvent.select().where(AppointmentEvent.appointment == appt)
            .order_by(AppointmentEvent.id)] == ["booked", "arrived", "seated", "completed"]
    assert {m.status for m in OutboxMessage.select().where(OutboxMessage.appointment == other,
                                                           OutboxMessage.template.startswith("reminder"))} == {"cancelled"}


def test_cancelled_slot_can_be_booked_again(app, staff, make_patient, clinic):
    with app.app_context():
        appt = book(app, staff, make_patient(name="甲"), clinic, 11)
        booking.change_status(appt, "cancelled", staff["frontdesk"], app.config, "rain")
        book(app, staff, make_patient(name="乙"), clinic, 11)
    assert Appointment.select().where(Appointment.status == "booked").count() == 1


def test_move_keeps_history_and_requeues_messages(app, staff, make_patient, clinic):
    with app.app_context():
        blocker = book(app, staff, make_patient(name="占"), clinic, 14)
        appt = book(app, staff, make_patient(name="移"), clinic, 10)
        with pytest.raises(booking.Conflict):
            booking.move(appt, staff["frontdesk"], clinic["at"](14), 30, clinic["doctors"][0], clinic["chairs"][0], app.config)
        assert Appointment.get_by_id(appt.id).status == "booked"  # the failed move changed nothing
        new = booking.move(appt, staff["frontdesk"], clinic["at"](15), 30, clinic["doctors"][0], clinic["chairs"][0],
                           app.config, "patient asked")
    old = Appointment.get_by_id(appt.id)
    assert old.status == "rescheduled" and old.rescheduled_to_id == new.id and blocker.status == "booked"
    assert OutboxMessage.select().where(OutboxMessage.appointment == new, OutboxMessage.template == "change_notice").exists()
    assert not OutboxMessage.select().where(OutboxMessage.appointment == old, OutboxMessage.status == "pending").exists()


def test_free_slot_search_respects_preference_and_bookings(app, staff, make_patient, clinic):
    with app.app_context():
        book(app, staff, make_patient(), clinic, 13, 30, minutes=60)
        slots = booking.free_slots(clinic["doctors"][0], 30, clinic["at"](0), app.config, days=1,
                                   preference="afternoon", limit=3)
    assert [s.start.time() for s in slots] == [time(14, 30), time(14, 45), time(15, 0)]


def test_sixteen_clients_race_for_one_slot(app, staff, make_patient, clinic):
    """Many rounds, 16 threads each with its own connection: exactly one wins, no 'database is locked'."""
    patients = [make_patient(name="赛" + "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"[i], phone=f"1370000{i:04d}") for i in range(16)]
    errors, winners_per_round = [], []
    config = dict(app.config)
    for round_no in range(6):
        start = clinic["at"](9) + timedelta(minutes=30 * round_no)
        barrier, wins = threading.Barrier(16), []

        def attempt(i):
            try:
                with app.app_context():
                    barrier.wait()
                    booking.book(staff["frontdesk"], patients[i], clinic["doctors"][0], clinic["chairs"][i % 2],
                                 start, 30, "revisit", config)
                    wins.append(i)
            except booking.Conflict:
                pass
            except Exception as exc:  # 'database is locked' or anything else is a failure
                errors.append(repr(exc))
            finally:
                if not db.is_closed():
                    db.close()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        winners_per_round.append(len(wins))
    assert errors == []
    assert winners_per_round == [1] * 6
    rows = list(Appointment.select().where(Appointment.status == "booked").order_by(Appointment.start_at))
    assert len(rows) == 6
    for a, b in zip(rows, rows[1:]):
        assert a.end_at <= b.start_at


def test_database_refuses_overlap_even_without_the_check(app, staff, make_patient, clinic):
    """On PostgreSQL the exclusion constraint is the last line of defence."""
    from portal.db import is_postgres
    if not is_postgres():
        pytest.skip("SQLite serialises bookings with BEGIN IMMEDIATE; there is no constraint to test")
    p, q = make_patient(name="一"), make_patient(name="二")
    with app.app_context():
        a = book(app, staff, p, clinic, 9)
    with pytest.raises(pw.IntegrityError), db.atomic():
        Appointment.create(code="RAWINSERT", patient=q, doctor=a.doctor_id, chair=clinic["chairs"][1],
                           start_at=a.start_at, end_at=a.end_at, visit_type="revisit")
