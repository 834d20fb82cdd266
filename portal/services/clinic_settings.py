"""Clinic rules the manager edits on screen (issue 11): a registry of settings and their store.

A module declares a setting once with `define(key, default, kind, label, …)`; the default is the
clinic's number from DOMAIN.md. `get(config, key)` returns the current value: the newest stored
version of that key, or the default (one indexed query, safe in request paths). `save(config,
changes, actor)` validates every change before writing any, then writes them in one unit of work
as new version rows (nothing is overwritten, so the history shows who changed what and when) and
audits them.

Kinds: "int" (whole number within minimum..maximum), "choice" (one of `choices`), "window" (one
time window "HH:MM-HH:MM", returned as (start, end) times), "windows" (one or more windows
separated by commas, returned as a list of (start, end)).
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import time

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import ClinicSetting, Staff
from portal.services import ServiceError

KINDS = ("int", "choice", "window", "windows")

GROUPS = {
    "complaints": _l("Complaints"),
    "schedule": _l("Booking"),
    "followups": _l("Follow-up calls"),
    "general": _l("Other"),
}


@dataclass(frozen=True)
class Setting:
    key: str
    default: object
    kind: str
    label: object
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple = ()
    group: str = "general"
    help: object = ""
    unit: object = ""


REGISTRY: dict[str, Setting] = {}


class SettingsInvalid(ServiceError):
    """Some changes were refused; `errors` maps each refused key to its message. Nothing was saved."""

    def __init__(self, errors: dict):
        first_key = next(iter(errors))
        super().__init__(errors[first_key], field=first_key)
        self.errors = errors


def define(key: str, default, kind: str, label, *, minimum: int | None = None, maximum: int | None = None,
           choices=None, group: str = "general", help="", unit="") -> Setting:
    """Declare a setting. Declaring the same key again replaces it (a module reloaded in tests)."""
    assert kind in KINDS, kind
    assert len(key) <= 60, key
    setting = Setting(key=key, default=default, kind=kind, label=label, minimum=minimum, maximum=maximum,
                      choices=tuple(choices or ()), group=group, help=help, unit=unit)
    _parse(setting, dump(setting, default))  # a default that its own rules refuse is a programming error
    REGISTRY[key] = setting
    return setting


def setting(key: str) -> Setting:
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"clinic setting {key!r} is not defined (clinic_settings.define)") from None


# ---- text <-> value -------------------------------------------------------------------------

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _normal(raw) -> str:
    """Full-width digits and colons (输入法) become ASCII; dashes and 至/到/~ become '-'."""
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    for dash in ("–", "—", "－", "~", "〜", "至", "到"):
        text = text.replace(dash, "-")
    return re.sub(r"\s+", "", text).replace("，", ",").replace("、", ",")


def _hhmm(h: str, m: str) -> time | None:
    hours, minutes = int(h), int(m)
    if hours == 24 and minutes == 0:
        return time(23, 59, 59)
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def _window(text: str):
    match = _WINDOW.match(text)
    if not match:
        raise ServiceError(_l("Write a time window as HH:MM-HH:MM, for example 12:00-14:30."))
    start, end = _hhmm(*match.group(1, 2)), _hhmm(*match.group(3, 4))
    if start is None or end is None:
        raise ServiceError(_l("A time must lie between 00:00 and 24:00."))
    if end <= start:
        raise ServiceError(_l("A time window must end after it starts."))
    return start, end


def _parse(s: Setting, raw):
    text = _normal(raw)
    if s.kind == "int":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ServiceError(_l("Enter a whole number."))
        number = int(text)
        if (s.minimum is not None and number < s.minimum) or (s.maximum is not None and number > s.maximum):
            lo = s.minimum if s.minimum is not None else 0
            hi = s.maximum if s.maximum is not None else 10_000_000
            raise ServiceError(_l("Enter a whole number from %(low)d to %(high)d.", low=lo, high=hi))
        return number
    if s.kind == "choice":
        if text not in s.choices:
            raise ServiceError(_l("Choose one of the offered values."))
        return text
    if s.kind == "window":
        return _window(text)
    parts = [p for p in text.split(",") if p]  # windows
    if not parts:
        raise ServiceError(_l("Write at least one time window, for example 09:00-12:00."))
    windows = sorted(_window(p) for p in parts)
    for (_, end), (start, _) in zip(windows, windows[1:]):
        if start < end:
            raise ServiceError(_l("Time windows must not overlap."))
    return windows


def parse(kind: str, text: str):
    """A value of this kind from its text, by the same rules as the form (for defaults in code)."""
    return _parse(Setting(key="", default=None, kind=kind, label=""), text)


def _fmt(t: time) -> str:
    return "24:00" if t == time(23, 59, 59) else t.strftime("%H:%M")


def dump(s: Setting, value) -> str:
    """The stored (and displayed) text of a value."""
    if s.kind == "window":
        return f"{_fmt(value[0])}-{_fmt(value[1])}"
    if s.kind == "windows":
        return ", ".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in value)
    return str(value)


def _stored(s: Setting, text: str):
    try:
        return _parse(s, text)
    except ServiceError:
        return s.default  # a stored value the rules now refuse (a narrowed range): fall back, never crash a page


# ---- reading --------------------------------------------------------------------------------

def get(config, key: str):
    """The current value of one setting: one indexed query (key, version)."""
    s = setting(key)
    row = (ClinicSetting.select(ClinicSetting.value).where(ClinicSetting.key == key)
           .order_by(ClinicSetting.version.desc()).limit(1).first())
    return _stored(s, row.value) if row else s.default


def _latest_rows() -> dict[str, ClinicSetting]:
    newest = (ClinicSetting.select(ClinicSetting.key, pw.fn.MAX(ClinicSetting.version).alias("v"))
              .group_by(ClinicSetting.key))
    rows = (ClinicSetting.select(ClinicSetting, Staff.id, Staff.display_name)
            .join(newest, on=((ClinicSetting.key == newest.c.key) & (ClinicSetting.version == newest.c.v)))
            .switch(ClinicSetting).join(Staff, pw.JOIN.LEFT_OUTER, on=ClinicSetting.changed_by))
    return {r.key: r for r in rows}


def all_values(config) -> dict:
    """{key: current value} for every defined setting, in one query."""
    latest = _latest_rows()
    return {key: (_stored(s, latest[key].value) if key in latest else s.default) for key, s in REGISTRY.items()}


def _who(row) -> str:
    return (getattr(row.changed_by, "display_name", None) or "") if row is not None else ""


@dataclass
class Row:
    setting: Setting
    text: str          # current value as text
    is_default: bool
    version: int       # 0 while the default applies
    changed_by: str
    changed_at: object
    default_text: str = ""


def overview(config) -> list[tuple[object, list[Row]]]:
    """[(group label, [Row…])] in group order, for the manager's page."""
    latest = _latest_rows()
    grouped: dict[str, list[Row]] = {}
    for key, s in REGISTRY.items():
        r = latest.get(key)
        text = dump(s, _stored(s, r.value)) if r else dump(s, s.default)
        grouped.setdefault(s.group, []).append(Row(
            s, text, r is None, r.version if r else 0,
            _who(r), r.changed_at if r else None, dump(s, s.default)))
    order = list(GROUPS) + [g for g in grouped if g not in GROUPS]
    return [(GROUPS.get(g, g), grouped[g]) for g in order if g in grouped]


