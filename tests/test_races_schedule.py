"""Appointment status changes under races and double clicks (issue 12): one transition wins, the
loser is told who changed it and when, and nothing it did survives."""
import threading
import time as _time
from datetime import timedelta

import pytest

from portal.db import db
from portal.models import Appointment, AppointmentEvent, AuditEvent, OutboxMessage
from portal.services import Conflict, ServiceError
from portal.services import schedule as booking
from portal.services.clock import to_local
from tests.races import race
from tests.schedule_fixtures import clinic  # noqa: F401

pytestmark = pytest.mark.usefixtures("clinic")


def _book(app, staff, patient, clinic, hour, minute=0, doctor=0, chair=0, minutes=30):
    return booking.book(staff["frontdesk"], patient, clinic["doctors"][doctor], clinic["chairs"][chair],
                        clinic["at"](hour, minute), minutes, "revisit", app.config)


def _on_the_day(clock, clinic, hhmm="08:30"):
    clock.set(f"{clinic['day'].isoformat()} {hhmm}")  # arrival and no-show happen on the clinic day


def _race(app, n, work):
    """n desks at once (tests/races.py); returns (wins, conflicts, errors)."""
    results, errors = race(app, n, work, prepare=work.prepare)
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    errors += [repr(r) for r in results if isinstance(r, ServiceError) and not isinstance(r, Conflict)]
    return wins, [str(r.message) for r in results if isinstance(r, Conflict)], errors


class _Change:
    def __init__(self, app, appt_id, to, actor, reason=""):
        self.app, self.appt_id, self.to, self.actor, self.reason = app, appt_id, to, actor, reason

    def prepare(self, i):  # every desk loaded the page before anyone clicked
        return Appointment.get_by_id(self.appt_id)

    def __call__(self, i, appt):
        booking.change_status(appt, self.to, self.actor, dict(self.app.config), self.reason)
        return i


def test_sixteen_arrivals_write_one_event(app, staff, make_patient, clinic, clock):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 9)
    _on_the_day(clock, clinic)
    wins, conflicts, errors = _race(app, 16, _Change(app, appt.id, "arrived", staff["nurse"]))
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("already marked arrived by Demo nurse" in c for c in conflicts)
    events = AppointmentEvent.select().where(AppointmentEvent.appointment == appt.id,
                                             AppointmentEvent.to_status == "arrived")
    assert events.count() == 1
    assert AuditEvent.select().where(AuditEvent.object_ref == appt.code,
                                     AuditEvent.detail.contains('"arrived"')).count() == 1
    assert Appointment.get_by_id(appt.id).status == "arrived"


def test_double_clicked_cancel_keeps_its_notice(app, staff, make_patient, clinic):
    """Two clicks that both loaded 'booked': the second changes nothing, so the notice the first
    queued is not withdrawn and is queued once."""
    with app.app_context():
        appt = _book(app, staff, make_patient(consents={"reminders": True}), clinic, 10)
        first, second = Appointment.get_by_id(appt.id), Appointment.get_by_id(appt.id)
        booking.change_status(first, "cancelled", staff["frontdesk"], app.config, "patient ill")
        with pytest.raises(Conflict) as refused:
            booking.change_status(second, "cancelled", staff["frontdesk"], app.config, "double click")
    event = AppointmentEvent.get(AppointmentEvent.appointment == appt.id, AppointmentEvent.to_status == "cancelled")
    at = to_local(event.at, app.config["PORTAL_TZ"]).strftime("%H:%M")
    assert str(refused.value.message) == f"This appointment was already cancelled by Demo frontdesk at {at}."
    notices = list(OutboxMessage.select().where(OutboxMessage.appointment == appt.id,
                                                OutboxMessage.template == "cancellation_notice"))
    assert len(notices) == 1 and notices[0].status != "cancelled"
    row = Appointment.get_by_id(appt.id)
    assert row.status == "cancelled" and row.cancel_reason == "patient ill"  # the reason it was cancelled for
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt.id,
                                           AppointmentEvent.to_status == "cancelled").count() == 1


def test_sixteen_cancels_queue_one_notice(app, staff, make_patient, clinic):
    with app.app_context():
        appt = _book(app, staff, make_patient(consents={"reminders": True}), clinic, 11)
    wins, conflicts, errors = _race(app, 16, _Change(app, appt.id, "cancelled", staff["frontdesk"], "ill"))
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    notices = list(OutboxMessage.select().where(OutboxMessage.appointment == appt.id,
                                                OutboxMessage.template == "cancellation_notice"))
    assert len(notices) == 1 and notices[0].status != "cancelled"
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt.id,
                                           AppointmentEvent.to_status == "cancelled").count() == 1


