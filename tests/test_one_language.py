"""One language per page (issue 13): every GET page of every role, in a small demo clinic plus the
route walk's sample records, reads in the reader's language only.

- zh UI: no English word of the clinic's vocabulary (catalogue names and protocol steps, rule
  names, statuses, channels, departments, visit types, sources, questions, desk tasks, discounts,
  audit events, demo tags and gifts) and no raw key (`phone`, `surgical`, `first_visit_call`)
  in the visible text; an opaque code (`BDBN4GU5`) only as a "No. …" reference.
- en UI: no Chinese the system wrote. What people typed (names, notes, a clinic's own tags, chairs,
  instructions, the clinic's name) is theirs and stays as typed: every text value in the database
  is allowed except the columns the system fills itself (SYSTEM_COLUMNS).

Visible text = text nodes outside <script>, <style>, <template> and <textarea> (a form field's
value, like an attribute value, is what is being edited, in whichever language the field is for).
"""
import re
from html.parser import HTMLParser

import peewee as pw
import pytest
from flask_babel import force_locale

from portal import labels
from portal.models import Staff
from tests.conftest import ROLES, sign_in
from tests.test_access_matrix import _routes, _url, samples  # noqa: F401  (fixture)

# The two walks of every page of every role are marked heavy: run once in make test, not again in
# the clock sweeps. The rest is quick.

SKIP = {"auth.logout", "followups.survey_kiosk", "static"}
# The language switch names the other language in that language; chart marks are dental notation.
ZH_ALLOWED_WORDS = {"English", "VIP", "PDF", "JPEG", "PNG", "WebP", "CBCT", "IP"}
EN_ALLOWED_TEXT = ("中文",)
CODE = re.compile(r"(?<![\w-])(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6,8}(?![\w-])")
REFERENCE = re.compile(r"(?:No\.|编号)\s*[A-Z0-9]{6,12}")
PATH = re.compile(r"/[\w/.<>:-]+")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*")
CJK = re.compile(r"[\u3400-\u9fff]+")
# Columns the system writes itself: shown through portal/labels, never as stored.
SYSTEM_COLUMNS = {"procedure": {"name_zh"}, "protocol_step": {"text_zh"}, "step_tick": {"text_zh"},
                  "survey_question": {"text_zh"}, "care_article": {"title_zh", "body_zh"},
                  "followup_rule": {"name", "applies_to"}, "followup": {"topic"}, "doctor_task": {"reason"},
                  "desk_task": {"detail"}, "bill_line": {"description"}, "audit_event": None,
                  "survey_answer": {"question_text"}}


class _Visible(HTMLParser):
    HIDDEN = {"script", "style", "template", "textarea"}

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN and self.hidden > 0

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _vocabulary() -> tuple[set[str], set[str]]:
    """(English labels and names, raw keys) of what the system stores and shows."""
    from portal import templating
    from portal.models import CareArticle, GiftItem, Procedure, ProtocolStep, SurveyQuestion, Tag
    from portal.models import chart, followup, schedule
    maps = dict(labels._maps())
    maps.update(role=templating.ROLE_LABELS, message=templating.MESSAGE_LABELS,
                outbox=templating.OUTBOX_STATUS_LABELS, next_action=templating.NEXT_ACTION_LABELS)
    generic = ("audit_detail", "audit_action")  # words like "from", "to", "Read": not the clinic's vocabulary
    with force_locale("en"):
        phrases = {str(v) for kind, m in maps.items() if kind not in generic for v in m.values()}
    phrases |= {p.name_en for p in Procedure.select()} | {s.text_en for s in ProtocolStep.select()}
    for model in (Tag, GiftItem):  # the demo's tags and gifts carry an English name
        phrases |= {getattr(r, "name_en", "") for r in model.select()} - {""}
    phrases |= {q.text_en for q in SurveyQuestion.select()} | {a.title_en for a in CareArticle.select()}
    # raw keys: those of the clinic's vocabulary (an audit event's object "bill" or "visit" is a plain word)
    keys = {k for kind, m in maps.items() if kind not in ("mark", "audit_object", *generic) for k in m
            if isinstance(k, str)}
    keys |= {k for k in maps["audit_object"] if "_" in k}
    keys |= set(chart.DEPARTMENTS) | set(followup.RULE_EVENTS) | set(followup.COMPLAINT_CHANNELS)
    keys |= set(schedule.SOURCES) | set(schedule.VISIT_TYPES) | set(schedule.STATUSES)
    keys = {k for k in keys if len(k) > 2 and k.isascii() and k.islower()}
    keys -= {s.username for s in Staff.select()}  # sign-in names are typed (the demo's are `doctor`, `manager`)
    return {p for p in phrases if p and p.isascii() and p not in ZH_ALLOWED_WORDS}, keys


