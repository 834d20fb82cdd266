"""Every staff page of every role, on a phone (390×844) and on the operatory tablet (1024×768):
the document is never wider than the screen, and axe-core finds no critical or serious
accessibility violation. The pages are the route walk's (tests/test_access_matrix.py): every GET
route the role may open, filled in with the walk's sample records.

To look at a few pages only (and save their screenshots): LAYOUT_PAGES=/members,/chart (URL
substrings) and LAYOUT_ROLES=manager,doctor.

axe-core comes from npm (package.json, `make assets`) and is read from node_modules; it is added
to each page as an init script, which the pages' Content-Security-Policy does not block.
"""
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.access import PUBLIC, role_may
from tests.conftest import PASSWORD, ROLES
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS
from tests.test_access_matrix import _routes, _url, samples  # noqa: F401  (the walk's records)

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE, TABLET = {"width": 390, "height": 844}, {"width": 1024, "height": 768}
SIZES = (PHONE, TABLET)
# Both languages, without walking everything twice: the clinic's Chinese for the chairside and desk
# roles, English (the longer labels) for the consultant and the manager, who open the most pages.
LANGUAGE = {"doctor": "zh_CN", "nurse": "zh_CN", "frontdesk": "zh_CN", "consultant": "en", "manager": "en"}
# Pages worth a look by a person: saved for both sizes (tests/e2e/artifacts/, not committed).
SHOTS = {"home.index", "patients.search", "patients.show", "chart.show", "schedule.day", "schedule.week",
         "followups.worklist", "members.index", "members.bill", "complaints.index", "chart.visit"}

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "critical" || v.impact === "serious").map(v => (
    {id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n").slice(1, 2).join(""))}));
}"""
# Touch targets on a phone: controls at least 40 px high (links inside running text are exempt).
SMALL_TARGETS = """() => {
  const controls = "button, a.button, select, summary, nav a, .record-tabs a, "
    + "input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=color])";
  return [...document.querySelectorAll(controls)].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.height < 40 && getComputedStyle(e).visibility !== "hidden";
  }).slice(0, 4).map(e => e.outerHTML.slice(0, 90) + " " + Math.round(e.getBoundingClientRect().height) + "px");
}"""
# Chinese squeezed to one character a line: a box with two or more CJK characters whose text is
# laid out narrower than two characters (visually hidden labels aside).
ONE_CHAR_LINES = """() => {
  const found = [];
  for (const e of document.querySelectorAll("main th, main td, main dt, main dd, main label, main button, main a, main li, main p, main h1, main h2, main h3, main span")) {
    const text = (e.innerText || "").trim();
    if ((text.match(/[\\u3400-\\u9fff]/g) || []).length < 2 || e.getBoundingClientRect().width <= 2) continue;
    const range = document.createRange(); range.selectNodeContents(e);
    const box = range.getBoundingClientRect(), em = parseFloat(getComputedStyle(e).fontSize);
    if (box.width > 0 && box.width < 1.9 * em && box.height > 1.9 * em) found.push(e.tagName.toLowerCase() + " " + text.slice(0, 12));
    if (found.length >= 3) break;
  }
  return found;
}"""
# As a person sees it: fonts loaded, and the page's own scripts have answered the resize.
SETTLED = "() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"
OVERFLOW = """() => {
  const width = window.innerWidth, doc = document.documentElement;
  if (doc.scrollWidth <= width) return null;
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== "visible") return true; } return false; };
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const wide = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > width + 1 && !clipped(e)).slice(0, 4);
  return {scrollWidth: doc.scrollWidth, widest: wide.map(e => name(e.parentElement) + " > " + name(e))};
}"""


@pytest.fixture()
def site(app, staff):
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


def _axe_source() -> Path:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make assets` (npm ci)", pytrace=False)
    return AXE


def staff_pages(app, role, samples):  # noqa: F811
    """(endpoint, url) of every GET page the role may open; patient-link pages are the patient's."""
    pages = []
    for rule in _routes(app):
        if rule.endpoint == "static" or "GET" not in rule.methods or rule.rule.startswith("/p/"):
            continue
        action = app.view_functions[rule.endpoint].access_action
        if action == PUBLIC or not role_may(role, action):
            continue
        pages.append((rule.endpoint, _url(rule, samples)))
    only = [part for part in os.environ.get("LAYOUT_PAGES", "").split(",") if part]
    return [(endpoint, url) for endpoint, url in pages if not only or any(part in url for part in only)]


def check_page(page, url, label, failures, shot=None):
    """At each size: no horizontal overflow, no critical/serious axe violation."""
    for size in SIZES:
        page.set_viewport_size(size)
        page.evaluate(SETTLED)
        wide = page.evaluate(OVERFLOW)
        if wide:
            failures.append(f"{label} {url} at {size['width']}px: document {wide['scrollWidth']}px wide; "
                            f"widest: {wide['widest']}")
        squeezed = page.evaluate(ONE_CHAR_LINES)
        if squeezed:
            failures.append(f"{label} {url} at {size['width']}px: one character a line: {squeezed}")
        small = page.evaluate(SMALL_TARGETS) if size is PHONE else []
        if small:
            failures.append(f"{label} {url} at {size['width']}px: touch targets under 40 px: {small}")
        for v in page.evaluate(AXE_RUN):
            failures.append(f"{label} {url} at {size['width']}px: axe {v['impact']} {v['id']}: {v['nodes']}")
        if shot:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"layout-{shot}-{size['width']}.png", full_page=True)


