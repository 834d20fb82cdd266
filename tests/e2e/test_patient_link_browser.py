"""A phone opens a patient link, passes the check, sees the chart and downloads the report."""
import pytest

from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.report_fixtures import demo_child

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [(390, 844), (820, 1180)], ids=["phone", "tablet"])
def test_phone_opens_link_and_downloads_report(browser, live_server, live_app, size):
    from portal.models import Staff
    from portal.services import patient_links as links
    with live_app.app_context():
        staff = {s.role: s for s in Staff.select()}
        child = demo_child(staff)
        with live_app.test_request_context():
            token = links.issue(child, "patient", staff["frontdesk"], live_app.config).token
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, base_url=live_server,
                                  locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r))
        page.goto(f"/p/{token}")
        page.click("button[type=submit]")
        page.wait_for_url("**/p/check")
        assert token not in page.url
        page.fill("#answer", child.birth_date.isoformat())
        page.click("form.pform button[type=submit]")
        page.wait_for_url("**/p/home")
        assert page.locator("svg.odontogram").is_visible()
        assert page.locator("h1.pname").inner_text().startswith(child.name)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"patient-link-{size[0]}x{size[1]}.png", full_page=True)
        with page.expect_download() as download:
            page.click("#reports a.pbutton >> nth=0")
        path = download.value.path()
        assert open(path, "rb").read(4) == b"%PDF"
        assert all(r.url.startswith(live_server) for r in requests)           # no third-party requests
        assert all(token not in (r.headers.get("referer") or "") for r in requests)
    finally:
        context.close()
