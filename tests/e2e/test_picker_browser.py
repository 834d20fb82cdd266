"""The patient picker in a browser (issue 13): the desk types pinyin initials into the booking
form's patient field, moves through the list with the arrow keys, chooses with Enter, and books;
the form submits the chosen patient's code. Also: a tap chooses, Escape closes, and the home
search shows results as you type."""
from datetime import date, time as hour_min, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.models import Appointment, Chair, Staff, new_code
from portal.services import shifts
from tests import factories
from tests.clock import clinic_today
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def _next_working_day() -> date:
    day = clinic_today() + timedelta(days=1)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def _type(page, selector, text, full=None):
    """Type as a person does and wait for the picker's answer to the field's whole text."""
    def answers(r):
        url = urlsplit(r.url)
        return url.path == "/patients/pick" and (full or text) in parse_qs(url.query).get("patient", [])

    with page.expect_response(answers) as info:
        page.locator(selector).press_sequentially(text, delay=40)
    # only the field itself is sent: not the form around it (no CSRF token in a URL or a log)
    assert set(parse_qs(urlsplit(info.value.url).query, keep_blank_values=True)) == {"field", "key", "patient"}


@pytest.fixture()
def desk_day(live_app, frontdesk_staff):
    with live_app.app_context():
        doctor = Staff.get(Staff.username == "doctor")
        chair = Chair.create(code=new_code(6), name="1号椅")
        for weekday in range(7):
            shifts.add_pattern(doctor, weekday, hour_min(9), hour_min(12), clinic_today() - timedelta(days=1),
                               chair=chair)
    return doctor


def test_desk_types_initials_walks_the_list_with_arrows_and_books(live_app, web, frontdesk_staff, desk_day):
    day = _next_working_day()
    first = factories.patient(frontdesk_staff, name="张小梅", sex="F", birth_date=date(1988, 7, 1), phone="13811112222")
    wanted = factories.patient(frontdesk_staff, name="张小明", birth_date=date(2015, 3, 8), phone="13833334444")
    factories.patient(frontdesk_staff, name="王芳", sex="F", birth_date=date(1979, 1, 2))
    page = web.login("frontdesk")
    page.goto("/appointments/new")
    box = page.get_by_role("combobox", name="Patient")
    _type(page, "#patient", "zxm")
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)  # by pinyin: 张小梅 (zhangxiaomei), 张小明 (zhangxiaoming)
    expect(options.nth(0)).to_contain_text("张小梅")
    expect(options.nth(1)).to_contain_text("138****4444")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "picker-booking-list.png")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "patient-opt-1")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "patient-opt-2")
    box.press("ArrowDown")  # past the last: round to the first
    expect(box).to_have_attribute("aria-activedescendant", "patient-opt-1")
    box.press("ArrowUp")  # before the first: round to the last
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    box.press("Enter")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value(f"张小明 · {wanted.chart_no}")
    expect(page.locator("input[type=hidden][name=patient]")).to_have_value(wanted.code)
    assert page.url.endswith("/appointments/new")  # Enter chose; it did not submit

    page.fill("#day", day.isoformat())
    page.fill("#time", "10:00")
    page.fill("#minutes", "30")
    page.select_option("#doctor", str(desk_day.id))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "picker-booking-chosen.png")
    with page.expect_request(lambda r: r.method == "POST" and urlsplit(r.url).path == "/appointments/new") as sent:
        page.click("main form button.primary[type=submit]")
    assert parse_qs(sent.value.post_data)["patient"] == [wanted.code]  # the code, not the text shown
    page.wait_for_url("**/appointments/*")
    expect(page.locator("h1")).to_contain_text("张小明")
    appt = Appointment.get()
    assert appt.patient_id == wanted.id and appt.patient_id != first.id


def test_a_tap_chooses_escape_closes_and_typing_again_forgets_the_choice(live_app, web, frontdesk_staff):
    wanted = factories.patient(frontdesk_staff, name="周伟", birth_date=date(1980, 1, 2), phone="13900001111")
    page = web.login("frontdesk")
    page.goto("/complaints/new")
    box = page.get_by_role("combobox", name="Patient (optional)")
    listbox = page.locator("#patient-listbox")
    _type(page, "#patient", "1111")
    expect(listbox.get_by_role("option")).to_have_count(1)
    box.press("Escape")
    expect(listbox).to_be_hidden()
    assert page.url.endswith("/complaints/new")
    box.fill("")
    _type(page, "#patient", "1111")
    box.press("Enter")  # a single match: Enter takes it without the arrows
    expect(page.locator("input[type=hidden][name=patient]")).to_have_value(wanted.code)
    assert page.url.endswith("/complaints/new")
    box.fill("")
    _type(page, "#patient", "1111")
    page.locator("#patient-listbox").get_by_role("option", name="周伟").click()
    expect(box).to_have_value(f"周伟 · {wanted.chart_no}")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the list fits the screen
    box.fill("")
    _type(page, "#patient", "zw")
    expect(page.locator("#patient-listbox")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "picker-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#patient-listbox").get_by_role("option", name="周伟").click()
    expect(box).to_have_value(f"周伟 · {wanted.chart_no}")
    code = page.locator("input[type=hidden][name=patient]")
    expect(code).to_have_value(wanted.code)
    assert box.get_attribute("name") is None
    box.press("End")
    box.press_sequentially("x")
    expect(code).to_be_disabled()
    assert box.get_attribute("name") == "patient"


def test_no_match_says_so_in_chinese(live_app, chinese, web, frontdesk_staff):
    factories.patient(frontdesk_staff, name="周伟", birth_date=date(1980, 1, 2))
    page = web.login("frontdesk", locale="zh-CN")
    page.goto("/complaints/new")
    _type(page, "#patient", "乔峰")
    expect(page.locator(".picker-msg")).to_contain_text("没有患者符合“乔峰”")


def test_home_search_shows_results_as_you_type(live_app, web, frontdesk_staff):
    factories.patient(frontdesk_staff, name="张小明", birth_date=date(2015, 3, 8))
    page = web.login("frontdesk")
    page.goto("/")
    with page.expect_response(lambda r: urlsplit(r.url).path == "/patients" and "q=zxm" in r.url):
        page.locator("main input[type=search][name=q]").press_sequentially("zxm", delay=40)
    expect(page.locator("#results a.row")).to_contain_text("张小明")
    assert urlsplit(page.url).path == "/"  # the home page stays where it is