def sign_in(page, username):
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_login_page_fits_and_passes_axe(browser, site):
    context = browser.new_context(viewport=PHONE, base_url=site, locale="en-US")
    context.add_init_script(path=_axe_source())
    try:
        page = context.new_page()
        page.goto("/login")
        failures = []
        check_page(page, "/login", "anonymous", failures, shot="login")
        assert not failures, "\n".join(failures)
    finally:
        context.close()


def walk_role(app, browser, site, samples, role, failures):  # noqa: F811
    """One browser context for the role: sign in, open every page it may open, check each."""
    context = browser.new_context(viewport=PHONE, base_url=site, locale="zh-CN" if LANGUAGE[role] == "zh_CN" else "en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(path=_axe_source())
    checked = 0
    try:
        context.add_cookies([{"name": "lang", "value": LANGUAGE[role], "url": site}])
        page = context.new_page()
        sign_in(page, role)
        for endpoint, url in staff_pages(app, role, samples):
            head = context.request.get(url, max_redirects=0)
            kind = head.headers.get("content-type", "")
            if head.status >= 500 or head.status in (401, 403):
                failures.append(f"{role} {url}: {head.status}")
                continue
            if head.status != 200 or not kind.startswith("text/html") or not head.text().lstrip().lower().startswith("<!doctype"):
                continue  # a download, a redirect or a fragment-only answer: not a page
            page.goto(url)
            shot = endpoint in SHOTS and role in ("doctor", "frontdesk") or os.environ.get("LAYOUT_PAGES")
            check_page(page, url, role, failures, shot=f"{endpoint}-{role}" if shot else None)
            checked += 1
    finally:
        context.close()
    return checked


def test_every_page_of_every_role_fits_a_phone_and_a_tablet_and_passes_axe(app, browser, site, samples):  # noqa: F811
    """The walk's records are made once; each role then walks its pages in its own context."""
    roles = [r for r in ROLES if r in os.environ.get("LAYOUT_ROLES", ",".join(ROLES)).split(",")]
    failures, checked = [], {}
    for role in roles:
        checked[role] = walk_role(app, browser, site, samples, role, failures)
    assert not failures, f"{len(failures)} problems on {sum(checked.values())} pages:\n" + "\n".join(failures)
    assert all(n >= (1 if os.environ.get("LAYOUT_PAGES") else 10) for n in checked.values()), checked


def test_patient_link_pages_are_phone_first_and_pass_axe(app, browser, site, staff):
    """The patient's own pages (/p/…), in Chinese as patients get them: the link's landing page,
    the check, the personal centre and a family member's page; then a link that no longer works."""
    from portal.services import patient_links as links
    from tests.report_fixtures import demo_adult, demo_child
    with app.app_context():
        child = demo_child(staff)
        from portal.services import patients as registry
        family = registry.create_family("王家", child, staff["frontdesk"])
        adult = demo_adult(staff, family)
        with app.test_request_context():
            token = links.issue(child, "patient", staff["frontdesk"], app.config).token
    context = browser.new_context(viewport=PHONE, base_url=site, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(path=_axe_source())
    context.add_cookies([{"name": "lang", "value": "zh_CN", "url": site}])
    failures = []
    try:
        page = context.new_page()
        page.goto(f"/p/{token}")
        check_page(page, "/p/<token>", "patient", failures, shot="patient-open")
        page.set_viewport_size(PHONE)
        page.click("main button[type=submit], form button[type=submit]")
        page.wait_for_url("**/p/check")
        check_page(page, "/p/check", "patient", failures, shot="patient-check")
        page.set_viewport_size(PHONE)
        page.fill("#answer", child.birth_date.isoformat())
        page.click("form.pform button[type=submit]")
        page.wait_for_url("**/p/home")
        check_page(page, "/p/home", "patient", failures, shot="patient-home")
        page.set_viewport_size(PHONE)
        others = page.locator(".pmembers a:not([aria-current])")
        if others.count():
            others.first.click()
            page.wait_for_url("**/p/people/**")
            check_page(page, "/p/people/<code>", "patient", failures, shot="patient-person")
        page.goto("/p/not-a-real-token")
        check_page(page, "/p/<bad token>", "patient", failures)
    finally:
        context.close()
    assert adult.name  # the family has a second member to switch to
    assert not failures, "\n".join(failures)


def test_phone_menu_folds_behind_a_button(browser, site):
    context = browser.new_context(viewport=PHONE, base_url=site, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, "manager")
        toggle, nav = page.locator(".topbar .navtoggle"), page.locator("nav.mainnav")
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false" and not nav.is_visible()
        assert toggle.bounding_box()["height"] >= 40
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true" and nav.is_visible()
        links = nav.locator("> a")
        assert links.count() >= 3 and all(links.nth(i).bounding_box()["height"] >= 40 for i in range(links.count()))
        nav.locator("details.navmenu > summary").first.click()   # a sub-menu opens inside the column
        menu = nav.locator("details.navmenu[open] .menu").first
        assert menu.is_visible() and menu.bounding_box()["x"] + menu.bounding_box()["width"] <= PHONE["width"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "layout-menu-open-390.png")
        page.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false" and not nav.is_visible()
        page.set_viewport_size(TABLET)
        assert not toggle.is_visible() and nav.is_visible()
    finally:
        context.close()
