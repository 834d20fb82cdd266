"""A first visit booked at the desk, on the doctor's day, checked in and seated; the confirmation
goes through the outbox and is delivered by a real worker process."""
import os
import subprocess
import time
from datetime import date, datetime, time as hour_min, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Chair, OutboxMessage, Staff, new_code
from portal.services import shifts
from tests import factories
from tests.e2e.test_registry import type_search
from tests.notify_servers import Gateway
from tests.clock import clinic_today

pytestmark = pytest.mark.e2e


def _next_working_day() -> date:
    day = clinic_today() + timedelta(days=1)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


@pytest.fixture()
def gateway():
    gw = Gateway()
    yield gw
    gw.close()


def test_book_first_visit_doctor_day_checkin_and_worker_delivery(live_app, web, frontdesk_staff, gateway, tmp_path, clock):
    from portal.jobs import huey
    day = _next_working_day()
    live_app.config.update(QUIET_HOURS=("00:00", "00:00"), SMS_GATEWAY_URL="http://127.0.0.1:9/not-this-process")
    with live_app.app_context():
        doctor = Staff.get(Staff.username == "doctor")
        chair = Chair.create(code=new_code(6), name="1号椅")
        for weekday in range(7):
            shifts.add_pattern(doctor, weekday, hour_min(9), hour_min(12), clinic_today() - timedelta(days=1), chair=chair)
    patient = factories.patient(frontdesk_staff, name="张小明", birth_date=date(2015, 3, 8),
                                consents={"reminders": True, "treatment": True})
    huey.immediate = False  # messages wait in the real queue for the worker
    worker = None
    try:
        desk = web.login("frontdesk")
        desk.goto("/patients")
        type_search(desk, "zxm")
        desk.click("#results a.row:has-text('张小明')")
        desk.wait_for_url(f"**/patients/{patient.code}")
        desk.click("#appointments a:has-text('Book')")
        desk.select_option("#visit_type", "first")
        desk.fill("#day", day.isoformat())
        desk.fill("#time", "10:00")
        desk.fill("#minutes", "60")
        desk.select_option("#doctor", str(doctor.id))
        desk.click("main form button.primary[type=submit]")
        desk.wait_for_url("**/appointments/*")
        expect(desk.locator("h1")).to_contain_text("张小明")
        appt = Appointment.get(Appointment.patient == patient)
        assert appt.visit_type == "first" and (appt.end_at - appt.start_at) == timedelta(minutes=60)

        doc = web.login("doctor")
        doc.goto(f"/schedule/mine?date={day.isoformat()}")
        expect(doc.locator("main")).to_contain_text("张小明")
        expect(doc.locator("main")).to_contain_text("10:00–11:00")

        clock.set(datetime.combine(day, hour_min(9, 50)))  # the day of the visit: the patient arrives
        desk = web.login("frontdesk")  # a new working day, a new session
        desk.goto(f"/checkin?date={day.isoformat()}")
        row = desk.locator("tr", has_text="张小明")
        row.locator("button:has-text('Check in')").click()
        expect(desk.locator("tr", has_text="张小明")).to_contain_text("Arrived")
        desk.locator("tr", has_text="张小明").locator("button:has-text('Seat')").click()
        expect(desk.locator("tr", has_text="张小明")).to_contain_text("Seated")
        assert Appointment.get_by_id(appt.id).status == "seated"

        confirmation = OutboxMessage.get(OutboxMessage.appointment == appt, OutboxMessage.template == "booking_confirmation")
        assert confirmation.status == "pending"  # in the outbox, not yet sent by the web request
        env = {**os.environ, "DATABASE_URL": live_app.config["DATABASE_URL"], "SMS_GATEWAY_URL": gateway.url,
               "HUEY_URL": live_app.config["HUEY_URL"], "PORTAL_INSTANCE": str(tmp_path), "SECRET_KEY": "x"}
        worker = subprocess.Popen(clock.python_command("portal.cli", "worker"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and OutboxMessage.get_by_id(confirmation.id).status != "sent":
            time.sleep(0.2)
        assert OutboxMessage.get_by_id(confirmation.id).status == "sent"
        assert list(gateway.delivered) == [confirmation.unique_key]
        assert gateway.delivered[confirmation.unique_key]["to"] == patient.phone
        desk.goto("/outbox?status=sent")
        expect(desk.locator("main")).to_contain_text("张小明")
    finally:
        huey.immediate = True
        if worker is not None:
            worker.terminate()
            worker.wait(15)
