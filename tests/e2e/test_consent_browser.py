"""Consent signed on the operatory tablet (1024×768, touch): the doctor fills an extraction consent,
the patient and then the doctor sign with pointer strokes on the canvases (signature_pad), the form
locks, and its PDF is Chinese with the signatures drawn and the CJK font embedded."""
import json
import re
import subprocess
from datetime import date

import pytest
from playwright.sync_api import expect

from portal.models import Staff
from portal.models.consent import ConsentForm
from portal.services import consent as consents
from tests import factories
from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS, VIEWPORT

pytestmark = pytest.mark.e2e


@pytest.fixture()
def patient(live_app):
    with live_app.app_context():
        consents.seed()
        desk = Staff.get(Staff.username == "frontdesk")
        return factories.patient(desk, name="同意测试", birth_date=date(1980, 3, 4))


def _touch_page(web, locale="zh-CN"):
    context = web.browser.new_context(viewport=VIEWPORT, base_url=web.base_url, locale=locale, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    web.contexts.append(context)
    return context.new_page()


def _draw(page, canvas, shape):
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    for stroke in shape:
        page.mouse.move(x0 + stroke[0][0], y0 + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x0 + x, y0 + y, steps=4)
        page.mouse.up()


def test_sign_with_strokes_then_the_pdf(live_app, chinese, web, patient, tmp_path):
    page = _touch_page(web)
    web.login("doctor", page)
    page.goto(f"/patients/{patient.code}/consent-forms")
    page.get_by_label("同意书类别").select_option("extraction")
    page.get_by_label("牙位（选填）").fill("38")
    page.get_by_role("button", name="填写知情同意书").tap()
    page.wait_for_url(re.compile(r"/consent-forms/[A-Z0-9]+$"))
    url = page.url
    expect(page.locator(".consent-text")).to_contain_text("干槽症")

    pads = page.locator("canvas.sigpad")
    expect(pads).to_have_count(2)
    expect(page.locator("canvas.sigpad[data-ready='1']")).to_have_count(2)
    _draw(page, pads.nth(0), [[(20, 60), (60, 30), (100, 80), (140, 40)], [(160, 50), (200, 70)]])
    _draw(page, pads.nth(1), [[(30, 30), (80, 90), (130, 30)]])
    assert json.loads(page.locator("#patient_strokes").input_value())  # signature_pad kept the strokes
    page.get_by_role("button", name="签名并锁定").tap()
    expect(page.locator(".badge").first).to_have_text("已签署并锁定")
    expect(page.locator("canvas.sigpad")).to_have_count(0)
    expect(page.locator(".sig-svg svg path")).to_have_count(3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "consent-signed-tablet.png", full_page=True)

    with live_app.app_context():
        form = ConsentForm.get(ConsentForm.patient == patient.id)
        assert form.status == "signed" and consents.hash_matches(form)
        assert len(json.loads(form.patient_strokes)) == 2 and len(json.loads(form.doctor_strokes)) == 1

    resp = page.request.get(url + "/consent.pdf")
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    path = tmp_path / "consent.pdf"
    path.write_bytes(resp.body())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "拔牙知情同意书" in text and "同意测试" in text and "干槽症" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert any("CJK" in line and " yes yes " in line for line in fonts.splitlines()), fonts
