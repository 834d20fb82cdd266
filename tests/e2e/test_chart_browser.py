"""The dental record in a browser on the operatory tablet (1024×768): a doctor charts a
7-year-old's mixed dentition and signs the visit; a nurse ticks the 11 scaling steps for another
patient; the chart on the earlier date does not show the new entries."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from portal.models import ChartEntry, StepTick, Staff, Visit
from portal.services import chart as charts
from portal.services import chart_visits as visits
from tests import factories
from tests.e2e.conftest import ARTIFACTS
from tests.clock import clinic_today, suite_today

pytestmark = pytest.mark.e2e
EARLIER = suite_today() - timedelta(days=200)


@pytest.fixture()
def clinic(live_app):
    from portal.demo_clinical import seed_catalogue
    with live_app.app_context():
        seed_catalogue()
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        child = factories.patient(desk, name="周小梦", sex="F", birth_date=date(clinic_today().year - 7, 1, 15))
        adult = factories.patient(desk, name="覃大文", birth_date=date(1981, 3, 11))
        charts.record(child, charts.EntryData(54, "filling", "existing", "OD"), doctor, EARLIER)
        scaling_visit = visits.open_visit(adult, doctor, clinic_today())
    return {"child": child, "adult": adult, "scaling_visit": scaling_visit.code}


def _aria(page, tooth):
    return page.locator(f"svg.odontogram [data-tooth='{tooth}']").get_attribute("aria-label")


def _record(page, tooth, kind, status, surfaces):
    page.locator(f"svg.odontogram [data-tooth='{tooth}']").click()
    panel = page.locator("#tooth-panel")
    expect(panel).to_contain_text(f"Tooth {tooth}")
    form = panel.locator("form.entry-form")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("select[name=status]").select_option(status)
    for s in surfaces:
        form.locator(f"input[name=surface][value={s}]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".flash")).to_contain_text(f"tooth {tooth}")


def test_doctor_charts_signs_nurse_ticks_and_the_past_chart_is_unchanged(live_app, web, clinic):
    child, adult = clinic["child"], clinic["adult"]
    doctor = web.login("doctor")
    doctor.goto(f"/patients/{child.code}")
    doctor.click(f"a[href='/patients/{child.code}/chart']")
    expect(doctor.locator(".dentition")).to_contain_text("Mixed dentition")
    for tooth in (16, 26, 36, 46, 11, 31, 55, 65, 75, 85):
        expect(doctor.locator(f"svg.odontogram [data-tooth='{tooth}']")).to_have_count(1)
    expect(doctor.locator("svg.odontogram [data-tooth='17']")).to_have_count(0)

    doctor.goto(f"/patients/{child.code}/visits")
    doctor.click("form[action$='/visits'] button[type=submit]")
    doctor.wait_for_url(re.compile(r"/visits/\w+$"))
    visit_url = doctor.url
    doctor.goto(f"/patients/{child.code}/chart")
    _record(doctor, 75, "caries", "existing", ["O", "D"])
    _record(doctor, 36, "sealant", "done", ["O"])
    assert "Caries" in _aria(doctor, 75) and "Sealant" in _aria(doctor, 36)
    doctor.screenshot(path=str(ARTIFACTS / "chart-mixed-en.png"))

    doctor.goto(visit_url)
    doctor.fill("textarea[name=chief_complaint]", "家长发现右下后牙有黑点")
    doctor.fill("textarea[name=diagnosis]", "75 龋病；36 窝沟封闭")
    doctor.click("form[action$='/notes'] button[type=submit]")
    doctor.click("form[action$='/sign'] button[type=submit]")
    expect(doctor.locator(".flash")).to_contain_text("Signed")
    expect(doctor.locator("textarea[name=chief_complaint]")).to_have_count(0)
    with live_app.app_context():
        visit = Visit.get(Visit.patient == child.id)
        assert visit.status == "signed"
        assert {e.visit_id for e in ChartEntry.select().where(ChartEntry.tooth.in_([75, 36]))} == {visit.id}

    nurse = web.login("nurse")
    nurse.goto(f"/visits/{clinic['scaling_visit']}")
    nurse.select_option("select[name=procedure]", "PER-SC")
    nurse.click("form[action$='/procedures'] button[type=submit]")
    for n in range(1, 12):
        nurse.click(f"button[data-step='{n}']")
        expect(nurse.locator(".protocol .badge").first).to_contain_text(f"{n} of 11")
    nurse.screenshot(path=str(ARTIFACTS / "protocol-scaling-done.png"), full_page=True)
    with live_app.app_context():
        nurse_id = Staff.get(Staff.username == "nurse").id
        ticks = list(StepTick.select())
        assert len(ticks) == 11 and all(t.state == "done" and t.by_id == nurse_id and t.at for t in ticks)

    doctor.goto(f"/patients/{child.code}/chart")
    doctor.click(f".dates a[href*='on={EARLIER.isoformat()}']")
    expect(doctor.locator(".badge.past")).to_be_visible()
    assert "Caries" not in _aria(doctor, 75) and "Sealant" not in _aria(doctor, 36)
    assert "Filling" in _aria(doctor, 54)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_chart_screenshots_primary_and_permanent(live_app, web, lang):
    with live_app.app_context():
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        toddler = factories.patient(desk, name="小宝", birth_date=date(clinic_today().year - 4, 1, 1))
        adult = factories.patient(desk, name="王建华", birth_date=date(1970, 1, 1))
        for tooth, kind, status, surf in ((84, "caries", "existing", "O"), (64, "filling", "done", "MO")):
            charts.record(toddler, charts.EntryData(tooth, kind, status, surf), doctor, clinic_today())
        for tooth, kind, status, surf in ((16, "crown", "existing", ""), (26, "filling", "existing", "MOD"),
                                          (36, "root_canal", "existing", ""), (46, "missing", "existing", ""),
                                          (45, "bridge_abutment", "planned", ""), (47, "bridge_abutment", "planned", ""),
                                          (11, "caries", "planned", "MI"), (37, "implant", "existing", "")):
            charts.record(adult, charts.EntryData(tooth, kind, status, surf), doctor, clinic_today())
    page = web.page("zh-CN" if lang == "zh_CN" else "en-US")
    page.context.add_cookies([{"name": "lang", "value": lang, "url": web.base_url}])
    page = web.login("doctor", page)
    page.goto(f"/patients/{toddler.code}/chart")
    teeth = page.locator("svg.odontogram [data-tooth]")
    assert sorted(int(t) for t in teeth.evaluate_all("els => els.map(e => e.dataset.tooth)")) == sorted(
        [*range(51, 56), *range(61, 66), *range(71, 76), *range(81, 86)])
    page.screenshot(path=str(ARTIFACTS / f"chart-primary-{lang}.png"))
    page.goto(f"/patients/{adult.code}/chart?tooth=36")
    assert teeth.count() == 32
    page.screenshot(path=str(ARTIFACTS / f"chart-permanent-{lang}.png"))
