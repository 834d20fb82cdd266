"""One patient's whole day in the clinic, in a real browser, in Chinese, each step done by the role
that does it at the clinic and found on screen as a person finds it (by role and label):

front desk: finds 张小明 by pinyin initials in the booking form's picker, books his first visit
from a free slot on the day grid, marks it confirmed, checks him in on the check-in board;
nurse: seats him from the check-in board;
doctor: opens him from the home page, starts the visit from the appointment, taps a tooth surface
on the chart and records the caries, writes the notes;
nurse: starts the composite filling's protocol on the visit and ticks its steps;
doctor: signs the visit (which makes its bill);
front desk: completes the appointment, takes the bill from the to-bill queue, splits the payment
(cash + WeChat Pay), downloads the receipt PDF;
consultant, two days later: the follow-up call is on the worklist (first visit: call 2 days after).

Every user action goes through a counter, and the walk must not get longer than WALK_BUDGET.
With PORTAL_TOUR_DIR set (e.g. docs/tour) it writes the README's tour screenshots there.
"""
import os
import subprocess
from datetime import date, datetime, time as hour_min, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Bill, Chair, ChartEntry, Followup, Payment, Staff, Visit, new_code
from portal.services import shifts
from tests import factories
from tests.clock import clinic_today
from tests.test_home_pages import _appt

pytestmark = [pytest.mark.e2e, pytest.mark.clock("2026-06-10 08:30")]  # a Wednesday morning

WALK_BUDGET = 72  # user actions (clicks, fills, keys, selects, typed URLs) the whole day takes now
TOUR_DIR = os.environ.get("PORTAL_TOUR_DIR")


class Actions:
    """Everything a person does, counted: a click, a fill, a key, a choice in a list, a typed URL."""

    def __init__(self):
        self.count = 0
        self.log = []

    def _note(self, what, n=1):
        self.count += n
        self.log.append(what)

    def goto(self, page, url):
        self._note(f"open {url}")
        page.goto(url)

    def click(self, locator):
        self._note("click")
        locator.click()

    def fill(self, locator, text):
        self._note(f"fill {text}")
        locator.fill(text)

    def type(self, locator, text):
        self._note(f"type {text}", len(text))
        locator.press_sequentially(text, delay=40)

    def press(self, locator, key):
        self._note(f"key {key}")
        locator.press(key)

    def select(self, locator, label):
        self._note(f"select {label}")
        locator.select_option(label=label)

    def download(self, page, link):
        """"Save link as…": the link's file, fetched in the person's session (Chromium would show
        a PDF in its viewer, where the bytes are out of reach)."""
        self._note("download")
        return page.context.request.get(link.get_attribute("href"))

    def check(self, locator):
        self._note("check")
        locator.check()


def shot(page, name):
    """A tour screenshot (the viewport, PNG) when PORTAL_TOUR_DIR is set."""
    if TOUR_DIR:
        Path(TOUR_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(TOUR_DIR) / f"{name}.png"), type="png")


@pytest.fixture()
def clinic_day(live_app, chinese):
    """The clinic as it stands on the morning: the catalogue with its protocols, a doctor on shift
    in chair 1 from 09:00 to 12:00, 张小明, registered earlier (张晓梅 shares his initials), and two
    other patients booked later that morning."""
    from portal.demo_clinical import seed_catalogue
    with live_app.app_context():
        seed_catalogue()
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        chair = Chair.create(code=new_code(6), name="1号椅", sort_order=1)
        for weekday in range(7):
            shifts.add_pattern(doctor, weekday, hour_min(9), hour_min(12), clinic_today() - timedelta(days=1),
                               chair=chair)
        factories.patient(desk, name="张晓梅", sex="F", birth_date=date(1988, 7, 1), phone="13811112222")
        patient = factories.patient(desk, name="张小明", birth_date=date(1990, 3, 8), phone="13833334444",
                                    consents={"reminders": True, "treatment": True})
        _appt(factories.patient(desk, name="李华", birth_date=date(1975, 11, 2)), doctor, chair, "10:00")
        _appt(factories.patient(desk, name="王芳", sex="F", birth_date=date(1958, 4, 9)), doctor, chair, "11:00",
              minutes=45, visit_type="recall", confirmed_at=datetime(2026, 6, 9, 2, 0))
    return patient


