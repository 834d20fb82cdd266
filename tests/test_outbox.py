"""The outbox: queued once, sent once, on time, through real local SMTP and HTTP endpoints."""
import json
import os
import subprocess
import time
from datetime import datetime, timedelta
from email import message_from_bytes

import pytest

from portal.models import OutboxMessage, utcnow
from portal.notify import outbox
from portal.services import schedule as booking
from tests.notify_servers import Gateway, Mailbox
from tests.schedule_fixtures import clinic  # noqa: F401


@pytest.fixture()
def gateway():
    gw = Gateway()
    yield gw
    gw.close()


def _book(app, staff, clinic, patient, hour=10):
    with app.app_context():
        return booking.book(staff["frontdesk"], patient, clinic["doctors"][0], clinic["chairs"][0],
                            clinic["at"](hour), 30, "revisit", app.config)


def test_sms_through_a_real_http_gateway_once(app, staff, clinic, make_patient, gateway):
    app.config.update(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TOKEN="tok", CLINIC_PHONE="010-12345678")
    p = make_patient(phone="13912345678", consents={"reminders": True})
    appt = _book(app, staff, clinic, p)  # immediate mode: the confirmation goes at once
    confirmation = OutboxMessage.get(OutboxMessage.appointment == appt, OutboxMessage.template == "booking_confirmation")
    assert confirmation.status == "sent" and confirmation.attempts == 1
    assert len(gateway.requests) == 1
    sent = gateway.requests[0]
    assert sent["auth"] == "Bearer tok" and sent["body"]["to"] == "13912345678" and sent["key"] == confirmation.unique_key
    assert "010-12345678" in sent["body"]["text"] and p.name not in sent["body"]["text"]  # no names, no clinical details
    with app.app_context():
        assert outbox.send_one(confirmation.id, app.config) == "not-due"
        assert outbox.queue_for_booking(appt, app.config) == []  # queuing again adds nothing
    assert len(gateway.requests) == 1


def test_email_through_a_real_smtp_server(app, staff, clinic, make_patient):
    box = Mailbox()
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=box.port, MAIL_FROM="clinic@example.test")
        p = make_patient(email="mama@example.test", preferred_channel="email", consents={"reminders": True})
        appt = _book(app, staff, clinic, p)
        deadline = time.time() + 5
        while not box.messages and time.time() < deadline:
            time.sleep(0.05)
        assert len(box.messages) == 1
        mail = message_from_bytes(box.messages[0].content)
        assert box.messages[0].rcpt_tos == ["mama@example.test"] and mail["Message-ID"] == f"<appt-{appt.id}-booking_confirmation@example.test>"
    finally:
        box.close()


def test_no_consent_means_skipped_not_sent(app, staff, clinic, make_patient, gateway):
    app.config["SMS_GATEWAY_URL"] = gateway.url
    p = make_patient(consents={"reminders": False})
    appt = _book(app, staff, clinic, p)
    assert {m.status for m in OutboxMessage.select().where(OutboxMessage.appointment == appt)} == {"skipped"}
    assert gateway.requests == []


def test_failures_back_off_then_fail_and_staff_can_retry(app, staff, clinic, make_patient):
    gw = Gateway(fail_times=100)
    try:
        app.config.update(SMS_GATEWAY_URL=gw.url, OUTBOX_MAX_ATTEMPTS=3)
        appt = _book(app, staff, clinic, make_patient(consents={"reminders": True}))
        msg = OutboxMessage.get(OutboxMessage.appointment == appt, OutboxMessage.template == "booking_confirmation")
        assert msg.status == "pending" and msg.attempts == 1 and msg.next_attempt_at > utcnow()
        with app.app_context():
            now = utcnow()
            assert outbox.send_one(msg.id, app.config, now) == "not-due"  # backing off
            assert outbox.send_one(msg.id, app.config, now + timedelta(minutes=1)) == "retry"
            assert outbox.send_one(msg.id, app.config, now + timedelta(hours=1)) == "failed"
        assert OutboxMessage.get_by_id(msg.id).last_error.startswith("sms gateway answered 503")
        gw.fail_times = 0
        client = __import__("tests.conftest", fromlist=["sign_in"]).sign_in(app.test_client(), staff["frontdesk"])
        assert client.post(f"/outbox/{msg.id}/retry").status_code == 303
        assert OutboxMessage.get_by_id(msg.id).status == "sent"
    finally:
        gw.close()


def test_reminder_never_goes_after_the_visit(app, staff, clinic, make_patient, gateway):
    app.config["SMS_GATEWAY_URL"] = gateway.url
    appt = _book(app, staff, clinic, make_patient(consents={"reminders": True}))
    day_before = OutboxMessage.get(OutboxMessage.appointment == appt, OutboxMessage.template == "reminder_day_before")
    with app.app_context():
        # The worker was down until after the visit began: catching up must not send it.
        assert outbox.send_due(app.config, now=appt.start_at + timedelta(minutes=1)).get("skipped") == 2
    assert OutboxMessage.get_by_id(day_before.id).status == "skipped"
    assert [r["key"] for r in gateway.requests] == [f"appt:{appt.id}:booking_confirmation"]


