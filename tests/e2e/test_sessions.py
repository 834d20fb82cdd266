"""A session ended on the server while the page is open: the next htmx request takes the whole
browser to the sign-in page (DESIGN.md: a client redirect, not a login form in a fragment)."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.models import Staff, StaffSession, utcnow
from tests.e2e.conftest import nav_to

pytestmark = pytest.mark.e2e


def _disabled_by_the_manager(web):
    admin = web.login("manager")
    nav_to(admin, "/admin/staff")
    row = admin.locator("main table tbody tr", has=admin.locator("td", has_text="frontdesk"))
    row.locator("form[action$='/active'] button[type=submit]").click()
    expect(admin.locator(".flashes")).to_contain_text("sessions ended")
    assert not Staff.get(Staff.username == "frontdesk").active


def _idle_too_long(web):
    StaffSession.update(last_seen_at=utcnow() - timedelta(minutes=31)).where(
        StaffSession.ended_at.is_null()).execute()


@pytest.mark.parametrize("end_session", [_disabled_by_the_manager, _idle_too_long],
                         ids=["disabled-by-manager", "idle-timeout"])
def test_search_after_the_session_ended_goes_to_the_sign_in_page(web, end_session):
    page = web.login("frontdesk")
    nav_to(page, "/patients")

    end_session(web)
    answers = []
    page.on("response", lambda r: answers.append(r) if "/patients?" in r.url else None)
    page.locator("main input[type=search][name=q]").press_sequentially("zxm", delay=40)

    page.wait_for_url(lambda url: urlsplit(url).path == "/login")
    expect(page.locator("main input[name=username]")).to_be_visible()
    expect(page.locator("#results")).to_have_count(0)  # a new page, not a fragment swapped in
    back_to = parse_qs(urlsplit(page.url).query)["next"][0]
    assert urlsplit(back_to).path == "/patients" and parse_qs(urlsplit(back_to).query)["q"] == ["zxm"]
    assert any(r.status == 401 and r.headers.get("hx-redirect", "").startswith("/login") for r in answers)

    if end_session is _idle_too_long:  # signing in again returns to the search that was cut off
        web.login("frontdesk", page=page)
        assert "/patients?q=zxm" in page.url
        expect(page.locator("#results")).to_be_visible()
