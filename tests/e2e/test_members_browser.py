"""The patient joins with consent, the desk takes ¥12,000 (split card + WeChat), the patient becomes VIP, the desk sees the gift to hand
over and this year's two scalings; the patient's own link shows the tier."""
from datetime import date

import pytest

from tests import factories
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_desk_payment_makes_vip_and_link_shows_tier(web, live_app, browser, live_server, frontdesk_staff):
    from portal.models import Procedure
    from portal.services import patient_links as links
    with live_app.app_context():
        patient = factories.patient(frontdesk_staff, name="王大客", birth_date=date(1980, 4, 5),
                                    consents={"reminders": True})
        Procedure.create(code="IMP-1", name_zh="种植体植入", name_en="Implant placement", department="implant",
                         price_fen=1_199_000)
        with live_app.test_request_context():
            token = links.issue(patient, "patient", frontdesk_staff, live_app.config).token
    desk = web.login("frontdesk")
    # Seed 002: the patient agrees, the desk records ID number and address, then the patient is a member.
    desk.goto(f"/members/{patient.code}")
    desk.fill("#j-id", "110105198004050013")
    desk.fill("#j-addr", "北京市朝阳区幸福路1号")
    desk.check("#join input[name=consent]")
    desk.click("text=Record consent and join")
    desk.wait_for_selector("#member-card")
    assert desk.locator("#join").count() == 0
    desk.goto(f"/members/{patient.code}/bills")
    desk.click("text=Open a bill")
    desk.wait_for_url("**/members/bills/*")
    desk.select_option("select[name=procedure]", "IMP-1")
    desk.click("form:has(select[name=procedure]) button[type=submit]")
    assert "¥12,000.00" in desk.locator("#bill-body").inner_text()
    desk.fill("#amount_card", "8000")
    desk.fill("#amount_wechat", "4000.00")
    desk.click("text=Record payment")
    desk.wait_for_selector("text=Payment recorded.")
    desk.goto(f"/members/{patient.code}")
    card = desk.locator("#member-card").inner_text()
    assert "VIP member" in card and "M" + patient.chart_no in card
    scaling = desk.locator("#benefits tr", has_text="Ultrasonic scaling").inner_text()
    assert "2 / 2" in scaling
    desk.goto("/")
    assert "王大客" in desk.locator("#desk-tasks").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    desk.screenshot(path=ARTIFACTS / "members-desk-home.png", full_page=True)

    phone = web.page()
    phone.goto(f"/p/{token}")
    phone.click("button[type=submit]")
    phone.wait_for_url("**/p/check")
    phone.fill("#answer", "1980-04-05")
    phone.click("form.pform button[type=submit]")
    phone.wait_for_url("**/p/home")
    section = phone.locator("#membership").inner_text()
    assert "VIP member" in section and "12,000" in section
