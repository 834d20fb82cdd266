"""One language per page (issue 13).

What the system writes itself is stored as a key (a department, a channel, a default rule's name,
a bill line's kind of discount, the warning signs of a call, …) or with a name in each language
(`name_zh`/`name_en`), and is shown in the reader's language here, never as stored:

- `label(value, kind)` (template filter `|label(kind)`): the reader's words for a key; a value that
  is not a key (something a person typed) is shown as typed;
- `localized(obj, "name")` (template global): `name_zh`/`name_en` by the reader's language, or for a
  clinic's own record with an optional `name_en`, that name in English and the typed name otherwise;
- `bill_line_text(line)`, `desk_task_text(task)`, `keys_text(keys, kind)`: stored keys made readable.

The label maps stay where their area defines them; this module only looks them up (lazily, so a
lower layer can import it).
"""
import json
import re

from flask import g, has_app_context, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# Audit events: what was read or changed (the `object_type` of an event).
AUDIT_OBJECT_LABELS = {
    "appointment": _l("Appointment"), "approvals": _l("Approvals"), "benefit_received": _l("Benefit received"),
    "benefit_use": _l("Benefit used"), "bill": _l("Bill"), "bill_line": _l("Bill line"), "calendar_feed": _l("Calendar feed"),
    "chair": _l("Chair"), "chart": _l("Dental chart"), "chart_entry": _l("Chart entry"), "checkin": _l("Check-in board"),
    "clinic_setting": _l("Clinic rule"), "complaint": _l("Complaint"), "complaint_list": _l("Complaint list"),
    "consent": _l("Consent"), "desk_task": _l("Desk task"), "doctor_change": _l("Change of doctor"),
    "doctor_task_list": _l("Doctor's task list"), "escalation": _l("Urgent task for the doctor"),
    "family": _l("Family"), "first_visit_report": _l("First-visit report"), "followup": _l("Follow-up"),
    "followup_list": _l("Follow-up list"), "followup_rule": _l("Follow-up rule"), "gift_issue": _l("Gift handed over"),
    "gift_item": _l("Gift"), "image": _l("Clinical image"), "images": _l("Clinical images"),
    "instructions": _l("Aftercare instructions"), "kiosk": _l("Survey tablet"), "lifecycle": _l("Tooth history"),
    "member_join": _l("Membership joined"), "member_list": _l("Member list"), "member_setting": _l("Membership setting"),
    "member_settings": _l("Membership settings"), "patient": _l("Patient"), "patient_link": _l("Patient link"),
    "payment": _l("Payment"), "plan": _l("Treatment plan"), "plan_item": _l("Plan item"), "plan_quote": _l("Plan quote"),
    "procedure": _l("Catalogue procedure"), "protocol": _l("Protocol step"), "recall": _l("Recall"),
    "recall_list": _l("Recall list"), "receipt": _l("Receipt"), "referral": _l("Referral"), "refund": _l("Refund"),
    "route": _l("Page"), "schedule": _l("Schedule"), "search": _l("Patient search"), "shift": _l("Shift"),
    "shift_exception": _l("Shift change"), "staff": _l("Staff account"), "survey": _l("Survey"),
    "survey_list": _l("Survey list"), "survey_question": _l("Survey question"), "tag": _l("Tag"), "tags": _l("Tags"),
    "takings": _l("Takings"), "visit": _l("Visit"), "visits": _l("Visits"), "visit_summary": _l("Visit summary"),
    "appointment_card": _l("Appointment card"),
}
# The keys of an audit event's detail.
AUDIT_DETAIL_LABELS = {
    "active": _l("in use"), "added": _l("added"), "addendum": _l("addendum"), "adjustment": _l("adjustment"),
    "amount_fen": _l("amount"), "answers": _l("answers"), "approved": _l("approved"), "article": _l("article"),
    "assigned_to": _l("assigned to"), "background": _l("in the background"), "beneficiary": _l("beneficiary"),
    "benefit": _l("benefit"), "category": _l("category"), "change": _l("change"), "channel": _l("channel"),
    "charge": _l("charge"), "closed": _l("closed"), "consent": _l("consent"), "contact": _l("contact"),
    "corrects": _l("corrects"), "counted": _l("counted"), "covered_fen": _l("covered"), "day": _l("day"),
    "doctor": _l("doctor"), "entry": _l("entry"), "field": _l("field"), "fields": _l("fields"),
    "followup": _l("follow-up"), "from": _l("from"), "granted": _l("granted"), "guarantor": _l("guarantor"),
    "handled": _l("handled"), "in": _l("stock in"), "ip": _l("IP address"), "kind": _l("kind"), "kiosk": _l("tablet"),
    "lang": _l("language"), "members": _l("members"), "merged": _l("merged"), "method": _l("method"),
    "name": _l("name"), "new": _l("new"), "note": _l("note"), "old": _l("old"), "outcome": _l("outcome"),
    "owner": _l("owner"), "passed": _l("passed"), "path": _l("page"), "picker": _l("picker"),
    "planned": _l("planned"), "points": _l("points"), "price_fen": _l("price"), "procedure": _l("procedure"),
    "q": _l("search"), "reason": _l("reason"), "referrer": _l("referrer"),
    "registration_waived": _l("registration fee waived"), "released": _l("released"), "reminder": _l("reminder"),
    "removed": _l("removed"), "reset": _l("reset"), "revoked": _l("revoked"), "role": _l("role"),
    "score": _l("score"), "severity": _l("severity"), "shown": _l("shown"), "signed": _l("signed"),
    "size": _l("size"), "skipped": _l("skipped"), "state": _l("state"), "step": _l("step"), "steps": _l("steps"),
    "tag": _l("tag"), "to": _l("to"), "tooth": _l("tooth"), "use": _l("use"), "valid_to": _l("valid until"),
    "version": _l("version"), "via": _l("via"), "visit": _l("visit"), "warnings": _l("warning signs"),
    "weekday": _l("weekday"), "why": _l("why"), "withdrawn": _l("withdrawn"), "zh": _l("Chinese"), "en": _l("English"),
    "purpose": _l("purpose"), "scope": _l("for"), "holder": _l("holder"), "replaces": _l("replaces"),
    "year": _l("year"), "once": _l("once"), "registration": _l("registration"),
    # values
    "forbidden": _l("not allowed"), "record": _l("not this record"), "throttled": _l("too many attempts"),
    "pdf": _l("PDF"), "page": _l("page"), "format": _l("format"),
}
# Channels a message or a call goes through, and where a booking came from.
CHANNEL_LABELS = {"sms": _l("SMS"), "phone": _l("Phone call"), "email": _l("E-mail"), "wechat": _l("WeChat"),
                  "console": _l("Test console"), "http": _l("SMS"), "desk": _l("At the desk"), "link": _l("Patient link"),
                  "in_person": _l("In person"), "online": _l("Online review"), "letter": _l("Letter"), "other": _l("Other")}
