"""Checking a patient in from a block of the day grid swaps that block alone, in a real browser
(issue 19): htmx takes the column and grid from hx-vals, the block is the target, and the rest
of the grid stays the same elements (nothing re-fetched)."""
from datetime import datetime, time as hour_min, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Chair, Staff, new_code
from portal.services import schedule as booking
from portal.services import shifts
from tests import factories
from tests.clock import clinic_today

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).parent / "artifacts"


def test_check_in_on_a_grid_block_swaps_only_that_block(live_app, web, frontdesk_staff, clock):
    day = clinic_today()
    clock.set(f"{day.isoformat()} 08:30")
    with live_app.app_context():
        doctors = [Staff.get(Staff.username == "doctor")] + [
            Staff.create(username=f"grid-doctor{i}", display_name=f"Dr {i}", role="doctor", password_hash="x") for i in (2, 3)]
        chairs = [Chair.create(code=new_code(6), name=f"{i}号椅", sort_order=i) for i in (1, 2, 3)]
        for doctor in doctors:
            for weekday in range(7):
                shifts.add_pattern(doctor, weekday, hour_min(9), hour_min(17), day - timedelta(days=1))
        appts = []
        for i, name in enumerate(["张三", "李四", "王五", "赵六", "钱七", "孙八"]):
            p = factories.patient(frontdesk_staff, name=name, allergies="青霉素" if i == 1 else "")
            appts.append(booking.book(frontdesk_staff, p, doctors[i % 3], chairs[i % 3],
                                      datetime.combine(day, hour_min(9 + i // 3)), 45, "revisit", live_app.config))
    desk = web.login("frontdesk")
    desk.set_viewport_size({"width": 1024, "height": 768})
    desk.goto(f"/schedule?date={day.isoformat()}")
    target = appts[4]
    neighbour = desk.locator(f"#b-{appts[3].code} a.appt")
    neighbour.evaluate("el => { el.dataset.untouched = 'yes' }")  # a re-drawn grid would lose this
    requests = []
    desk.on("request", lambda r: requests.append((r.method, r.url)))
    desk.click(f"#b-{target.code} button:has-text('Check in')")
    expect(desk.locator(f"#b-{target.code} a.appt.status-arrived")).to_be_visible()
    expect(desk.locator(f"#b-{target.code} button:has-text('Seat')")).to_be_visible()
    assert neighbour.get_attribute("data-untouched") == "yes", "only the block was swapped"
    assert [m for m, url in requests if "/schedule" in url] == [], "the grid was not fetched again"
    with live_app.app_context():
        assert Appointment.get_by_id(target.id).status == "arrived"
    SHOTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(SHOTS / "day_grid_after_check_in.png"))
