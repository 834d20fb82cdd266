"""The membership settings a manager edits on screen (points per yuan, approval limit, plan A/B, tier
thresholds, perks per tier, gift values, plan B prices, points validity…).

Defaults are seed 002 / DOMAIN.md ("Membership"); config `MEMBER_DEFAULTS` may override the general
ones; a row in `member_setting` overrides both. Every change is validated as a whole (thresholds must
rise tier by tier) and written to `member_setting_change` with who, when, old and new value."""
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import MemberSetting, MemberSettingChange, Staff, utcnow
from portal.services import ServiceError

TIERS = ("member", "senior", "vip", "diamond")
PERK_KINDS = ("scaling", "air_polishing", "facial", "herbal", "fluoride_child")
PLAN_B_KINDS = ("scaling", "air_polishing", "fluoride_child", "sealant", "facial", "herbal")

# Seed 002 (A方案): a single payment or the running total (fen) reaches the tier.
SEED_THRESHOLDS = {"member": (100_000, 200_000), "senior": (500_000, 800_000), "vip": (1_000_000, 1_500_000),
                   "diamond": (2_000_000, 2_500_000)}
# "每年…" perks, uses per calendar year (fluoride_child: per child under 12 in the family).
SEED_YEARLY = {"member": {}, "senior": {"scaling": 1}, "vip": {"scaling": 2},
               "diamond": {"air_polishing": 2, "fluoride_child": 1, "facial": 1, "herbal": 1}}
# "赠送…一次" perks: handed once when the tier is reached, they do not lapse.
SEED_ONCE = {"member": {}, "senior": {"facial": 1}, "vip": {"facial": 1, "herbal": 1}, "diamond": {}}
# 三、会员奖品费用核算: the tier gift is bought at 1 % of the tier's amount: ¥10 / ¥50 / ¥100 / ¥200.
SEED_GIFT_VALUES = {"member": 1000, "senior": 5000, "vip": 10000, "diamond": 20000}
# B方案 points prices (sealant per tooth).
SEED_PRICES_B = {"scaling": 5000, "air_polishing": 6000, "fluoride_child": 2000, "sealant": 2000, "facial": 3000,
                 "herbal": 5000}

# The general defaults (config MEMBER_DEFAULTS may override them per installation).
DEFAULTS: dict = {"points_per_yuan": 1, "approval_limit_fen": 20000, "birthday_mode": "day", "plan": "A",
                  "birthday_discount_pct": 10, "point_value_fen": 1, "registration_fee_fen": 1000,
                  "referral_points_referrer": 500, "referral_points_referee": 200, "expiry_notice_days": 30,
                  "points_valid_months": 12, "redeem_single_points": 1000, "redeem_cumulative_points": 2000}
for _t in TIERS:
    DEFAULTS[f"tier_{_t}_single_fen"], DEFAULTS[f"tier_{_t}_cumulative_fen"] = SEED_THRESHOLDS[_t]
    DEFAULTS[f"gift_value_{_t}_fen"] = SEED_GIFT_VALUES[_t]
    DEFAULTS[f"discount_{_t}_pct"] = 0          # no tier discount in the seed: only where the clinic sets one
    DEFAULTS[f"discount_{_t}_special_pct"] = 0  # implants and orthodontics
    for _k in PERK_KINDS:
        DEFAULTS[f"yearly_{_t}_{_k}"] = SEED_YEARLY[_t].get(_k, 0)
        DEFAULTS[f"once_{_t}_{_k}"] = SEED_ONCE[_t].get(_k, 0) if _k != "fluoride_child" else 0
for _k in PLAN_B_KINDS:
    DEFAULTS[f"price_b_{_k}"] = SEED_PRICES_B[_k]

LABELS = {
    "plan": _l("Benefit plan (A: tier benefits, B: redeem points)"),
    "points_per_yuan": _l("Points per yuan paid"), "approval_limit_fen": _l("Manager approval above (fen)"),
    "birthday_mode": _l("Birthday treat on the day or in the month"),
    "birthday_discount_pct": _l("Birthday discount (%)"), "point_value_fen": _l("Value of one point when paying (fen)"),
    "registration_fee_fen": _l("Registration fee for a new patient (fen)"),
    "referral_points_referrer": _l("Referral reward to the referrer (points)"),
    "referral_points_referee": _l("Referral reward to the new patient (points)"),
    "expiry_notice_days": _l("Remind this many days before points expire"),
    "points_valid_months": _l("Plan B: points are valid for (months)"),
    "redeem_single_points": _l("Plan B: redeem after one payment earning (points)"),
    "redeem_cumulative_points": _l("Plan B: or after earning in total (points)"),
}
CHOICES = {"birthday_mode": ("day", "month"), "plan": ("A", "B")}
# Columns of the per-tier table on the settings page.
TIER_COLUMNS = {"tier_{t}_single_fen": _l("One payment ≥ (fen)"), "tier_{t}_cumulative_fen": _l("Or in total ≥ (fen)"),
                "gift_value_{t}_fen": _l("Tier gift value (fen)"), "discount_{t}_pct": _l("Discount (%)"),
                "discount_{t}_special_pct": _l("Implants and orthodontics discount (%)")}


