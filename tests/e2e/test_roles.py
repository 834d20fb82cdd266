"""Each role signs in through the real form and lands on its own home page, with the
navigation its job needs and nothing more."""
import pytest
from playwright.sync_api import expect

from flask import current_app

from portal import templating
from portal.access import role_may
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

# Facts from DESIGN.md/DOMAIN.md that must hold however the navigation grows.
MUST_SEE = {
    "doctor": ["Home", "Patients"],
    "nurse": ["Home", "Patients"],
    "frontdesk": ["Home", "Patients", "Register"],
    "consultant": ["Home", "Patients", "Register", "Tags"],
    "manager": ["Home", "Patients", "Register", "Staff", "Tags", "Audit trail"],
}
MUST_NOT_SEE = {
    "doctor": ["Register", "Staff", "Tags", "Audit trail"],
    "nurse": ["Register", "Staff", "Tags", "Audit trail"],
    "frontdesk": ["Staff", "Tags", "Audit trail"],
    "consultant": ["Staff", "Audit trail"],
    "manager": [],
}
# The home page's cards per role (portal/blueprints/home/views.py).
CARDS = {
    "doctor": ["Patients you opened recently"],
    "nurse": ["Patients you opened recently"],
    "frontdesk": ["Registered today", "Patients you opened recently"],
    "consultant": ["Registered today", "Patients you opened recently"],
    "manager": ["Registered today", "Clinic at a glance"],
}
ROLE_LABEL = {"doctor": "Doctor", "nurse": "Nurse", "frontdesk": "Front desk", "consultant": "Consultant",
              "manager": "Manager"}
DISPLAY_NAME = {"doctor": "王建国", "nurse": "陈晓燕", "frontdesk": "刘芳", "consultant": "赵敏", "manager": "孙立新"}
PAGES = {"Register": "/patients/new", "Staff": "/admin/staff", "Tags": "/admin/tags", "Audit trail": "/admin/audit"}


def granted_nav(role: str) -> set[str]:
    """Every navigation entry (main bar and menus) the access matrix grants this role."""
    endpoints = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    entries = [e for name in dir(templating) if name.endswith("NAV") for e in getattr(templating, name)]
    return {str(label) for endpoint, label, action in entries if endpoint in endpoints and role_may(role, action)}


@pytest.mark.parametrize("role", list(MUST_SEE))
def test_each_role_signs_in_to_its_own_home_page(web, live_app, role):
    page = web.login(role)

    assert page.url == web.base_url + "/"
    expect(page.locator("h1")).to_have_text(f"Good day, {DISPLAY_NAME[role]}")
    expect(page.locator("header .who")).to_contain_text(f"{DISPLAY_NAME[role]} · {ROLE_LABEL[role]}")
    nav = {text.strip() for text in page.locator("nav.mainnav a").all_text_contents()}
    with live_app.test_request_context():
        # exactly the entries the access matrix grants …
        assert nav == granted_nav(role)
    # … which include what the role's job needs and leave out what it must not use
    assert set(MUST_SEE[role]) <= nav and not set(MUST_NOT_SEE[role]) & nav, nav
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text("Home")
    cards = page.locator("main .card h2").all_inner_texts()
    assert all(card in cards for card in CARDS[role]), cards
    expect(page.locator("main input[type=search][name=q]")).to_be_visible()  # every role may search

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"home-{role}.png", full_page=True)

    # What the navigation leaves out is refused, not merely hidden.
    for label, path in PAGES.items():
        response = page.goto(path)
        assert response.status == (200 if label in nav else 403), (role, path)
