"""A first visit is completed; two days later the consultant's worklist shows the call; the
consultant records swelling 8/10; the doctor's day shows the urgent task."""
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Chair, Staff, new_code, utcnow
from portal.services.clock import local_now
from tests import factories

pytestmark = pytest.mark.e2e


def test_first_visit_call_escalates_to_the_doctors_day(live_app, web, frontdesk_staff):
    with live_app.app_context():
        doctor = Staff.get(Staff.username == "doctor")
        patient = factories.patient(frontdesk_staff, name="肿胀测试", birth_date=date(1985, 3, 3))
        chair = Chair.create(code=new_code(6), name="1号椅")
        appt = Appointment.create(code=new_code(), patient=patient, doctor=doctor, chair=chair, visit_type="first",
                                  start_at=utcnow() - timedelta(minutes=50), end_at=utcnow() + timedelta(minutes=10),
                                  status="seated")
    nurse = web.login("nurse")
    nurse.goto(f"/appointments/{appt.code}")
    nurse.get_by_role("button", name="Complete").click()
    expect(nurse.locator(".badge.big")).to_contain_text("Completed")

    consultant = web.login("consultant")
    expect(consultant.locator("nav.mainnav")).to_contain_text("Follow-ups")
    consultant.goto("/followups")
    expect(consultant.locator("#worklist")).not_to_contain_text("肿胀测试")
    in_two_days = (local_now(live_app.config["PORTAL_TZ"]).date() + timedelta(days=2)).isoformat()
    consultant.goto(f"/followups?date={in_two_days}")
    row = consultant.locator(".calls .call", has_text="肿胀测试")
    expect(row).to_be_visible()
    expect(row.locator("a.tel")).to_have_attribute("href", f"tel:{patient.phone}")
    row.locator("a.name").click()
    consultant.locator("label.chip", has_text="Reached").click()
    consultant.locator("#q-swelling label.chip", has_text="8").click()
    consultant.locator("#q-pain label.chip", has_text="3").click()
    consultant.fill("textarea[name=notes]", "Cheek swollen since last night.")
    consultant.get_by_role("button", name="Save the call").click()
    expect(consultant.locator(".flash.error")).to_contain_text("urgent task")
    expect(consultant.get_by_role("link", name="Offer an earlier visit")).to_have_attribute(
        "href", f"/schedule/free?doctor={doctor.id}&patient={patient.chart_no}")

    doc = web.login("doctor")
    doc.goto("/schedule/mine")
    tasks = doc.locator("#urgent-tasks")
    expect(tasks).to_contain_text("肿胀测试")
    expect(tasks).to_contain_text("Swelling")
    tasks.locator("input[name=handling]").fill("Called; seen tomorrow at 9:00.")
    tasks.get_by_role("button", name="Handled").click()
    expect(doc.locator("#urgent-tasks")).to_have_count(0)