def _active_overlaps(doctor_id):
    rows = list(Appointment.select().where(Appointment.doctor == doctor_id,
                                           Appointment.status.in_(("booked", "arrived", "seated", "completed")))
                .order_by(Appointment.start_at))
    return [(a.code, b.code) for a, b in zip(rows, rows[1:]) if b.start_at < a.end_at]


def test_stale_arrival_after_cancel_and_rebooking_is_refused(app, staff, make_patient, clinic, clock):
    """The desk cancels, another desk books the freed time, then a nurse who loaded the page before
    the cancel clicks 'arrived': the cancelled appointment must not come back over the new one."""
    with app.app_context():
        appt = _book(app, staff, make_patient(name="取消"), clinic, 9)
        _on_the_day(clock, clinic)
        desk_view, nurse_view = Appointment.get_by_id(appt.id), Appointment.get_by_id(appt.id)
        booking.change_status(desk_view, "cancelled", staff["frontdesk"], app.config, "rain")
        _book(app, staff, make_patient(name="新约"), clinic, 9)
        with pytest.raises(Conflict, match="already cancelled by Demo frontdesk"):
            booking.change_status(nurse_view, "arrived", staff["nurse"], app.config)
    assert Appointment.get_by_id(appt.id).status == "cancelled"
    assert _active_overlaps(clinic["doctors"][0].id) == []


def test_cancel_racing_arrival_and_rebooking_never_double_books(app, staff, make_patient, clinic, clock):
    """30 trials of three desks at once: cancel, 'arrived' (both loaded 'booked'), and a rebooking of
    the same time that keeps trying until the time is free."""
    _on_the_day(clock, clinic, "07:00")
    config = dict(app.config)
    patients = [make_patient(name="试" + "甲乙丙丁戊己"[i // 10] + "子丑寅卯辰巳午未申酉"[i % 10], phone=f"1380000{i:04d}") for i in range(60)]
    starts = [divmod(m, 60) for m in list(range(9 * 60, 12 * 60, 20)) + list(range(13 * 60 + 30, 17 * 60 + 41, 20))]
    errors = []
    for trial in range(30):
        hour, minute = starts[trial % len(starts)]
        doctor = chair = trial // len(starts)
        with app.app_context():
            appt = _book(app, staff, patients[2 * trial], clinic, hour, minute, doctor, chair, minutes=20)
        barrier = threading.Barrier(3)

        def cancel():
            loaded = Appointment.get_by_id(appt.id)
            barrier.wait()
            booking.change_status(loaded, "cancelled", staff["frontdesk"], config, "rain")

        def arrive():
            loaded = Appointment.get_by_id(appt.id)
            barrier.wait()
            _time.sleep(0.002)
            booking.change_status(loaded, "arrived", staff["nurse"], config)

        def rebook():
            barrier.wait()
            for _ in range(200):
                try:
                    return _book(app, staff, patients[2 * trial + 1], clinic, hour, minute, doctor, chair, minutes=20)
                except booking.Conflict:
                    if Appointment.get_by_id(appt.id).status == "arrived":
                        return None
                    _time.sleep(0.001)

        def run(fn):
            try:
                with app.app_context():
                    fn()
            except Conflict:
                pass
            except Exception as exc:
                errors.append(repr(exc))
            finally:
                if not db.is_closed():
                    db.close()

        threads = [threading.Thread(target=run, args=(fn,)) for fn in (cancel, arrive, rebook)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    for doctor in clinic["doctors"]:
        assert _active_overlaps(doctor.id) == []


def test_confirm_twice_is_refused_with_who(app, staff, make_patient, clinic):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 14)
        a, b = Appointment.get_by_id(appt.id), Appointment.get_by_id(appt.id)
        booking.confirm(a, staff["frontdesk"], "phone")
        with pytest.raises(Conflict, match="already confirmed by Demo frontdesk"):
            booking.confirm(b, staff["manager"], "phone")
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt.id,
                                           AppointmentEvent.change == "confirmed").count() == 1


def test_moving_a_cancelled_appointment_is_a_conflict(app, staff, make_patient, clinic):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 15)
        stale = Appointment.get_by_id(appt.id)
        booking.change_status(appt, "cancelled", staff["frontdesk"], app.config, "rain")
        with pytest.raises(Conflict, match="already cancelled"):
            booking.move(stale, staff["frontdesk"], clinic["at"](16), 30, clinic["doctors"][0], clinic["chairs"][0],
                         app.config)
    assert Appointment.select().count() == 1


def test_status_still_only_on_the_clinic_day(app, staff, make_patient, clinic, clock):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 9)
        clock.set(f"{(clinic['day'] - timedelta(days=1)).isoformat()} 09:00")
        with pytest.raises(Exception, match="recorded on that day") as refused:
            booking.change_status(appt, "arrived", staff["nurse"], app.config)
        assert not isinstance(refused.value, Conflict)
    assert Appointment.get_by_id(appt.id).status == "booked"