# States a bill line, payment or follow-up records (shown in an audit event's detail).
STATE_LABELS = {"pending": _l("awaiting approval"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                "done": _l("Done"), "open": _l("Open"), "handled": _l("Handled")}
YES_NO = {True: _l("yes"), False: _l("no"), None: "—"}
# Words of the special-recall marks that are not tags or chart findings: diagnosis words, in either language.
MARK_LABELS = {"牙周炎": _l("Periodontitis"), "牙周病": _l("Periodontal disease"), "periodontitis": _l("Periodontitis")}
# The after-care topics the demo catalogue uses (a clinic's own topics are shown as typed).
TOPIC_LABELS = {"scaling": _l("Scaling"), "periodontal re-evaluation": _l("Periodontal re-evaluation"),
                "fluoride": _l("Fluoride"), "sealant retention": _l("Sealant retention"),
                "sensitivity": _l("Sensitivity"), "pain": _l("Pain"), "crown after root canal": _l("Crown after root canal"),
                "bleeding and pain": _l("Bleeding and pain"), "swelling": _l("Swelling"),
                "suture removal": _l("Suture removal"), "implant check": _l("Implant check")}
FOLLOWUP_KIND_LABELS = {"call": _l("Call"), "review": _l("Review visit"), "recall": _l("Recall")}
DESK_TASK_LABELS = {"birthday": _l("Birthday: hand over the birthday gift")}


def is_en() -> bool:
    locale = get_locale() if has_app_context() else None  # a request, or a printout under force_locale
    return locale is not None and locale.language == "en"


def localized(obj, field: str = "name") -> str:
    """The record's `field` in the reader's language."""
    if obj is None:
        return ""
    zh, en = getattr(obj, f"{field}_zh", None), getattr(obj, f"{field}_en", None)
    if zh is not None:
        return (en or zh) if is_en() else (zh or en or "")
    typed = getattr(obj, field, "") or ""
    return (en or typed) if is_en() else typed


def _maps() -> dict:
    """kind -> {key: label}; built once per process (the labels are lazy strings)."""
    cached = getattr(_maps, "cached", None)
    if cached is not None:
        return cached
    from portal.audit import ACTION_LABELS
    from portal.blueprints.chart.forms import DEPARTMENT_LABELS
    from portal.blueprints.schedule.forms import SOURCE_CHOICES, VISIT_TYPE_CHOICES
    from portal.services import benefits, billing, chart_teeth, tiers
    from portal.services.patient_links import SCOPE_LABELS
    from portal.services.followups import QUESTIONS, RULE_NAME_LABELS
    from portal.templating import STATUS_LABELS
    kinds = {k: v.label for k, v in chart_teeth.KINDS.items()}
    cached = {
        "department": DEPARTMENT_LABELS, "channel": CHANNEL_LABELS, "source": dict(SOURCE_CHOICES),
        "visit_type": dict(VISIT_TYPE_CHOICES), "status": STATUS_LABELS, "audit_action": ACTION_LABELS,
        "audit_object": AUDIT_OBJECT_LABELS, "audit_detail": AUDIT_DETAIL_LABELS,
        "question": {k: v[0] for k, v in QUESTIONS.items()}, "rule": RULE_NAME_LABELS, "tier": tiers.TIER_LABELS,
        "benefit": benefits.KIND_LABELS, "chart_kind": kinds, "topic": TOPIC_LABELS,
        "followup_kind": FOLLOWUP_KIND_LABELS, "link_scope": SCOPE_LABELS, "payment_method": billing.METHOD_LABELS,
        "state": STATE_LABELS, "desk_task": DESK_TASK_LABELS,
        # a rule's "applies to": departments, visit types, chart findings or diagnosis words
        "mark": {**kinds, **dict(VISIT_TYPE_CHOICES), **DEPARTMENT_LABELS, **MARK_LABELS},
    }
    _maps.cached = cached
    return cached


def label(value, kind: str) -> str:
    """The reader's words for a stored key; anything else as typed."""
    if value is None:
        return ""
    found = _maps().get(kind, {}).get(value)
    return str(found) if found is not None else str(value)


def keys_text(keys, kind: str, sep: str | None = None) -> str:
    """A comma-separated list of keys, each in the reader's words (duplicates once)."""
    parts = [p.strip() for p in (keys or "").replace("，", ",").split(",") if p.strip()] if isinstance(keys, str) else list(keys or [])
    seen = []
    for part in parts:
        text = _tag_name(part) if kind == "mark" else None
        text = text or label(part, kind)
        if text not in seen:
            seen.append(text)
    return (sep or ("、" if not is_en() else ", ")).join(seen)


def keys_from_words(text: str, kind: str) -> str:
    """What a person typed back into keys: a word that is the reader's label of a key becomes the key."""
    reverse: dict[str, list[str]] = {}
    for key, value in _maps().get(kind, {}).items():
        reverse.setdefault(str(value).casefold(), []).append(key)  # one word may stand for several keys
    parts = [p.strip() for p in (text or "").replace("，", ",").replace("、", ",").split(",") if p.strip()]
    keys = []
    for part in parts:
        for key in reverse.get(part.casefold(), [part]):
            if key not in keys:
                keys.append(key)
    return ",".join(keys)


def applies_words() -> str:
    """The departments and visit types a rule may name, in the reader's words."""
    maps = _maps()
    words = [str(v) for v in maps["department"].values()] + [str(v) for v in maps["visit_type"].values()]
    return ("、" if not is_en() else ", ").join(words)


def _tag_name(name: str) -> str | None:
    """A tag named in a rule, in the reader's language (demo tags carry an English name)."""
    if not is_en():
        return None
    tags = _request_cache("tag_names", lambda: {t.name: t.name_en for t in _tags()})
    return tags.get(name) or None


def _tags():
    from portal.models import Tag
    return list(Tag.select(Tag.name, Tag.name_en))


def _request_cache(name, make):
    if not has_request_context():
        return make()
    cache = g.setdefault("_labels_cache", {})
    if name not in cache:
        cache[name] = make()
    return cache[name]


def rule_name(rule) -> str:
    """A follow-up rule's name: a default rule's key in the reader's words, a manager's own name as typed."""
    return label(rule.name, "rule")


def topic_text(topic: str) -> str:
    """A follow-up's topic: rule names, procedure codes and after-care topics, each in the reader's words."""
    out = []
    for merged in (topic or "").split("; "):
        words = []
        for part in merged.split(" · "):
            proc = _procedure_by_code(part)
            words.append(localized(proc, "name") if proc else label(part, "topic") if part in TOPIC_LABELS
                         else label(part, "rule"))
        out.append(" · ".join(words))
    return "; ".join(out)


def _procedure_by_code(text: str):
    def make():
        from portal.models import Procedure
        found = {}
        for p in Procedure.select(Procedure.id, Procedure.code, Procedure.name_zh, Procedure.name_en):
            found[p.code] = found[p.name_zh] = p
        return found
    return _request_cache("procedures_by_code", make).get(text)


# --- bill lines ---------------------------------------------------------------------------------
# Lines the system writes store a key in `description`: "registration", "birthday:10" and
# "tier:vip:10" (discounts: tier and percent), a benefit's kind; a procedure line shows the
# catalogue's name (the description keeps "#<tooth>" when the run was on a tooth).
TOOTH = re.compile(r"#(\d{2})\b")


def discount_key(why: str, tier: str, pct: int) -> str:
    return f"birthday:{pct}" if why == "birthday" else f"tier:{tier}:{pct}"


def bill_line_text(line) -> str:
    from flask_babel import gettext as _
    kind, text = line.kind, line.description or ""
    if kind == "procedure" and line.procedure_id:
        proc = _procedure(line.procedure_id)
        tooth = TOOTH.search(text)
        name = localized(proc, "name") if proc else text
        return f"{name} #{tooth.group(1)}" if tooth else name
    if kind == "registration":
        return _("Registration fee")
    if kind == "discount":
        parts = text.split(":")
        if parts[0] == "birthday" and len(parts) == 2 and parts[1].isdigit():
            return _("Birthday discount %(p)s%%", p=int(parts[1]))
        if parts[0] == "tier" and len(parts) == 3 and parts[2].isdigit():
            return _("%(tier)s discount %(p)s%%", tier=label(parts[1], "tier"), p=int(parts[2]))
    if kind == "benefit":
        return label(text, "benefit")
    return text


def _procedure(proc_id):
    from portal.models import Procedure
    procs = _request_cache("procedures", lambda: {p.id: p for p in Procedure.select(
        Procedure.id, Procedure.name_zh, Procedure.name_en)})
    return procs.get(proc_id)


# --- desk tasks ---------------------------------------------------------------------------------
# A tier's welcome gift stores {"tier": …, "value": fen} as JSON; a birthday stores nothing.
def tier_gift_detail(tier: str, value_fen: int) -> str:
    return json.dumps({"tier": tier, "value": int(value_fen)}, sort_keys=True)


def desk_task_text(task) -> str:
    from flask_babel import gettext as _

    from portal.templating import money
    detail = task.detail or ""
    if task.kind == "tier_gift" and detail.startswith("{"):
        try:
            data = json.loads(detail)
            return _("Reached %(tier)s: hand over the gift worth %(value)s", tier=label(data["tier"], "tier"),
                     value=money(int(data["value"])))
        except (ValueError, KeyError, TypeError):
            return detail
    if task.kind in DESK_TASK_LABELS and not detail:
        return label(task.kind, "desk_task")
    return detail


def gift_reason_text(reason: str) -> str:
    """A gift handed over for a desk task keeps the task's key ("desk:<kind>" / the tier JSON)."""
    from types import SimpleNamespace
    if reason.startswith("{"):
        return desk_task_text(SimpleNamespace(kind="tier_gift", detail=reason))
    if reason.startswith("desk:"):
        return label(reason[5:], "desk_task")
    return reason


def _any_label(value) -> str:
    """A recorded value that happens to be a key of some map (a warning sign, a kind, a language)."""
    if isinstance(value, str):
        maps = _maps()
        for kind in ("question", "benefit", "department", "channel", "tier", "chart_kind", "link_scope",
                     "payment_method", "state", "visit_type", "status", "audit_detail"):
            if value in maps[kind]:
                return str(maps[kind][value])
    return str(value)


def audit_ref_text(ref: str | None) -> str:
    """What an audit event names: a code as a "No. …" reference, a filter word (a list read with
    status "open") in the reader's words, a date or a count as recorded."""
    from flask_babel import gettext as _
    if not ref:
        return ""
    if ref.isascii() and ref.islower() and ref.replace("_", "").isalpha():
        return _any_label(ref) if ref != "all" else _("all")
    return _("No. %(code)s", code=ref)


# --- audit detail -------------------------------------------------------------------------------
def audit_detail_text(detail: str) -> str:
    """An event's detail, key by key in the reader's words; values stay as recorded (codes, numbers)."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(data, dict):
        return detail
    parts = []
    for key, value in data.items():
        if isinstance(value, bool) or value is None:
            value = str(YES_NO[value])
        elif key == "reason" and isinstance(value, str):
            value = gift_reason_text(value)  # a gift handed over for a desk task keeps the task's key
        elif isinstance(value, (list, dict)):
            value = ", ".join(_any_label(v) for v in (value if isinstance(value, list) else value.keys()))
        else:
            value = _any_label(value)
        parts.append(f"{label(key, 'audit_detail')}: {value}")
    return "; ".join(parts)
