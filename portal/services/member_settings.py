"""The membership settings a manager edits (points per yuan, approval limit, birthday mode, plan A/B…):
a row in `member_setting` overrides the default from config `MEMBER_DEFAULTS`."""
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import MemberSetting, utcnow
from portal.services import ServiceError

LABELS = {
    "points_per_yuan": _l("Points per yuan paid"), "approval_limit_fen": _l("Manager approval above (fen)"),
    "birthday_mode": _l("Birthday treat on the day or in the month"), "plan": _l("Benefit plan (A: tier benefits, B: redeem points)"),
    "birthday_discount_pct": _l("Birthday discount (%)"), "point_value_fen": _l("Value of one point when paying (fen)"),
    "registration_fee_fen": _l("Registration fee for a new patient (fen)"),
    "referral_points_referrer": _l("Referral reward to the referrer (points)"),
    "referral_points_referee": _l("Referral reward to the new patient (points)"),
    "expiry_notice_days": _l("Remind this many days before points expire"),
}
CHOICES = {"birthday_mode": ("day", "month"), "plan": ("A", "B")}


def all_settings(config) -> dict:
    values = dict(config["MEMBER_DEFAULTS"])
    for row in MemberSetting.select():
        if row.key in values:
            values[row.key] = row.value if row.key in CHOICES else int(row.value)
    return values


def get(config, key: str):
    return all_settings(config)[key]


def save(config, changes: dict, actor) -> list[str]:
    current = all_settings(config)
    changed = []
    with unit_of_work():
        for key, value in changes.items():
            if key not in current:
                continue
            if key in CHOICES:
                if value not in CHOICES[key]:
                    raise ServiceError(_l("Choose one of the offered values."), field=key)
            else:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ServiceError(_l("Enter a whole number."), field=key)
                if value < 0 or value > 10_000_000:
                    raise ServiceError(_l("Enter a number between 0 and 10,000,000."), field=key)
            if value == current[key]:
                continue
            row = MemberSetting.get_or_none(MemberSetting.key == key)
            if row is None:
                MemberSetting.create(key=key, value=str(value), updated_by=actor)
            else:
                MemberSetting.update(value=str(value), updated_by=actor, updated_at=utcnow()).where(
                    MemberSetting.id == row.id).execute()
            changed.append(key)
        if changed:
            audit.record("update", object_type="member_setting", object_ref=",".join(changed)[:40],
                         detail={k: changes[k] for k in changed}, actor=actor)
    return changed