def _typed_text() -> list[str]:
    """Every text value in the database except the columns the system writes (longest first)."""
    from portal.models.base import BaseModel
    found = set()
    for model in _models(BaseModel):
        skip = SYSTEM_COLUMNS.get(model._meta.table_name, set())
        if skip is None:
            continue
        fields = [f for f in model._meta.sorted_fields if isinstance(f, (pw.CharField, pw.TextField))
                  and f.name not in skip]
        if "name_en" in model._meta.fields and model._meta.table_name in ("tag", "gift_item"):
            rows = model.select().where(model.name_en == "")  # a demo tag or gift has an English name
        else:
            rows = model.select(*fields) if fields else []
        for row in rows:
            for f in fields:
                value = getattr(row, f.name, None)
                if isinstance(value, str) and CJK.search(value):
                    found.add(value)
                    found.update(p.strip() for p in re.split(r"[\n,，、]", value) if CJK.search(p))
    return sorted(found, key=len, reverse=True)


def _models(base):
    for sub in base.__subclasses__():
        yield sub
        yield from _models(sub)


def _problems_zh(text: str, phrases: set[str], keys: set[str]) -> list[str]:
    text = REFERENCE.sub(" ", PATH.sub(" ", text))
    found = [f"code {c}" for c in CODE.findall(text)]
    tokens = set(WORD.findall(text)) - ZH_ALLOWED_WORDS
    found += [f"key {k}" for k in sorted(tokens & keys)]
    for phrase in phrases:
        first = WORD.match(phrase)
        if first and first.group(0) in tokens and re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text):
            found.append(f"English {phrase!r}")
    return found


def _problems_en(text: str, typed: list[str]) -> list[str]:
    for value in typed:
        if value in text:
            text = text.replace(value, " ")
    for allowed in EN_ALLOWED_TEXT:
        text = text.replace(allowed, " ")
    return [f"Chinese {w!r}" for w in CJK.findall(text)]


@pytest.fixture()
def demo_clinic(app, staff):
    """A few demo households with the demo's catalogue, schedule, follow-ups and money, before the
    route walk's samples (the demo seeds patients only into an empty registry)."""
    from portal.demo import seed_demo
    with app.app_context():
        seed_demo(app.config, families=6)
    return app


@pytest.fixture()
def clinic(demo_clinic, staff, samples):  # noqa: F811
    # Staff named as a clinic names them ("Demo doctor" would read as the raw role key); sign-in
    # names stay (the demo's are `doctor`, `manager`: typed, not keys).
    for i, (role, person) in enumerate(sorted(staff.items())):
        Staff.update(display_name=["赵顾问", "王医生", "刘前台", "孙经理", "陈护士"][i]).where(Staff.id == person.id).execute()
    return samples


def _walk(app, staff, samples, language: str, check) -> dict:
    Staff.update(locale=language).execute()
    problems = {}
    for role in ROLES:
        client = sign_in(app.test_client(), staff[role])
        for rule in _routes(app):
            if rule.endpoint in SKIP or "GET" not in rule.methods:
                continue
            url = _url(rule, samples)
            try:
                resp = client.get(url)
            except Exception:  # noqa: BLE001  (a page that fails is the access walk's business)
                continue
            if resp.status_code != 200 or resp.mimetype != "text/html":
                continue  # refusals and errors are the access walk's business
            found = check(visible(resp.get_data(as_text=True)))
            if found:
                problems.setdefault(rule.rule, set()).update(found)
    return problems


def _report(problems: dict) -> str:
    return "\n".join(f"{url}: {sorted(found)[:12]}" for url, found in sorted(problems.items()))


@pytest.mark.heavy
def test_zh_pages_show_no_english_vocabulary_and_no_raw_keys(app, staff, clinic):
    with app.app_context():
        phrases, keys = _vocabulary()
    problems = _walk(app, staff, clinic, "zh_CN", lambda text: _problems_zh(text, phrases, keys))
    assert not problems, "English words or raw keys in the Chinese UI:\n" + _report(problems)


@pytest.mark.heavy
def test_en_pages_show_no_chinese_the_system_wrote(app, staff, clinic):
    with app.app_context():
        typed = _typed_text() + [app.config["CLINIC_NAME"]]
    problems = _walk(app, staff, clinic, "en", lambda text: _problems_en(text, typed))
    assert not problems, "System-written Chinese in the English UI:\n" + _report(problems)


# --- the checks themselves can fail ----------------------------------------------------------------

