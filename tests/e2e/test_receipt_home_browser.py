"""In the browser (issue 13): the receipt's Print button prints (our own script, no inline handler,
no CSP complaint) and the print leaves out the portal's bar and buttons; the nurse's chairs region
redraws itself when the schedule changes, without reloading the page."""
import pytest

from portal.models import Appointment, Chair, Staff, new_code
from tests import factories
from tests.e2e.conftest import ARTIFACTS
from tests.test_home_pages import _ago, _appt
from tests.test_receipt import _bill

pytestmark = [pytest.mark.e2e, pytest.mark.clock("2026-06-10 10:00")]


def test_receipt_print_button_and_print_media(web, live_app, frontdesk_staff):
    with live_app.app_context():
        staff = {s.username: s for s in Staff.select()}
        bill = _bill(live_app, staff, factories.patient(frontdesk_staff, name="林晓"))
    page = web.login("frontdesk")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.add_init_script("window.print = function () { window.__printed = (window.__printed || 0) + 1; };")
    page.goto(f"/members/bills/{bill.code}/receipt")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    assert not errors, errors
    assert page.locator(".topbar").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible() and not page.locator(".receipt-actions").is_visible()
    assert page.locator("#receipt").is_visible() and bill.receipt_no in page.locator("#receipt").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "receipt-print.png", full_page=True)
    page.emulate_media(media="screen")
    with page.expect_response(lambda r: r.url.endswith("/receipt.pdf")) as answer:
        page.goto(f"/members/bills/{bill.code}/receipt.pdf")
    assert answer.value.headers["content-type"] == "application/pdf"


def test_nurse_chairs_redraw_when_the_schedule_changes(web, live_app):
    with live_app.app_context():
        doctor = Staff.get(Staff.username == "doctor")
        chair = Chair.create(code=new_code(6), name="一号椅", sort_order=1)
        appt = _appt(factories.patient(Staff.get(Staff.username == "frontdesk"), name="李等候"), doctor, chair, "10:30")
    page = web.login("nurse")
    page.goto("/")
    region = page.locator("#chairs")
    assert "李等候" in region.inner_text() and "Waiting since" not in region.inner_text()
    with live_app.app_context():
        Appointment.update(status="arrived", arrived_at=_ago(3)).where(Appointment.id == appt.id).execute()
    page.evaluate("document.body.dispatchEvent(new CustomEvent('scheduleChanged'))")
    page.locator("#chairs .waiting", has_text="李等候").wait_for()  # (wait_for_function would need eval: the CSP says no)
    assert "Waiting since" in region.inner_text()
    assert page.locator("#chairs h2").count() == 1  # the block replaced the region's inside, not nested in it
    assert "Good day" in page.content()             # still the whole home page around it
