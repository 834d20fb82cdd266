"""Perio chart by keypad on the operatory tablet (1024×768, touch): a nurse enters a full-mouth chart,
168 sites of 28 teeth, tapping digits along the probing path; the readings save through htmx in
batches without a reload; the doctor confirms; the printout is Chinese with its CJK font embedded."""
import json
import re
import subprocess
from datetime import date

import pytest
from playwright.sync_api import expect

from portal.models import Staff
from portal.models.perio import PerioExam
from portal.services import perio
from tests import factories
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS, VIEWPORT

pytestmark = pytest.mark.e2e


@pytest.fixture()
def patient(live_app):
    with live_app.app_context():
        desk = Staff.get(Staff.username == "frontdesk")
        return factories.patient(desk, name="牙周测试", birth_date=date(1975, 5, 6))


def _touch_page(web, locale="zh-CN"):
    context = web.browser.new_context(viewport=VIEWPORT, base_url=web.base_url, locale=locale, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    web.contexts.append(context)
    return context.new_page()


def _depth(i: int) -> int:
    return (2, 3, 4, 3, 2, 5)[i % 6] + (2 if i in (38, 41) else 0)  # two sites of 6 mm and 7 mm


def test_full_mouth_chart_by_keypad_then_confirm_and_print(live_app, chinese, web, patient, tmp_path):
    page = _touch_page(web)
    web.login("nurse", page)
    page.goto(f"/patients/{patient.code}/perio")
    page.get_by_role("button", name="新建牙周检查").tap()
    page.wait_for_url(re.compile(r"/perio/[A-Z0-9]+$"))
    url = page.url
    keypad = page.locator(".perio-keypad")
    expect(keypad).to_be_visible()
    page.evaluate("window.__noReload = true")

    order = perio.entry_order(28)
    assert len(order) == 168
    for i, (tooth, site) in enumerate(order):
        keypad.locator(f"button[data-key='{_depth(i)}']").tap()
        if i % 4 == 0:
            keypad.locator("button[data-key='bop']").tap()  # bleeding on the site just probed
    # The gingival margin of the first three sites, one of them overgrown (negative).
    keypad.locator("button[data-mode='gm']").tap()
    keypad.locator("button[data-key='back']").tap()  # the cursor went to the end: back to the start
    for _ in range(170):
        keypad.locator("button[data-key='back']").tap()
        if page.locator("input.current").get_attribute("name") == "t17_gm_2":
            break
    keypad.locator("button[data-key='2']").tap()
    keypad.locator("button[data-key='-']").tap()
    keypad.locator("button[data-key='1']").tap()
    keypad.locator("button[data-key='0']").tap()

    # Saved in batches through htmx: the page never reloaded, and the last batch lands.
    with live_app.app_context():
        def stored():
            exam = PerioExam.get(PerioExam.patient == patient.id)
            return exam, perio.readings_of(exam)
        for _ in range(100):
            exam, readings = stored()
            probed = sum(v is not None for t in readings.values() for v in t["pd"])
            if probed == 168 and readings[17]["gm"][1] == -1 and readings[17]["gm"][0] == 0:
                break
            page.wait_for_timeout(100)
        assert probed == 168
        for i, (tooth, site) in enumerate(order):
            assert readings[tooth]["pd"][site] == _depth(i), (i, tooth, site)
            assert readings[tooth]["bop"][site] == (i % 4 == 0)
        assert readings[17]["gm"][2] == 2 and readings[17]["gm"][1] == -1
        assert readings[17]["cal"][1] == _depth(1) - 1  # CAL = PD + margin, signs as charted
        assert exam.version > 10  # many small saves, not one at the end
    assert page.evaluate("window.__noReload") is True
    expect(page.locator("#perio-summary")).to_contain_text("168")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "perio-keypad-tablet.png")

    doctor = _touch_page(web)
    web.login("doctor", doctor)
    doctor.goto(url)
    doctor.get_by_role("button", name="确认并锁定").tap()
    expect(doctor.locator(".perio-head .badge")).to_have_text("已确认")
    expect(doctor.locator("input[name='t16_pd_0']")).to_have_count(0)

    resp = doctor.request.get(url + "/print.pdf")
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    path = tmp_path / "perio.pdf"
    path.write_bytes(resp.body())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "牙周检查表" in text and "牙周测试" in text and "探诊出血" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert any("CJK" in line and " yes yes " in line for line in fonts.splitlines()), fonts
    with live_app.app_context():
        assert json.loads(PerioExam.get(PerioExam.patient == patient.id).summary)["ge6"] == 2