@dataclass
class Change:
    setting: Setting | None
    key: str
    old: str
    new: str
    version: int
    changed_by: str
    changed_at: object


def history(config, limit: int = 200) -> list[Change]:
    """Every change, newest first, with the value it replaced (the default before the first)."""
    rows = (ClinicSetting.select(ClinicSetting, Staff.id, Staff.display_name)
            .join(Staff, pw.JOIN.LEFT_OUTER, on=ClinicSetting.changed_by)
            .order_by(ClinicSetting.key, ClinicSetting.version))
    changes, previous = [], {}
    for r in rows:
        s = REGISTRY.get(r.key)
        old = previous.get(r.key, dump(s, s.default) if s else "")
        changes.append(Change(s, r.key, old, r.value, r.version,
                              _who(r), r.changed_at))
        previous[r.key] = r.value
    changes.sort(key=lambda c: (c.changed_at, c.version), reverse=True)
    return changes[:limit]


# ---- writing --------------------------------------------------------------------------------

def save(config, changes: dict, actor: Staff) -> list[str]:
    """Validate every change, then store those that differ as new versions in one unit of work.
    Refuses all (SettingsInvalid, nothing written) if any one is invalid. Returns the changed keys."""
    errors, parsed = {}, {}
    for key, raw in changes.items():
        s = REGISTRY.get(key)
        if s is None:
            errors[key] = _l("This setting does not exist.")
            continue
        try:
            parsed[key] = _parse(s, raw)
        except ServiceError as e:
            errors[key] = e.message
    if errors:
        raise SettingsInvalid(errors)
    changed = {}
    try:
        with unit_of_work():
            latest = _latest_rows()
            for key, value in parsed.items():
                s = REGISTRY[key]
                row = latest.get(key)
                old = _stored(s, row.value) if row else s.default
                if value == old:
                    continue
                ClinicSetting.create(key=key, value=dump(s, value), version=(row.version if row else 0) + 1,
                                     changed_by=actor)
                changed[key] = [dump(s, old), dump(s, value)]
            if changed:
                audit.record("update", object_type="clinic_setting", object_ref=",".join(changed)[:40],
                             detail=changed, actor=actor)
    except pw.IntegrityError:
        raise ServiceError(_l("Someone else changed these rules at the same moment. "
                              "Reload the page and try again.")) from None
    return list(changed)


# ---- the clinic's settings (defaults from DOMAIN.md) ----------------------------------------
# The follow-up numbers ("followup.*": recall months, ages, call windows, warning score, call
# attempts) are declared beside their rules in services/followups.py.

define("complaint.reply_hours", 24, "int", _l("First reply to a complaint within (hours)"),
       minimum=1, maximum=720, group="complaints")
define("complaint.resolve_days.minor", 3, "int", _l("Resolve a minor complaint within (working days)"),
       minimum=1, maximum=90, group="complaints")
define("complaint.resolve_days.medium", 7, "int", _l("Resolve a medium complaint within (working days)"),
       minimum=1, maximum=90, group="complaints")
define("complaint.resolve_days.severe", 14, "int", _l("Resolve a severe complaint within (working days)"),
       minimum=1, maximum=90, group="complaints")
define("schedule.first_visit_min_minutes", 60, "int", _l("A first visit lasts at least (minutes)"),
       minimum=5, maximum=480, group="schedule")