def test_the_zh_check_finds_english_names_raw_keys_and_bare_codes():
    phrases, keys = {"Ultrasonic scaling", "Phone call"}, {"surgical", "first_visit_call"}
    page = visible("<p>超声波洁治 Ultrasonic scaling · surgical</p><p>BDBN4GU5</p><script>var x='phone'</script>")
    found = _problems_zh(page, phrases, keys)
    assert "English 'Ultrasonic scaling'" in found and "key surgical" in found and "code BDBN4GU5" in found
    assert _problems_zh(visible("<p>超声波洁治 <small>编号 BDBN4GU5</small> English</p>"), phrases, keys) == []


def test_the_en_check_finds_chinese_the_system_wrote():
    assert _problems_en(visible("<td>Scaling · 超声波洁治</td><td>王小明</td>"), ["王小明"]) == ["Chinese '超声波洁治'"]
    assert _problems_en(visible("<td>王小明</td><textarea>术后须知</textarea>"), ["王小明"]) == []


# --- what the system stores is a key, read in each language -------------------------------------

def _as(client, staff, role, locale):
    Staff.update(locale=locale).where(Staff.id == staff[role].id).execute()
    return sign_in(client, staff[role])


def test_default_rules_are_keys_shown_in_each_language_and_kept_when_saved_as_shown(app, staff):
    from portal.models import FollowupRule
    from portal.services import followups
    with app.app_context():
        followups.ensure_default_rules()
    rule = FollowupRule.get(FollowupRule.name == "first_visit_call")
    zh = _as(app.test_client(), staff, "manager", "zh_CN")
    page = zh.get(f"/followups/rules/{rule.code}").get_data(as_text=True)
    assert "初诊回访" in page and "first_visit_call" not in visible(page) and 'value="初诊回访"' in page
    # questions are ticked from a list in the reader's words, not typed as keys
    assert "每天使用牙线" in page and re.search(r'<input checked[^>]*type="checkbox" value="flossing_daily"', page)
    resp = zh.post(f"/followups/rules/{rule.code}", data={
        "name": "初诊回访", "event": "first_visit", "offset_days": "3", "kind": "call",
        "questions": ["pain", "satisfied"], "active": "y"})
    assert resp.status_code == 303
    saved = FollowupRule.get_by_id(rule.id)
    assert saved.name == "first_visit_call" and saved.questions == "pain,satisfied" and saved.offset_days == 3
    en = _as(app.test_client(), staff, "manager", "en")
    assert "First-visit call" in en.get("/followups/rules").get_data(as_text=True)
    zh.post(f"/followups/rules/{rule.code}", data={"name": "新患者回访", "event": "first_visit", "offset_days": "3",
                                                   "kind": "call", "questions": "pain", "active": "y"})
    assert FollowupRule.get_by_id(rule.id).name == "新患者回访"  # the manager's own name, as typed


def test_rule_applies_to_is_edited_in_the_readers_words(app, staff):
    from portal.models import FollowupRule
    from portal.services import followups
    with app.app_context():
        followups.ensure_default_rules()
    rule = FollowupRule.get(FollowupRule.name == "extraction_next_day")
    zh = _as(app.test_client(), staff, "manager", "zh_CN")
    page = zh.get(f"/followups/rules/{rule.code}").get_data(as_text=True)
    shown = re.search(r'name="applies_to"[^>]*value="([^"]*)"', page).group(1)
    assert shown and "surgical" not in shown
    zh.post(f"/followups/rules/{rule.code}", data={"name": "拔牙：次日回访", "event": "department",
                                                   "applies_to": shown, "offset_days": "1", "kind": "call",
                                                   "questions": ["pain"], "active": "y"})
    assert FollowupRule.get_by_id(rule.id).applies_to == "surgical"


def test_catalogue_after_care_is_chosen_from_known_words(app, staff):
    from portal.models import Procedure
    from portal.services import catalogue as cat
    zh = _as(app.test_client(), staff, "manager", "zh_CN")
    page = zh.get("/catalogue/new").get_data(as_text=True)
    assert 'name="fu-0-kind"' in page and "拆线" in page and "after_days" not in visible(page)
    resp = zh.post("/catalogue/new", data={
        "code": "SUR-EXT", "name_zh": "拔牙", "name_en": "Tooth extraction", "department": "surgical",
        "duration_minutes": "30", "price": "300", "active": "y",
        "fu-0-after": "1", "fu-0-unit": "days", "fu-0-kind": "call", "fu-0-topic": "bleeding and pain",
        "fu-0-questions": ["pain", "bleeding"], "fu-0-stage": "short",
        "fu-1-after": "6", "fu-1-unit": "months", "fu-1-kind": "recall", "fu-1-topic": "", "fu-2-after": ""})
    assert resp.status_code == 303
    proc = Procedure.get(Procedure.code == "SUR-EXT")
    assert cat.aftercare_rows(proc.followup_rules, blank=0) == [
        {"after": 1, "unit": "days", "kind": "call", "topic": "bleeding and pain", "stage": "short",
         "questions": ["pain", "bleeding"]},
        {"after": 6, "unit": "months", "kind": "recall", "topic": "", "stage": "", "questions": []}]
    en = _as(app.test_client(), staff, "manager", "en")
    shown = visible(en.get("/catalogue/SUR-EXT").get_data(as_text=True))
    assert "Tooth extraction" in shown and "拔牙" not in shown and "Bleeding and pain" in shown


