"""Translations: the zh_CN catalog is complete and well-formed, pages come out in Chinese by
default, and each staff member can switch language for themselves."""
import re
from pathlib import Path

import pytest
from babel import Locale, support
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from portal.config import from_env
from portal.models import Staff
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
ZH = Locale.parse("zh_CN")  # Babel resolves this to zh_Hans_CN


def _zh_catalog() -> Path:
    """The Simplified Chinese catalog, whichever directory name it lives under."""
    found = [p for p in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
             if not p.parent.parent.is_symlink() and Locale.parse(p.parent.parent.name) == ZH]
    assert len(found) == 1, f"expected one zh_CN catalog under {TRANSLATIONS}, found {found}"
    return found[0]


ZH_PO = _zh_catalog()
ZH_MO = ZH_PO.with_suffix(".mo")

# A %-placeholder as Python's %-formatting reads it: %(name)s, %(n)d, %(x).2f …
PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Translations that may rightly contain no Chinese at all (brand names, codes). Keep it short.
NO_CHINESE_OK: set[str] = set()


def pybabel(*args):
    """Run a pybabel command in-process (the same code as the pybabel script)."""
    CommandLineInterface().run(["pybabel", "--quiet", *args])


def _ensure_compiled():
    """`make test` compiles first; a bare pytest run may not have, or may hold a stale .mo.

    Done at import, i.e. while pytest collects and before any test runs: Flask-Babel caches a
    locale's translations for the whole process, so a catalog compiled after another module's
    test had rendered in Chinese would never be seen."""
    if not ZH_MO.exists() or ZH_MO.stat().st_mtime < ZH_PO.stat().st_mtime:
        pybabel("compile", "-d", str(TRANSLATIONS))
    assert ZH_MO.exists()


_ensure_compiled()


def read_zh():
    with ZH_PO.open("rb") as f:
        return read_po(f)


@pytest.fixture()
def zh_default(app):
    """The app as a clinic runs it: zh_CN unless a person chose otherwise.

    Flask-Babel 4 copies BABEL_DEFAULT_LOCALE into its own configuration once, at init_app, so
    changing app.config after create_app() alone would not change the default.
    """
    app.config["PORTAL_LOCALE"] = app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    app.extensions["babel"].default_locale = "zh_CN"
    return app


def text(resp):
    return resp.get_data(as_text=True)


# --- the catalog -------------------------------------------------------------------------------

def test_every_string_in_the_source_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel("extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
            "--no-location", "-o", str(pot), str(ROOT))
    with pot.open("rb") as f:
        extracted = [m.id for m in read_po(f) if m.id]
    assert len(extracted) > 100, "extraction found too few strings; is babel.cfg still right?"

    catalog = read_zh()
    missing = [mid for mid in extracted if catalog.get(mid) is None]
    empty = [mid for mid in extracted if catalog.get(mid) is not None and not catalog.get(mid).string]
    fuzzy = [mid for mid in extracted if catalog.get(mid) is not None and catalog.get(mid).fuzzy]
    assert not missing, f"run `make messages` and translate: {missing}"
    assert not empty, f"untranslated in {ZH_PO.relative_to(ROOT)}: {empty}"
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"


def test_catalog_header_is_simplified_chinese_without_plurals():
    catalog = read_zh()
    assert Locale.parse(dict(catalog.mime_headers)["Language"]) == ZH
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    assert not catalog.fuzzy


def test_translations_keep_the_placeholders_and_are_chinese():
    catalog = read_zh()
    problems = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strings:
            if set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(msgid)):
                problems.append(f"placeholders differ: {msgid!r} -> {s!r}")
            # Templates format every string (newstyle gettext): a stray % breaks the page.
            if PLACEHOLDER.sub("", s).replace("%%", "").count("%") != \
                    PLACEHOLDER.sub("", msgid).replace("%%", "").count("%"):
                problems.append(f"stray %: {msgid!r} -> {s!r}")
            has_words = re.search(r"[A-Za-z]", PLACEHOLDER.sub("", msgid))
            if has_words and not CJK.search(s) and msgid not in NO_CHINESE_OK:
                problems.append(f"not translated into Chinese: {msgid!r} -> {s!r}")
    # Babel's own checks (python-format flags, plural counts), as `pybabel compile` runs them.
    for message, errors in catalog.check():
        problems += [f"{message.id!r}: {e}" for e in errors]
    assert not problems, "\n".join(problems)


def test_the_app_finds_the_chinese_catalog():
    """Flask-Babel loads a catalog by str(Locale.parse(code)), i.e. zh_Hans_CN (then zh); gettext
    never tries a directory named zh_CN, so a catalog only there is silently ignored."""
    translations = support.Translations.load(str(TRANSLATIONS), [ZH])
    assert isinstance(translations, support.Translations), (
        f"no catalog found for {ZH}: gettext looks in {TRANSLATIONS}/zh_Hans_CN and /zh, not /zh_CN")
    assert translations.gettext("Sign in") == "登录"