def sign_in(web, act, username):
    """A person at their own device signs in through the login form (Chinese browser)."""
    page = web.page("zh-CN")
    act.goto(page, "/login")
    act.fill(page.get_by_label("用户名"), username)
    act.fill(page.get_by_label("密码"), web.password)
    act.click(page.get_by_role("button", name="登录"))
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def menu(act, page, title, entry):
    """A main-menu entry under a drop-down (or a plain link when the role sees only that one)."""
    nav = page.get_by_role("navigation", name="主导航")
    link = nav.get_by_role("link", name=entry, exact=True)
    if not link.is_visible():
        act.click(nav.locator("summary", has_text=title))
    act.click(link)


def test_one_patient_whole_day(live_app, web, clinic_day, clock, tmp_path):
    patient = clinic_day
    act = Actions()
    today = clinic_today()

    # Front desk, 08:30: the patient phones; the desk books his first visit at 09:00.
    desk = sign_in(web, act, "frontdesk")
    menu(act, desk, "预约", "预约排程")
    act.click(desk.get_by_role("link", name="预约 09:00"))
    desk.wait_for_url("**/appointments/new?*")
    box = desk.get_by_role("combobox", name="患者")
    with desk.expect_response(lambda r: urlsplit(r.url).path == "/patients/pick"
                              and "zxm" in parse_qs(urlsplit(r.url).query).get("patient", [])):
        act.type(box, "zxm")
    option = desk.get_by_role("listbox").get_by_role("option", name="张小明")
    expect(option).to_be_visible()
    shot(desk, "01-picker")
    act.click(option)
    expect(box).to_have_value(f"张小明 · {patient.chart_no}")
    act.select(desk.get_by_label("就诊类型"), "初诊")
    act.select(desk.get_by_label("医生"), "王建国")
    act.fill(desk.get_by_label("时长（分钟）"), "60")
    shot(desk, "02-booking")
    act.click(desk.get_by_role("button", name="预约", exact=True))
    desk.wait_for_url("**/appointments/*")
    expect(desk.locator("h1")).to_contain_text("张小明")
    appt = Appointment.get(Appointment.patient == patient.id)
    assert appt.visit_type == "first" and (appt.end_at - appt.start_at) == timedelta(minutes=60)

    # The desk calls back to confirm.
    act.click(desk.get_by_role("button", name="标记为已确认"))
    expect(desk.locator(".badge.big")).to_contain_text("已确认")

    # 08:55: he arrives; the desk checks him in on the check-in board.
    clock.set(f"{today} 08:55")
    menu(act, desk, "预约", "到诊签到")
    row = desk.locator("tr", has_text="张小明")
    act.click(row.get_by_role("button", name="签到"))
    expect(desk.locator("tr", has_text="张小明")).to_contain_text("已到诊")
    shot(desk, "03-checkin")


    # 09:00: the nurse brings him to the chair.
    clock.set(f"{today} 09:00")
    nurse = sign_in(web, act, "nurse")
    act.click(nurse.get_by_role("main").get_by_role("link", name="到诊签到"))
    act.click(nurse.locator("tr", has_text="张小明").get_by_role("button", name="上椅"))
    expect(nurse.locator("tr", has_text="张小明")).to_contain_text("已上椅")

    # The doctor: today's patients on the home page → the appointment → Start visit.
    doctor = sign_in(web, act, "doctor")
    act.click(doctor.get_by_role("main").get_by_role("link", name="张小明"))
    act.click(doctor.get_by_role("button", name="开始就诊"))
    doctor.wait_for_url("**/visits/*")
    visit_url = doctor.url
    # The chart: a tap on tooth 36's occlusal surface opens its panel with O picked; record caries.
    act.click(doctor.get_by_role("link", name="打开牙位图"))
    act.click(doctor.locator("[data-tooth='36'] [data-surface='O']"))
    panel = doctor.locator("#tooth-panel")
    expect(panel.get_by_role("heading", name="牙位36 左下第一磨牙")).to_be_in_viewport()
    expect(panel.get_by_role("checkbox", name="O", exact=False).first).to_have_attribute("aria-checked", "true")
    act.select(panel.get_by_label("检查结果"), "C · 龋坏")
    act.select(panel.get_by_label("状态"), "现有")
    shot(doctor, "04-chart")
    act.click(panel.get_by_role("button", name="登记"))
    expect(panel.get_by_role("status")).to_contain_text("36")
    entry = ChartEntry.get(ChartEntry.patient == patient.id)
    assert (entry.tooth, entry.kind, entry.surfaces) == (36, "caries", "O") and entry.visit_id is not None
    # Back to the visit: the notes.
    act.click(doctor.get_by_role("link", name="就诊记录"))
    act.click(doctor.get_by_role("main").get_by_role("link", name=f"{today.year}年{today.month}月{today.day}日"))
    doctor.wait_for_url(visit_url)
    act.fill(doctor.get_by_label("主诉"), "左下后牙遇冷酸痛一周")
    act.fill(doctor.get_by_label("诊断"), "36 龋病（O）")
    act.fill(doctor.get_by_label("处置"), "36 树脂充填")
    act.click(doctor.get_by_role("button", name="保存病历"))

    # The nurse, chair-side: the filling's protocol, step by step.
    act.click(nurse.get_by_role("link", name="首页"))
    act.click(nurse.get_by_role("main").get_by_role("link", name="张小明").first)
    act.click(nurse.get_by_role("link", name="打开就诊"))
    act.select(nurse.get_by_label("治疗项目"), "树脂充填")
    act.fill(nurse.get_by_label("牙位"), "36")
    act.click(nurse.get_by_role("button", name="开始项目"))
    run = nurse.locator(".protocol", has_text="树脂充填")
    for n in range(1, 7):
        act.click(run.get_by_role("button", name="已完成").first)
        expect(run.locator(".badge")).to_contain_text(f"已完成{n}/6步")
    run.scroll_into_view_if_needed()
    shot(nurse, "05-protocol")

    # 09:15: the doctor signs the visit: the notes lock, and its bill is made.
    clock.set(f"{today} 09:15")
    act.click(doctor.get_by_role("button", name="签名并锁定"))
    expect(doctor.locator(".flash")).to_contain_text("已签名")
    shot(doctor, "06-visit-signed")
    visit = Visit.get(Visit.patient == patient.id)
    assert visit.status == "signed" and visit.appointment_id == appt.id

    # 09:16: he leaves the chair; the desk completes the visit and takes payment from the to-bill queue.
    clock.set(f"{today} 09:16")
    act.click(desk.get_by_role("navigation", name="主导航").get_by_role("link", name="首页"))
    act.click(desk.get_by_role("link", name="到诊签到").first)
    act.click(desk.locator("tr", has_text="张小明").get_by_role("button", name="完成"))
    expect(desk.locator("tr", has_text="张小明")).to_contain_text("已完成")
    act.click(desk.get_by_role("navigation", name="主导航").get_by_role("link", name="首页"))
    act.click(desk.get_by_role("link", name="全部待收费账单"))
    bill = Bill.get(Bill.patient == patient.id)
    shot(desk, "07-to-bill")
    act.click(desk.get_by_role("link", name=bill.receipt_no))
    expect(desk.locator("#bill-body")).to_contain_text("¥410.00")  # the filling and the registration fee
    act.fill(desk.get_by_label("现金"), "110")
    act.fill(desk.get_by_label("微信支付"), "300")
    shot(desk, "08-payment")
    act.click(desk.get_by_role("button", name="登记收款"))
    expect(desk.locator(".flash")).to_contain_text("收款已登记")
    expect(desk.locator(".badge.big")).to_contain_text("已付款")
    assert sorted((p.method, p.amount_fen) for p in Payment.select().where(Payment.bill == bill.id)) == [
        ("cash", 11000), ("wechat", 30000)]

    # The receipt, and its PDF.
    act.click(desk.get_by_role("link", name="收据"))
    shot(desk, "09-receipt")
    got = act.download(desk, desk.get_by_role("link", name="PDF 文件", exact=True))
    assert got.ok and got.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(got.body())
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert bill.receipt_no in text and "张小明" in text

    # Two days later the consultant calls him: a first visit's follow-up, on the worklist.
    clock.set(f"{today + timedelta(days=2)} 09:30")
    consultant = sign_in(web, act, "consultant")
    menu(act, consultant, "患者关怀", "回访")
    expect(consultant.get_by_role("main")).to_contain_text("张小明")
    shot(consultant, "10-followup")
    call = Followup.get(Followup.patient == patient.id, Followup.due_date == today + timedelta(days=2))
    assert call.status == "open"

    # The path must not grow: a step that needs more clicks than today shows here.
    assert act.count <= WALK_BUDGET, f"{act.count} actions (budget {WALK_BUDGET}): {act.log}"
