"""Browser tests: headless Chromium (Playwright, sync API) against the real app on a live server.

Each test gets the root conftest's `app` (a migrated, empty SQLite copy or the emptied
PostgreSQL database) with CSRF protection on, served by werkzeug in a thread, with the demo
staff (doctor, nurse, frontdesk, consultant, manager; the demo password) and demo tags; tests
that want a populated registry add `demo_clinic` (`portal.demo.seed_demo`, twenty households).

Chromium is /usr/bin/chromium (or $CHROMIUM). If it cannot start, the tests fail when CI=true
and are skipped, with the reason, elsewhere. Screenshots go to tests/e2e/artifacts/.
"""
import os
import threading
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from portal import demo
from portal.services.auth import hash_password

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1024, "height": 768}  # the operatory tablet
TIMEOUT_MS = 8_000
ARTIFACTS = Path(__file__).parent / "artifacts"
FAMILIES = 20


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"e2e: {reason}", pytrace=False)
    pytest.skip(f"e2e: {reason} (set CI=true to make this a failure)")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        _unavailable(f"the playwright package is missing ({exc}); pip install -e '.[test]'")
    if not os.path.exists(CHROMIUM):
        _unavailable(f"no Chromium at {CHROMIUM}; apt-get install chromium, or set CHROMIUM")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        _unavailable(f"Chromium at {CHROMIUM} did not launch: {str(exc).splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()


@lru_cache(maxsize=None)
def _hash(password: str) -> str:
    return hash_password(password)  # Argon2 is slow on purpose: once per run


@pytest.fixture()
def live_app(app):
    """The root `app`, with CSRF on (the browser sends real tokens), the demo staff and tags."""
    app.config["WTF_CSRF_ENABLED"] = True
    password_hash = _hash(app.config["DEMO_PASSWORD"])
    with app.app_context():
        from portal.models import Staff
        for username, display_name, role in demo.DEMO_STAFF:  # as demo.ensure_staff, hashing once
            Staff.create(username=username, display_name=display_name, role=role, password_hash=password_hash)
        demo.ensure_tags()
    return app


@pytest.fixture()
def demo_clinic(live_app):
    """The demo clinic's patients too (`portal demo`, smaller): households, tags, appointments."""
    with live_app.app_context():
        demo.seed_demo(live_app.config, families=FAMILIES)
    return live_app


@pytest.fixture()
def chinese(live_app):
    """The app as clinics run it: zh_CN by default. Flask-Babel copies the default locale into
    its own state at init_app, so the config key alone would change nothing now."""
    live_app.config["PORTAL_LOCALE"] = live_app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    live_app.extensions["babel"].default_locale = "zh_CN"
    return live_app


@pytest.fixture()
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


class Browser:
    """New tablet-sized browser contexts (one per person) that are closed after the test."""

    def __init__(self, browser, base_url, password):
        self.browser, self.base_url, self.password = browser, base_url, password
        self.contexts = []

    def page(self, locale="en-US"):
        context = self.browser.new_context(viewport=VIEWPORT, base_url=self.base_url, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context.new_page()

    def login(self, username, page=None, locale="en-US"):
        """Sign in through the real /login form (the one on screen, if the page shows it, so a
        `next` it carries is kept); returns the page where the app sends the person."""
        page = page or self.page(locale)
        if urlsplit(page.url).path != "/login":
            page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", self.password)
        page.click("main form button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    def close(self):
        for context in self.contexts:
            context.close()


def nav_to(page, href: str) -> None:
    """Follow a main-navigation link as a person would, opening its drop-down menu if the link
    sits in one (set-up pages live under a menu so the bar fits a tablet)."""
    link = page.locator(f"nav.mainnav a[href='{href}']")
    if not link.is_visible():
        page.locator("nav.mainnav details", has=page.locator(f"a[href='{href}']")).locator("summary").click()
    link.click()
    page.wait_for_url(lambda url: urlsplit(url).path == href)


@pytest.fixture()
def web(browser, live_server, live_app, request):
    b = Browser(browser, live_server, live_app.config["DEMO_PASSWORD"])
    yield b
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:  # keep what the browser saw
        ARTIFACTS.mkdir(exist_ok=True)
        for i, context in enumerate(b.contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}-{i}{j}.png", full_page=True)
                except Exception:
                    pass
    b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture()
def frontdesk_staff(live_app):
    from portal.models import Staff
    return Staff.get(Staff.username == "frontdesk")