def test_placeholder_check_can_fail():
    assert set(PLACEHOLDER.findall("已为%(name)s建档")) != set(PLACEHOLDER.findall("Registered %(name)s, %(no)s"))
    assert set(PLACEHOLDER.findall("%(n)d位")) != set(PLACEHOLDER.findall("%(n)s patients"))


def test_the_clinic_default_language_is_chinese(monkeypatch):
    monkeypatch.delenv("PORTAL_LOCALE", raising=False)
    config = from_env()
    assert config["PORTAL_LOCALE"] == config["BABEL_DEFAULT_LOCALE"] == "zh_CN"


# --- pages --------------------------------------------------------------------------------------

def test_login_page_is_chinese_by_default(zh_default):
    page = text(zh_default.test_client().get("/login"))
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "用户名" in page and "密码" in page
    assert "Sign in" not in page and "User name" not in page
    assert ">English</button>" in page  # the switch offers the other language


def test_signed_in_pages_are_chinese_by_default(zh_default, as_role):
    page = text(as_role("frontdesk").get("/"))
    assert "首页" in page and "患者" in page and "建档" in page and "退出登录" in page and "前台" in page
    assert ">Patients<" not in page and "Sign out" not in page


def test_switching_language_is_saved_for_the_person(zh_default, as_role, staff):
    person = staff["frontdesk"]
    client = as_role("frontdesk")
    assert "退出登录" in text(client.get("/patients"))

    resp = client.post("/language/en", data={"next": "/patients"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/patients"
    assert Staff.get_by_id(person.id).locale == "en"
    page = text(client.get("/patients"))
    assert '<html lang="en">' in page and "Sign out" in page and ">Patients<" in page
    assert "退出登录" not in page and "中文" in page
    # Saved on the account, not only in this browser: another device without the cookie agrees.
    other_device = sign_in(zh_default.test_client(), Staff.get_by_id(person.id))
    assert "Sign out" in text(other_device.get("/"))
    # Colleagues keep the clinic's default.
    assert "退出登录" in text(as_role("doctor").get("/"))

    client.post("/language/zh_CN", data={"next": "/patients"})
    assert Staff.get_by_id(person.id).locale == "zh_CN"
    page = text(client.get("/patients"))
    assert '<html lang="zh-CN">' in page and "退出登录" in page and "Sign out" not in page


def test_language_switch_before_sign_in_uses_a_cookie(zh_default):
    client = zh_default.test_client()
    client.post("/language/en", data={"next": "/login"})
    assert "Sign in" in text(client.get("/login"))
    client.post("/language/zh_CN", data={"next": "/login"})
    assert "Sign in" not in text(client.get("/login"))


def test_unknown_language_is_refused_in_chinese(zh_default, as_role, staff):
    client = as_role("frontdesk")
    page = text(client.post("/language/xx", follow_redirects=True))
    assert "不支持该语言。" in page
    assert Staff.get_by_id(staff["frontdesk"].id).locale is None


def test_personal_choice_beats_the_server_default(app, staff, as_role):
    """The `app` fixture runs in English; a person who chose Chinese still gets Chinese."""
    staff["nurse"].locale = "zh_CN"
    staff["nurse"].save()
    assert "退出登录" in text(as_role("nurse").get("/"))
    assert "Sign out" in text(as_role("doctor").get("/"))


# --- messages -----------------------------------------------------------------------------------

def test_validation_messages_are_chinese(zh_default, as_role):
    resp = as_role("frontdesk").post("/patients/new", data={
        "name": "", "sex": "F", "birth_date": "2015-03-08", "phone": "13812345678"})
    page = text(resp)
    assert resp.status_code in (200, 422)
    assert "请输入患者姓名。" in page and "Enter the patient" not in page
    assert "姓名" in page and "出生日期" in page  # lazy labels, too


def test_service_errors_are_chinese(zh_default, as_role):
    resp = as_role("frontdesk").post("/patients/new", data={
        "name": "王芳", "sex": "F", "birth_date": "1988-04-02", "phone": "12345"})
    page = text(resp)
    assert "电话号码无效" in page and "not a valid phone number" not in page


def test_flash_messages_are_chinese_with_their_values(zh_default, as_role):
    client = as_role("frontdesk")
    resp = client.post("/patients/new", data={
        "name": "王芳", "sex": "F", "birth_date": "1988-04-02", "phone": "13812345678",
        "occupation_group": "", "preferred_channel": "sms", "preferred_time": "any",
        "referral_channel": "walk_in", "consent_treatment": "y"}, follow_redirects=True)
    page = text(resp)
    assert re.search(r"已为王芳建档，病历号\d+。", page), page
    assert "Registered" not in page

    page = text(client.post("/logout", follow_redirects=True))
    assert "您已退出登录。" in page