def test_catch_up_sends_late_reminders_still_before_the_visit(app, staff, clinic, make_patient, gateway):
    app.config["SMS_GATEWAY_URL"] = gateway.url
    appt = _book(app, staff, clinic, make_patient(consents={"reminders": True}))
    with app.app_context():
        counts = outbox.send_due(app.config, now=appt.start_at - timedelta(hours=1))
    assert counts == {"sent": 2}
    assert len(gateway.delivered) == 3


@pytest.mark.parametrize("local,visit,expected", [
    ("2026-03-10 22:30", "2026-03-11 15:00", "2026-03-11 08:00"),   # late evening → next morning
    ("2026-03-11 06:00", "2026-03-11 09:00", "2026-03-11 08:00"),   # early → 08:00, still before 09:00
    ("2026-03-11 06:00", "2026-03-11 08:15", "2026-03-10 20:30"),   # 08:00 is too close → evening before
    ("2026-03-11 10:00", "2026-03-11 15:00", "2026-03-11 10:00"),   # not quiet → unchanged
])
def test_quiet_hours(app, local, visit, expected):
    fmt = "%Y-%m-%d %H:%M"
    result = outbox.respect_quiet_hours(datetime.strptime(local, fmt), datetime.strptime(visit, fmt), app.config)
    assert result.strftime(fmt) == expected


def test_worker_killed_mid_send_delivers_every_due_message_exactly_once(app, staff, clinic, make_patient, tmp_path, clock):
    """A real `portal worker` process is killed while the gateway holds its request; on restart the
    stale claim is retried with the same key, and nothing is delivered twice or after its visit."""
    if not app.config["DATABASE_URL"].startswith("sqlite") and not os.environ.get("DATABASE_URL"):
        pytest.skip("needs the database the worker can reach")
    gw = Gateway(slow_first=30)
    patients = [make_patient(name="甲乙丙丁戊"[i] + "某", consents={"reminders": True}) for i in range(5)]
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "HUEY_URL": f"sqlite:///{tmp_path / 'huey.db'}",
           "SMS_GATEWAY_URL": gw.url, "OUTBOX_LEASE_SECONDS": "2", "PORTAL_INSTANCE": str(tmp_path),
           "SECRET_KEY": "x", "HUEY_IMMEDIATE": ""}
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/unused"  # nothing leaves from the test process
    from portal.jobs import huey
    huey.immediate = False
    try:
        with app.app_context():
            # Queue while the worker is down; queue everything twice.
            appts = [booking.book(staff["frontdesk"], p, clinic["doctors"][0], clinic["chairs"][0],
                                  clinic["at"](9) + timedelta(minutes=30 * i), 30, "revisit", app.config)
                     for i, p in enumerate(patients)]
            for a in appts:
                assert outbox.queue_for_booking(a, app.config) == []
            past_visit = OutboxMessage.get(OutboxMessage.appointment == appts[-1], OutboxMessage.template == "reminder_day_before")
            OutboxMessage.update(not_after=utcnow() - timedelta(minutes=1), scheduled_at=utcnow() - timedelta(hours=1)) \
                .where(OutboxMessage.id == past_visit.id).execute()
            OutboxMessage.update(scheduled_at=utcnow() - timedelta(seconds=5)).where(
                OutboxMessage.template == "booking_confirmation").execute()
        due = {m.unique_key for m in OutboxMessage.select().where(OutboxMessage.template == "booking_confirmation")}
        worker = subprocess.Popen(clock.python_command("portal.cli", "worker"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert gw.received.wait(30), "the worker never reached the gateway"
        worker.kill()  # mid-send: the gateway has the request, the outbox row says 'sending'
        worker.wait(10)
        stuck_keys = {m.unique_key for m in OutboxMessage.select().where(OutboxMessage.status == "sending")}
        assert stuck_keys, "the kill should leave a claimed, unfinished message"
        stuck = OutboxMessage.get(OutboxMessage.unique_key == sorted(stuck_keys)[0])
        time.sleep(2.5)  # the claim goes stale
        worker = subprocess.Popen(clock.python_command("portal.cli", "worker"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 40
        while time.time() < deadline and OutboxMessage.select().where(
                OutboxMessage.unique_key.in_(list(due)), OutboxMessage.status != "sent").exists():
            time.sleep(0.3)
        worker.terminate()
        worker.wait(15)
        assert OutboxMessage.get_by_id(stuck.id).status == "sent"
        assert set(gw.delivered) == due  # each exactly once (a repeated key is dropped by the gateway)
        keys = [r["key"] for r in gw.requests]
        # Only what was claimed at the kill is sent again (and the gateway drops the repeat): the
        # request the gateway was holding twice; another claimed row may not have reached it yet.
        held = gw.requests[0]["key"]
        assert held in stuck_keys and keys.count(held) == 2
        assert all(1 <= keys.count(k) <= 2 for k in stuck_keys) and all(keys.count(k) == 1 for k in due - stuck_keys)
        assert OutboxMessage.get_by_id(past_visit.id).status in ("pending", "skipped")
        assert past_visit.unique_key not in gw.delivered
    finally:
        huey.immediate = True
        gw.close()
