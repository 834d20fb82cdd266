"""A prescription in the browser (Chinese UI, operatory tablet and phone): the doctor writes one from
the visit for a penicillin-allergic patient, is stopped until a reason is given, signs it, and the
signed page offers no edit form, only voiding; the front desk is refused."""
import os
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from portal.models import Staff
from portal.services import chart_visits as visits
from tests import factories
from tests.clock import clinic_today
from tests.e2e.conftest import TIMEOUT_MS
from tests.prescription_samples import ensure_drugs

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("RX_SHOTS")  # a folder to keep screenshots in, when looking at the pages


@pytest.fixture()
def visit(live_app):
    with live_app.app_context():
        ensure_drugs()
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        patient = factories.patient(desk, name="青霉素过敏", sex="F", birth_date=date(1988, 2, 3),
                                    allergies="青霉素过敏")
        return visits.open_visit(patient, doctor, clinic_today())


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_write_refuse_reason_sign(live_app, chinese, web, visit):
    page = web.login("doctor", locale="zh-CN")
    page.goto(f"/visits/{visit.code}")
    page.get_by_role("link", name="开处方").click()
    page.wait_for_url(re.compile(r"/prescriptions/new$"))
    page.get_by_label("药品 1").select_option(label="阿莫西林胶囊 0.25 g")
    page.get_by_label("单次剂量 1").fill("500")
    page.get_by_label("频次 1").select_option("tid")
    page.get_by_label("天数 1").fill("5")
    page.get_by_label("数量 1").fill("2")
    _shot(page, "rx-new-1024")
    page.get_by_role("button", name="开具处方").click()
    expect(page.locator(".form-errors")).to_contain_text("青霉素类")
    page.get_by_label("警示下仍开具的理由（过敏、妊娠）").fill("皮试阴性，患者知情同意")
    page.get_by_role("button", name="开具处方").click()
    page.wait_for_url(re.compile(r"/prescriptions/[A-Z0-9]+$"))
    page.get_by_role("button", name="签署处方").click()
    expect(page.get_by_text("处方已签名。")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="保存草稿")).to_have_count(0)
    expect(page.get_by_role("button", name="作废处方")).to_be_visible()
    _shot(page, "rx-signed-1024")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/visits/{visit.code}/prescriptions/new")
    _shot(page, "rx-new-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    desk = web.login("frontdesk", locale="zh-CN")
    resp = desk.goto(f"/visits/{visit.code}/prescriptions/new")
    assert resp.status == 403
