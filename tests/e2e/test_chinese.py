"""The portal as clinics run it: in Chinese unless someone chose otherwise."""
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date
from flask_babel import gettext
from playwright.sync_api import expect

from portal.services.identity import age_on
from tests import factories
from tests.e2e.conftest import ARTIFACTS, nav_to

pytestmark = pytest.mark.e2e

CJK = re.compile(r"[\u3400-\u9fff]")


def chinese_for(app):
    """The Chinese the app shows for a message, asked of the app's own Flask-Babel."""
    def zh(message: str, **values) -> str:
        with app.test_request_context("/"):
            translated = gettext(message, **values)
        assert CJK.search(translated), (
            f"no Chinese for {message!r} at the zh_CN default: the catalog is missing, not compiled, "
            f"or not where Flask-Babel looks for Locale.parse('zh_CN') = {Locale.parse('zh_CN')}")
        return translated
    return zh


def test_front_desk_works_in_chinese_by_default(chinese, web, frontdesk_staff):
    zh = chinese_for(chinese)
    kid = factories.patient(frontdesk_staff, name="张小明", birth_date=date(2015, 3, 8))
    today = datetime.now(ZoneInfo(chinese.config["PORTAL_TZ"])).date()

    page = web.page(locale="zh-CN")
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("main h1")).to_have_text(zh("Sign in"))
    expect(page.locator("label[for=username]")).to_have_text(zh("User name"))

    web.login("frontdesk", page=page)
    expect(page.locator("main h1")).to_have_text(zh("Good day, %(name)s", name="刘芳"))
    expect(page.locator("main p.sub").first).to_contain_text(format_date(today, "full", locale="zh_CN"))  # 2026年11月23日星期一
    nav = [text.strip() for text in page.locator("nav.mainnav a").all_text_contents()]  # menus too
    assert nav[:3] == [zh("Home"), zh("Patients"), zh("Register")], nav
    assert all(CJK.search(n) for n in nav), f"untranslated navigation: {nav}"
    expect(page.locator("header .who")).to_contain_text(zh("Front desk"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "home-frontdesk-zh_CN.png", full_page=True)

    nav_to(page, "/patients")
    search = page.locator("main input[type=search][name=q]")
    expect(search).to_have_attribute("aria-label", zh("Search patients"))
    search.press_sequentially("zxm", delay=40)
    row = page.locator("#results .row", has_text="张小明")
    expect(row).to_contain_text(zh("Male"))
    expect(row).to_contain_text(zh("%(n)d y", n=age_on(kid.birth_date, today)))
    expect(row).to_contain_text(kid.chart_no)