def _range(key: str) -> tuple[int, int]:
    if key.endswith("_pct"):
        return 0, 100
    if key.startswith(("yearly_", "once_")):
        return 0, 10
    if key == "points_valid_months":
        return 1, 120
    if key == "points_per_yuan":
        return 0, 100
    if key == "point_value_fen":
        return 1, 10_000
    return 0, 100_000_000


def all_settings(config=None) -> dict:
    from flask import has_app_context
    if config is None and has_app_context():
        config = current_app.config
    values = dict(DEFAULTS)
    values.update((config or {}).get("MEMBER_DEFAULTS", {}))
    for row in MemberSetting.select():
        if row.key in values:
            values[row.key] = row.value if row.key in CHOICES else int(row.value)
    return values


def get(config, key: str):
    return all_settings(config)[key]


def _check_rules(values: dict) -> None:
    """Cross-field rules: each tier needs more than the one below it, in both columns."""
    for column in ("single", "cumulative"):
        for lower, upper in zip(TIERS, TIERS[1:]):
            key = f"tier_{upper}_{column}_fen"
            if values[key] <= values[f"tier_{lower}_{column}_fen"]:
                raise ServiceError(_l("Each level needs more than the level below it."), field=key)


def save(config, changes: dict, actor) -> list[str]:
    current = all_settings(config)
    proposed, changed = dict(current), []
    for key, value in changes.items():
        if key not in current:
            continue
        if key in CHOICES:
            if value not in CHOICES[key]:
                raise ServiceError(_l("Choose one of the offered values."), field=key)
        else:
            try:
                value = int(str(value).strip())
            except (TypeError, ValueError):
                raise ServiceError(_l("Enter a whole number."), field=key)
            low, high = _range(key)
            if not low <= value <= high:
                raise ServiceError(_l("Enter a number between %(low)s and %(high)s.", low=f"{low:,}", high=f"{high:,}"),
                                   field=key)
        if value != current[key]:
            proposed[key] = value
            changed.append(key)
    if not changed:
        return []
    _check_rules(proposed)
    with unit_of_work():
        now = utcnow()
        for key in changed:
            value = str(proposed[key])
            row = MemberSetting.get_or_none(MemberSetting.key == key)
            if row is None:
                MemberSetting.create(key=key, value=value, updated_by=actor, updated_at=now)
            else:
                MemberSetting.update(value=value, updated_by=actor, updated_at=now).where(
                    MemberSetting.id == row.id).execute()
            MemberSettingChange.create(key=key, old_value=str(current[key]), new_value=value, changed_by=actor,
                                       changed_at=now)
        audit.record("update", object_type="member_setting", object_ref=",".join(changed)[:40],
                     detail={k: {"old": current[k], "new": proposed[k]} for k in changed}, actor=actor)
    return changed


def history(limit: int = 100) -> list[MemberSettingChange]:
    """Newest first: key, old, new, who, when."""
    from peewee import JOIN
    return list(MemberSettingChange.select(MemberSettingChange, Staff)
                .join(Staff, JOIN.LEFT_OUTER, on=(MemberSettingChange.changed_by == Staff.id))
                .order_by(MemberSettingChange.changed_at.desc(), MemberSettingChange.id.desc()).limit(limit))


# --- typed views the services use ------------------------------------------------------------------

def thresholds(config=None) -> tuple:
    """((tier, single ≥ fen, cumulative ≥ fen), …) highest tier first, as tiers.tier_for expects."""
    v = all_settings(config)
    return tuple((t, v[f"tier_{t}_single_fen"], v[f"tier_{t}_cumulative_fen"]) for t in reversed(TIERS))


def perks(config=None, once: bool = False) -> dict:
    v, prefix = all_settings(config), "once" if once else "yearly"
    return {t: {k: v[f"{prefix}_{t}_{k}"] for k in PERK_KINDS if v.get(f"{prefix}_{t}_{k}", 0) > 0} for t in TIERS}


def prices_b(config=None) -> dict:
    v = all_settings(config)
    return {k: v[f"price_b_{k}"] for k in PLAN_B_KINDS}