# Routes: the loser of a race or a double click is answered 409, not a 303 that looks like success.

def test_second_cancel_click_answers_409(as_role, make_patient, clinic, app, staff):
    with app.app_context():
        appt = _book(app, staff, make_patient(consents={"reminders": True}), clinic, 10)
    desk = as_role("frontdesk")
    form = {"to": "cancelled", "reason": "ill", "seen": "booked"}
    assert desk.post(f"/appointments/{appt.code}/status", data=form).status_code == 303
    again = desk.post(f"/appointments/{appt.code}/status", data=form)
    assert again.status_code == 409 and "already cancelled by Demo frontdesk" in again.get_data(as_text=True)
    htmx = desk.post(f"/appointments/{appt.code}/status", data=form, headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "#notice"
    assert OutboxMessage.get(OutboxMessage.appointment == appt.id,
                             OutboxMessage.template == "cancellation_notice").status != "cancelled"


def test_arrival_on_a_page_loaded_before_a_cancel_answers_409(as_role, make_patient, clinic, app, staff, clock):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 9)
    _on_the_day(clock, clinic)
    assert as_role("frontdesk").post(f"/appointments/{appt.code}/status",
                                     data={"to": "cancelled", "reason": "ill"}).status_code == 303
    resp = as_role("nurse").post(f"/appointments/{appt.code}/status",
                                 data={"to": "arrived", "seen": "booked", "back": "checkin"})
    assert resp.status_code == 409 and "already cancelled" in resp.get_data(as_text=True)
    assert Appointment.get_by_id(appt.id).status == "cancelled"


def test_second_confirm_click_answers_409(as_role, make_patient, clinic, app, staff):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 11)
    desk = as_role("frontdesk")
    assert desk.post(f"/appointments/{appt.code}/confirm", data={"how": "phone"}).status_code == 303
    assert desk.post(f"/appointments/{appt.code}/confirm", data={"how": "phone"}).status_code == 409


def test_status_page_carries_what_the_user_saw(as_role, make_patient, clinic, app, staff):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 11)
    page = as_role("frontdesk").get(f"/appointments/{appt.code}").get_data(as_text=True)
    assert 'name="seen" value="booked"' in page


def test_the_loser_is_told_in_their_language_in_clinic_time(as_role, make_patient, clinic, app, staff):
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 10)
    staff["frontdesk"].display_name = "李芳"
    staff["frontdesk"].save()
    staff["manager"].locale = "zh_CN"
    staff["manager"].save()
    assert as_role("frontdesk").post(f"/appointments/{appt.code}/status",
                                     data={"to": "cancelled", "reason": "ill"}).status_code == 303
    event = AppointmentEvent.get(AppointmentEvent.appointment == appt.id, AppointmentEvent.to_status == "cancelled")
    at = to_local(event.at, app.config["PORTAL_TZ"]).strftime("%H:%M")
    resp = as_role("manager").post(f"/appointments/{appt.code}/status",
                                   data={"to": "cancelled", "reason": "again", "seen": "booked"})
    assert resp.status_code == 409 and f"该预约已由李芳于{at}取消。" in resp.get_data(as_text=True)


def test_moving_an_appointment_cancelled_meanwhile_answers_409_naming_who(as_role, make_patient, clinic, app, staff):
    """The move page was open when another desk cancelled: the move is refused as a conflict (who,
    when), not as bad input, and nothing is booked."""
    with app.app_context():
        appt = _book(app, staff, make_patient(), clinic, 10)
    mover = as_role("manager")
    assert mover.get(f"/appointments/{appt.code}/move").status_code == 200
    assert as_role("frontdesk").post(f"/appointments/{appt.code}/status",
                                     data={"to": "cancelled", "reason": "ill"}).status_code == 303
    start = clinic["at"](14)
    resp = mover.post(f"/appointments/{appt.code}/move", data={
        "day": start.date().isoformat(), "time": start.strftime("%H:%M"), "minutes": 30,
        "doctor": clinic["doctors"][0].id, "chair": clinic["chairs"][0].id, "reason": "patient asked"})
    assert resp.status_code == 409 and "already cancelled by Demo frontdesk" in resp.get_data(as_text=True)
    assert Appointment.select().count() == 1 and Appointment.get_by_id(appt.id).status == "cancelled"
