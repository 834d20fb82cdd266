"""A lab case in the browser (Chinese UI, operatory tablet 1024×768): the doctor sends a crown to the
lab from the visit, the nurse's "back from the lab" is set on the row, and the lab sheet opens as a
PDF with the patient's name; the front desk is refused the sheet."""
import os
import re
import subprocess
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import Staff
from portal.models.lab_cases import LabCase
from portal.services import chart_visits as visits
from portal.services import lab_cases as labs
from tests import factories
from tests.clock import clinic_today

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("LAB_SHOTS")  # a folder to keep screenshots in, when looking at the pages


@pytest.fixture()
def visit(live_app):
    with live_app.app_context():
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        labs.save_lab("华美义齿加工厂", "021-55550000", "王师傅", Staff.get(Staff.username == "manager"))
        patient = factories.patient(desk, name="周冠桥", sex="F", birth_date=date(1979, 5, 6))
        return visits.open_visit(patient, doctor, clinic_today())


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_order_from_the_visit_receive_and_print_the_sheet(live_app, chinese, web, visit, tmp_path):
    page = web.login("doctor", locale="zh-CN")
    page.goto(f"/visits/{visit.code}")
    page.get_by_role("link", name="送技工所制作").click()
    page.wait_for_url(re.compile(r"/lab-cases\?visit="))
    expect(page.get_by_label("来自就诊")).to_have_value(visit.code)  # the visit is already chosen
    page.get_by_label("修复体").select_option(label="全冠")
    page.get_by_label("牙位（如 36, 37）").fill("36")
    page.get_by_label("比色").fill("A2")
    page.get_by_label("材料").fill("氧化锆")
    page.get_by_label("预计返回").fill((clinic_today() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="送出制作").click()
    expect(page.get_by_text(re.compile(r"技工单 \w+ 已送出。"))).to_be_visible()
    case = LabCase.get()
    assert (case.visit_id, case.status, case.teeth) == (visit.id, "sent", "36")
    row = page.locator(f"#lab-{case.code}")
    expect(row).to_contain_text("已送技工所")
    row.get_by_label("新状态").select_option(label="已返回诊所")
    row.get_by_role("button", name="更新").click()
    expect(page.get_by_text("技工单状态：已返回诊所。")).to_be_visible()
    expect(page.locator(f"#lab-{case.code}")).to_contain_text("已返回诊所")
    _shot(page, "lab-cases-1024")

    href = page.locator(f"#lab-{case.code}").get_by_role("link", name="打印技工单").get_attribute("href")
    resp = page.request.get(href)
    assert resp.ok and resp.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(resp.body())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "周冠桥" in text and "技工单" in text and case.code in text

    desk = web.login("frontdesk", locale="zh-CN")
    assert desk.request.get(href).status == 403
