"""Membership (会员, issue 7): tiers, the points ledger, yearly benefits, referrals, gifts,
the desk's hand-over tasks, change-of-doctor requests and the manager's settings."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.billing import Bill, Payment
from portal.models.people import Patient
from portal.models.staff import Staff

TIERS = ("member", "senior", "vip", "diamond")
POINT_REASONS = ("payment", "refund", "redemption", "referral", "birthday", "expiry", "adjustment")


class MemberSetting(BaseModel):
    key = pw.CharField(max_length=40, unique=True)
    value = pw.CharField(max_length=200)
    updated_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "member_setting"


class MemberSettingChange(BaseModel):
    """One change of one setting: the history the settings page shows (who, when, old, new)."""
    key = pw.CharField(max_length=40)
    old_value = pw.CharField(max_length=200)
    new_value = pw.CharField(max_length=200)
    changed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    changed_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "member_setting_change"


class Membership(BaseModel):
    """One per paying patient: the card, the tier reached (never lowered) and running totals.
    A patient is a member only from `joined_at` (consent recorded, seed 002 "经病人同意后…登记")."""
    patient = pw.ForeignKeyField(Patient, unique=True, backref="+", on_delete="RESTRICT")
    card_no = pw.CharField(max_length=20, unique=True)
    tier = pw.CharField(max_length=10, default="", index=True)
    tier_reached_at = pw.DateTimeField(null=True)
    paid_total_fen = pw.BigIntegerField(default=0)   # money paid, net of refunds
    points = pw.IntegerField(default=0)              # equals the ledger's sum; kept for lists
    created_at = pw.DateTimeField(default=utcnow)
    joined_at = pw.DateTimeField(null=True)          # consent and registration details recorded
    joined_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "membership"


class TierChange(BaseModel):
    membership = pw.ForeignKeyField(Membership, backref="tier_changes", on_delete="RESTRICT")
    from_tier = pw.CharField(max_length=10, default="")
    to_tier = pw.CharField(max_length=10)
    basis = pw.CharField(max_length=12)  # single / cumulative
    amount_fen = pw.BigIntegerField()
    payment = pw.ForeignKeyField(Payment, null=True, backref="+", on_delete="RESTRICT")
    reached_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "tier_change"


class PointEntry(BaseModel):
    """The append-only ledger. An earning row is also a lot: `remaining` is what FIFO spending,
    refunds and expiry have not yet taken from it (the only column ever updated)."""
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    delta = pw.IntegerField()
    reason = pw.CharField(max_length=12)
    note = pw.CharField(max_length=200, default="")
    payment = pw.ForeignKeyField(Payment, null=True, backref="+", on_delete="RESTRICT")
    expires_on = pw.DateField(null=True)
    remaining = pw.IntegerField(default=0)
    unique_key = pw.CharField(max_length=80, null=True, unique=True)
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "point_entry"
        indexes = ((("patient", "created_at"), False), (("expires_on", "remaining"), False))


class BenefitGrant(BaseModel):
    """A yearly allowance (`quantity` uses of `kind` in `year`), or with `once` a one-off perk of a tier
    reached in `year` that does not lapse; `used` only rises, guarded in SQL."""
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    year = pw.IntegerField()
    kind = pw.CharField(max_length=20)
    child = pw.ForeignKeyField(Patient, null=True, backref="+", on_delete="RESTRICT")
    quantity = pw.IntegerField()
    used = pw.IntegerField(default=0)
    once = pw.BooleanField(default=False)
    grant_key = pw.CharField(max_length=60, unique=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "benefit_grant"
        indexes = ((("patient", "year"), False),)


class BenefitUse(BaseModel):
    """One use of a benefit (or a Plan B redemption): who received it, and whether it was a transfer."""
    code = pw.CharField(max_length=12, unique=True)
    member = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    beneficiary = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    grant = pw.ForeignKeyField(BenefitGrant, null=True, backref="uses", on_delete="RESTRICT")
    bill = pw.ForeignKeyField(Bill, null=True, backref="+", on_delete="RESTRICT")  # the bill it covered
    kind = pw.CharField(max_length=20)
    points = pw.IntegerField(default=0)  # Plan B: points redeemed
    transferred = pw.BooleanField(default=False)
    registration_waived = pw.BooleanField(default=False)
    note = pw.CharField(max_length=200, default="")
    used_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    used_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "benefit_use"
        indexes = ((("member", "used_at"), False), (("beneficiary", "used_at"), False))


class Referral(BaseModel):
    """A reward given once, when the referred patient's first visit is paid."""
    referrer = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    referee = pw.ForeignKeyField(Patient, unique=True, backref="+", on_delete="RESTRICT")
    rewarded_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "referral"


class GiftItem(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=60)
    name_en = pw.CharField(max_length=60, default="")  # optional: shown in the English UI (portal.labels.localized)
    stock = pw.IntegerField(default=0)
    low_stock = pw.IntegerField(default=5)
    unit_cost_fen = pw.IntegerField(default=0)
    active = pw.BooleanField(default=True)

    class Meta:
        table_name = "gift_item"


class GiftMovement(BaseModel):
    item = pw.ForeignKeyField(GiftItem, backref="movements", on_delete="RESTRICT")
    delta = pw.IntegerField()
    kind = pw.CharField(max_length=10)  # in / issue / count
    patient = pw.ForeignKeyField(Patient, null=True, backref="+", on_delete="RESTRICT")
    reason = pw.CharField(max_length=200)
    by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "gift_movement"


class DeskTask(BaseModel):
    """Something the front desk hands over: a tier's welcome gift, a birthday gift."""
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    kind = pw.CharField(max_length=12)
    detail = pw.CharField(max_length=200, default="")
    unique_key = pw.CharField(max_length=80, unique=True)
    status = pw.CharField(max_length=10, default="open", index=True)
    created_at = pw.DateTimeField(default=utcnow)
    done_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    done_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "desk_task"


class DoctorChangeRequest(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    from_doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    to_doctor = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    reason = pw.CharField(max_length=300)
    status = pw.CharField(max_length=10, default="pending", index=True)
    requested_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    requested_at = pw.DateTimeField(default=utcnow)
    decided_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    decided_at = pw.DateTimeField(null=True)
    decision_note = pw.CharField(max_length=300, default="")

    class Meta:
        table_name = "doctor_change_request"