def test_generated_texts_are_keys_read_in_the_readers_language(app):
    from types import SimpleNamespace
    task = SimpleNamespace(kind="tier_gift", detail=labels.tier_gift_detail("vip", 10000))
    line = SimpleNamespace(kind="discount", description=labels.discount_key("tier", "vip", 10), procedure_id=None)
    birthday = SimpleNamespace(kind="discount", description=labels.discount_key("birthday", "", 15), procedure_id=None)
    with app.test_request_context(), force_locale("en"):
        assert labels.desk_task_text(task) == "Reached VIP member: hand over the gift worth ¥100.00"
        assert labels.bill_line_text(line) == "VIP member discount 10%"
        assert labels.bill_line_text(birthday) == "Birthday discount 15%"
        assert labels.keys_text("pain,swelling", "question") == "Pain, Swelling"
        assert labels.label("phone", "channel") == "Phone call" and labels.label("我的话", "channel") == "我的话"
    with app.test_request_context(), force_locale("zh_CN"):
        assert "VIP会员" in labels.desk_task_text(task) and "¥100.00" in labels.desk_task_text(task)
        assert labels.keys_text("pain,swelling", "question") == "疼痛、肿胀"
        assert labels.audit_detail_text('{"warnings": ["pain"], "lang": "en"}') == "预警症状: 疼痛; 语言: 英文"
        assert "VIP会员" in labels.audit_detail_text('{"reason": "{\\"tier\\": \\"vip\\", \\"value\\": 10000}"}')


@pytest.fixture()
def at_0014(tmp_path):
    from portal import create_app
    from portal.db import db
    from portal.migrations import migrate
    from tests.conftest import PG_URL
    url = PG_URL or f"sqlite:///{tmp_path / 'm15.db'}"
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        if PG_URL:
            db.execute_sql("DROP SCHEMA IF EXISTS m15test CASCADE; CREATE SCHEMA m15test; SET search_path TO m15test, public")
        migrate(target=14)
        yield db, migrate
        if PG_URL:
            db.execute_sql("SET search_path TO public; DROP SCHEMA m15test CASCADE")
        db.close()


def test_migration_0015_turns_seeded_texts_into_keys(at_0014):
    db, migrate = at_0014
    p, now = db.param, "2026-01-01 00:00:00"
    for code, name in (("R1", "初诊回访"), ("R2", "Implant: first week"), ("R3", "我们自己的规则")):
        db.execute_sql(f"INSERT INTO followup_rule (code, name, event, applies_to, offset_days, kind, questions, active, "
                       f"version, updated_at) VALUES ({p}, {p}, 'first_visit', '', 2, 'call', '', {p}, 1, {p})",
                       (code, name, True, now))
    db.execute_sql(f"INSERT INTO tag (name, color, clinical_alert) VALUES ({p}, '#000000', {p}), ({p}, '#000000', {p})",
                   ("牙齿敏感", False, "我们的标签", False))
    migrate(target=15)
    names = dict(db.execute_sql("SELECT code, name FROM followup_rule").fetchall())
    assert names == {"R1": "first_visit_call", "R2": "implant_first_week", "R3": "我们自己的规则"}
    tags = dict(db.execute_sql("SELECT name, name_en FROM tag").fetchall())
    assert tags == {"牙齿敏感": "Sensitive teeth", "我们的标签": ""}


def test_a_clinics_own_tag_may_carry_an_english_name(app, staff):
    from portal.models import Tag
    zh = _as(app.test_client(), staff, "manager", "zh_CN")
    assert zh.post("/admin/tags", data={"name": "洁牙常客", "name_en": "Regular scaling", "color": "#123456"}).status_code == 303
    assert zh.post("/admin/tags", data={"name": "老朋友", "color": "#123456"}).status_code == 303
    assert Tag.get(Tag.name == "洁牙常客").name_en == "Regular scaling"
    en = visible(_as(app.test_client(), staff, "manager", "en").get("/admin/tags").get_data(as_text=True))
    assert "Regular scaling" in en and "洁牙常客" not in en and "老朋友" in en  # typed without one: as typed
    assert "洁牙常客" in visible(zh.get("/admin/tags").get_data(as_text=True))
