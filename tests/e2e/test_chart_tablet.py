"""The tooth chart by touch, on the operatory tablet (1024×768) and on a phone (390×844): a tapped
tooth's panel is on screen (beside the chart, or a sheet at the bottom); the five surfaces are
tappable on the chart and on the panel's large tooth and pick the entry form's surfaces; recording
swaps the panel and that tooth in place (no navigation, no scroll jump); tooth numbers stay
readable on a phone."""
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import ChartEntry, Staff
from portal.services import chart as charts
from tests import factories
from tests.clock import clinic_today
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS

pytestmark = pytest.mark.e2e
SIZES = [{"width": 1024, "height": 768}, {"width": 390, "height": 844}]


@pytest.fixture()
def adult(live_app):
    with live_app.app_context():
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        patient = factories.patient(desk, name="覃大文", birth_date=date(1981, 3, 11))
        charts.record(patient, charts.EntryData(16, "filling", "existing", "MO"), doctor, clinic_today() - timedelta(days=90))
    return patient


def _in_view(page, selector):
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box and box["y"] >= 0 and box["y"] < size["height"] - 40 and box["x"] >= 0 and box["x"] < size["width"]


def _checked(page):
    return page.locator("#tooth-panel form.entry-form input[name=surface]:checked").evaluate_all(
        "boxes => boxes.map(b => b.value).join('')")


@pytest.mark.parametrize("size", SIZES, ids=["tablet", "phone"])
def test_tap_a_tooth_pick_surfaces_and_record_in_place(live_app, web, adult, size):
    page = web.page()
    page.set_viewport_size(size)
    page.context.set_default_timeout(TIMEOUT_MS)
    web.login("doctor", page)
    page.goto(f"/patients/{adult.code}/chart")
    page.evaluate("window.scrollTo(0, 60)")

    # Each tooth keeps data-tooth; each of its five surfaces is a region with a name.
    surfaces = page.locator("#tooth-36 [data-surface]")
    expect(surfaces).to_have_count(5)
    assert sorted(surfaces.evaluate_all("els => els.map(e => e.dataset.surface)")) == sorted("MODBL")
    assert all(surfaces.evaluate_all("els => els.map(e => !!e.querySelector('title').textContent.trim())"))
    assert sorted(page.locator("#tooth-11 [data-surface]").evaluate_all("els => els.map(e => e.dataset.surface)")) == sorted("MIDBL")

    # Tooth numbers readable on a phone (at least 10 px high on screen).
    assert page.locator("#tooth-36 .num").bounding_box()["height"] >= 10

    # Tapping a surface of tooth 36 opens its panel, in view, with that surface picked.
    page.locator("#tooth-36 [data-surface='O']").click()
    expect(page.locator("#tooth-panel .panel")).to_have_attribute("data-panel-tooth", "36")
    assert _in_view(page, "#tooth-panel .panel h2")
    expect(page.locator("#tooth-panel .surface-picker [data-surface='O']")).to_have_attribute("aria-checked", "true")
    assert _checked(page) == "O"

    # Tapping the open tooth's other surfaces picks them in place (chart or the panel's tooth).
    page.locator("#tooth-36 [data-surface='D']").click()
    page.locator("#tooth-panel .surface-picker [data-surface='B']").click()
    assert _checked(page) == "ODB"
    expect(page.locator("#tooth-36 .surface.picked")).to_have_count(3)
    page.locator("#tooth-panel .surface-picker [data-surface='B']").click()   # and unpicks
    assert _checked(page) == "OD"
    expect(page.locator("#tooth-panel .surface-picker [role=checkbox][aria-label]")).to_have_count(5)

    # Recording swaps the panel and the tooth in place: same page, same scroll.
    form = page.locator("#tooth-panel form.entry-form")
    form.locator("select[name=kind]").select_option("caries")
    form.locator("select[name=status]").select_option("existing")
    page.evaluate("window.__same_page = true")
    # The doctor scrolls to the button first (a click does too): the recording itself must not move the page.
    form.locator("button[type=submit]").scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    form.locator("button[type=submit]").click()
    expect(page.locator("#tooth-panel .flash")).to_contain_text("tooth 36")
    expect(page.locator("#tooth-panel .findings")).to_contain_text("Caries")
    assert "Caries" in page.locator("svg.odontogram [data-tooth='36']").get_attribute("aria-label")
    expect(page.locator("#tooth-36 .codes")).to_have_count(1)
    assert page.evaluate("window.__same_page") is True and not navigations
    assert page.evaluate("window.scrollY") == before
    with live_app.app_context():
        entry = ChartEntry.get(ChartEntry.patient == adult.id, ChartEntry.tooth == 36)
        assert (entry.kind, entry.surfaces) == ("caries", "OD")

    # The next tooth: a refusal (no surface for caries) stays in the panel, and the page stays.
    page.locator("svg.odontogram [data-tooth='26']").click()
    expect(page.locator("#tooth-panel .panel")).to_have_attribute("data-panel-tooth", "26")
    for picked in page.locator("#tooth-panel form.entry-form input[name=surface]:checked").all():
        picked.uncheck()  # (a tap on the tooth's middle picked O)
    page.locator("#tooth-panel form.entry-form select[name=kind]").select_option("caries")
    page.locator("#tooth-panel form.entry-form button[type=submit]").scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    page.locator("#tooth-panel form.entry-form button[type=submit]").click()
    expect(page.locator("#tooth-panel .flash.error")).to_be_visible()
    assert page.evaluate("window.__same_page") is True and page.evaluate("window.scrollY") == before

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"chart-touch-{size['width']}.png")
