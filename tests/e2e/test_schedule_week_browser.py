"""The week book and the check-in board in a browser (issue 13): a free cell opens the booking
form filled in; a row's cancel and no-show change that row in place, without reloading the page;
the week scrolls inside its card on a phone."""
import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Chair, PatientTag, Staff, Tag, new_code
from portal.services import schedule as booking
from portal.services import shifts
from tests import factories
from tests.clock import clinic_today

pytestmark = pytest.mark.e2e


@pytest.fixture()
def desk_day(live_app):
    """Today at the clinic: one doctor on shift, two chairs, two visits (11:00 and 14:00)."""
    with live_app.app_context():
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        chairs = [Chair.create(code=new_code(6), name=f"{i}号椅", sort_order=i) for i in (1, 2)]
        today = clinic_today()
        for weekday in range(7):
            shifts.add_pattern(doctor, weekday, time(9), time(12), today - timedelta(days=7))
            shifts.add_pattern(doctor, weekday, time(13, 30), time(18), today - timedelta(days=7))
        allergic = factories.patient(desk, name="王过敏", allergies="青霉素")
        PatientTag.create(patient=allergic, tag=Tag.get(Tag.name == "牙齿敏感"))
        visits = [booking.book(desk, p, doctor, chairs[0], datetime.combine(today, time(h)), 30, "revisit",
                               live_app.config)
                  for p, h in ((allergic, 11), (factories.patient(desk, name="李准时"), 14))]
    return {"doctor": doctor, "chairs": chairs, "visits": visits, "today": today}


def test_a_free_cell_in_the_week_opens_the_booking_form_filled_in(live_app, web, desk_day):
    page = web.login("frontdesk")
    page.goto("/schedule/week")
    block = page.locator("a.wb", has_text="王过敏")
    expect(block).to_be_visible()
    expect(block.locator(".flag-allergy")).to_have_attribute("title", re.compile("青霉素"))
    today = desk_day["today"].isoformat()
    free = page.locator(f"a.wb-free[href*='start={today}T11:30']").first
    free.click()
    page.wait_for_url(re.compile(r"/appointments/new\?"))
    expect(page.locator("input[name=time]")).to_have_value("11:30")
    expect(page.locator("input[name=day]")).to_have_value(today)
    expect(page.locator("select[name=doctor]")).to_have_value(str(desk_day["doctor"].id))


def test_check_in_rows_change_in_place(live_app, web, desk_day):
    page = web.login("frontdesk")
    page.goto("/checkin")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    later, first = (f"#row-{a.code}" for a in reversed(desk_day["visits"]))
    row = page.locator(later)
    row.locator("summary").click()
    row.locator("input[name=reason]").fill("发烧，改天再约")
    row.locator("form.row-form button").click()
    expect(page.locator(f"{later} .badge.status-cancelled")).to_be_visible()
    page.locator(first).locator("form:has(input[value=no_show]) button").click()
    expect(page.locator(f"{first} .badge.status-no_show")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    with live_app.app_context():
        assert [Appointment.get_by_id(a.id).status for a in desk_day["visits"]] == ["no_show", "cancelled"]


def test_the_week_scrolls_inside_its_card_on_a_phone(live_app, web, desk_day):
    page = web.page()
    page.set_viewport_size({"width": 390, "height": 844})
    web.login("frontdesk", page=page)
    page.goto("/schedule/week?by=chair")
    expect(page.locator("table.weekbook")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scroller = page.locator(".weekbook-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
