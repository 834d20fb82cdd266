"""The registry in a browser: search as you type, a family registered at the desk and tagged,
and the audit trail that shows who did it."""
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.models import AuditEvent, Family, Patient, PatientTag, Tag
from portal.services.identity import pinyin_keys
from tests import factories
from tests.e2e.conftest import ARTIFACTS, nav_to

pytestmark = pytest.mark.e2e

PATIENT_URL = re.compile(r"/patients/[0-9A-Z]{8}$")


def fill_patient(page, name, sex, birth, phone):
    page.fill("#name", name)
    page.check(f"input[name=sex][value={sex}]")
    page.fill("#birth_date", birth)
    page.fill("#phone", phone)


def submit_registration(page):
    page.click("main form.card button.primary[type=submit]")


def sign_out(page):
    menu = page.locator("details:has(form[action$='/logout']) > summary")
    if menu.count():
        menu.click()
    page.click("form[action$='/logout'] button[type=submit]")
    page.wait_for_url("**/login")


def type_search(page, text):
    """Type as a person does; returns the htmx response for the full text."""
    def answers(r):
        url = urlsplit(r.url)
        return url.path == "/patients" and parse_qs(url.query).get("q", [None])[0] == text

    with page.expect_response(answers) as info:
        page.locator("main input[type=search][name=q]").press_sequentially(text, delay=40)
    return info.value


def test_front_desk_finds_a_patient_by_pinyin_initials_as_they_type(demo_clinic, web, frontdesk_staff):
    wanted = factories.patient(frontdesk_staff, name="张小明", birth_date=date(2015, 3, 8))
    factories.patient(frontdesk_staff, name="张晓梅", sex="F", birth_date=date(1988, 7, 1))
    factories.patient(frontdesk_staff, name="王芳", sex="F", birth_date=date(1979, 1, 2))

    page = web.login("frontdesk")
    nav_to(page, "/patients")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    htmx_requests = []
    page.on("request", lambda r: htmx_requests.append(r) if r.headers.get("hx-request") == "true" else None)

    response = type_search(page, "zxm")

    expect(page.locator("#results")).to_contain_text("张小明")
    names = page.locator("#results .row .name").all_inner_texts()
    assert "张晓梅" in names and "王芳" not in names
    assert all(any(key.startswith("zxm") for key in pinyin_keys(n)) for n in names), names
    # the list was swapped in by htmx: same document, a fragment answer, the URL kept in step
    assert page.evaluate("window.__sameDocument") is True
    assert any(r.headers.get("hx-target") == "results" for r in htmx_requests)
    assert "<html" not in response.text() and "张小明" in response.text()
    assert "HX-Request" in response.headers.get("vary", "") and response.headers["cache-control"] == "no-store"
    expect(page).to_have_url(re.compile(r"/patients\?(.*&)?q=zxm(&|$)"))  # hx-push-url

    page.locator("#results .row", has_text="张小明").click()
    page.wait_for_url(f"**/patients/{wanted.code}")
    expect(page.locator("h1")).to_contain_text("张小明")
    expect(page.locator("h1 small")).to_have_text(wanted.chart_no)


def test_front_desk_registers_a_family_of_three_and_tags_them(web):
    # The manager adds the tag the desk will use.
    admin = web.login("manager")
    nav_to(admin, "/admin/tags")
    admin.fill("#name", "家庭套餐")
    admin.click("main form button.primary[type=submit]")
    expect(admin.locator(".flashes")).to_contain_text("家庭套餐")

    page = web.login("frontdesk")
    nav_to(page, "/patients/new")
    fill_patient(page, "张建国", "M", "1984-06-02", "13912340001")
    page.check("#new_family")
    submit_registration(page)
    page.wait_for_url(PATIENT_URL)
    expect(page.locator(".flashes")).to_contain_text("Registered 张建国")
    family_link = page.locator("#family-box a[href^='/families/']")
    code = family_link.get_attribute("href").rsplit("/", 1)[1]

    members = [("李秀兰", "F", "1986-09-15", "13912340002"),
               ("张小宇", "M", "2015-03-08", "13912340002")]  # the child is reached on his mother's phone
    for name, sex, birth, phone in members:
        page.locator("#family-box a[href^='/families/']").click()
        page.wait_for_url(f"**/families/{code}")
        page.click(f"main a[href='/patients/new?family={code}']")
        expect(page.locator("main .notice")).to_contain_text(code)
        fill_patient(page, name, sex, birth, phone)
        submit_registration(page)
        if name == "张小宇":  # same phone as his mother: the desk confirms he is someone else
            expect(page.locator(".duplicates")).to_contain_text("李秀兰")
            page.check("#confirm_not_duplicate")
            submit_registration(page)
        page.wait_for_url(PATIENT_URL)
        expect(page.locator(".flashes")).to_contain_text(f"Registered {name}")

    # Tag each of them from their own page.
    for name in ("张建国", "李秀兰", "张小宇"):
        page.goto(f"/families/{code}")
        page.locator("main table a", has_text=name).click()
        page.wait_for_url(PATIENT_URL)
        tags = page.locator("#tags")
        tags.locator("summary").click()
        tags.locator("label.check", has_text="家庭套餐").locator("input").check()
        tags.locator("button[type=submit]").click()
        expect(page.locator(".flashes")).to_contain_text("Tags saved")
        expect(page.locator("#tags > p .tag", has_text="家庭套餐")).to_be_visible()  # the chip, not the checkbox

    page.goto(f"/families/{code}")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(3)
    assert sorted(page.locator("main table tbody tr td:first-child a").all_inner_texts()) == \
        sorted(["张建国", "李秀兰", "张小宇"])
    expect(rows.filter(has_text="张建国").locator(".badge")).to_be_visible()  # the family contact
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "family-of-three.png", full_page=True)

    family = Family.get(Family.code == code)
    in_family = list(Patient.select().where(Patient.family == family))
    tag = Tag.get(Tag.name == "家庭套餐")
    assert {p.name for p in in_family} == {"张建国", "李秀兰", "张小宇"}
    assert family.guarantor.name == "张建国"
    assert PatientTag.select().where(PatientTag.tag == tag).count() == 3


def test_manager_sees_the_front_desks_registration_in_the_audit_trail(demo_clinic, web):
    page = web.login("frontdesk")
    nav_to(page, "/patients")
    type_search(page, "zhou")
    page.click("main a[href='/patients/new']")
    fill_patient(page, "周晓红", "F", "1992-11-30", "13612345678")
    submit_registration(page)
    page.wait_for_url(PATIENT_URL)
    chart_no = page.locator("h1 small").inner_text()
    sign_out(page)

    web.login("manager", page=page)
    nav_to(page, "/admin/audit")
    page.fill("#patient", chart_no)
    with page.expect_response(lambda r: "/admin/audit?" in r.url and chart_no in r.url):
        page.select_option("#action", "create")  # the filter form answers each change with htmx
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator(".badge.action-create")).to_be_visible()
    expect(row).to_contain_text("frontdesk")
    expect(row).to_contain_text("Front desk")
    expect(row).to_contain_text("周晓红")
    expect(row).to_contain_text(chart_no)
    assert "patient=" + chart_no in page.url  # the filter is in the address: it can be bookmarked

    event = AuditEvent.get(AuditEvent.action == "create", AuditEvent.object_ref == chart_no)
    assert (event.actor_label, event.role, event.ip) == ("frontdesk", "frontdesk", "127.0.0.1")
