"""Patients, families, tags and consents: the registry (建档)."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.staff import Staff

SEXES = ("F", "M")
OCCUPATION_GROUPS = ("child", "student", "working", "retired")
CHANNELS = ("sms", "phone", "email", "wechat")
CONTACT_TIMES = ("any", "morning", "lunch", "afternoon", "evening")
REFERRAL_CHANNELS = ("walk_in", "patient", "staff", "online", "community", "other")
CONSENT_KINDS = ("treatment", "reminders", "marketing")


class Family(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=60)
    guarantor = pw.DeferredForeignKey("Patient", null=True, deferrable=None)
    note = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "family"


class Patient(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    chart_no = pw.CharField(max_length=20, unique=True)
    name = pw.CharField(max_length=40)
    name_pinyin = pw.CharField(max_length=120)
    name_initials = pw.CharField(max_length=40)
    sex = pw.CharField(max_length=1)
    birth_date = pw.DateField()
    phone = pw.CharField(max_length=20, index=True)
    phone_rev = pw.CharField(max_length=20)  # reversed digits: suffix search by index
    phone2 = pw.CharField(max_length=20, default="")
    email = pw.CharField(max_length=120, default="")
    id_number = pw.CharField(max_length=18, default="")
    address = pw.CharField(max_length=200, default="")
    occupation_group = pw.CharField(max_length=10)
    preferred_channel = pw.CharField(max_length=10, default="sms")
    preferred_time = pw.CharField(max_length=10, default="any")
    allergies = pw.TextField(default="")
    medical_alerts = pw.TextField(default="")
    referred_by = pw.ForeignKeyField("self", null=True, backref="referrals", on_delete="SET NULL")
    referral_channel = pw.CharField(max_length=20, default="walk_in")
    family = pw.ForeignKeyField(Family, null=True, backref="members", on_delete="SET NULL")
    attending_doctor = pw.ForeignKeyField(Staff, null=True, backref="patients", on_delete="SET NULL")
    restricted = pw.BooleanField(default=False)  # VIP privacy: only the manager and attending doctor
    created_at = pw.DateTimeField(default=utcnow)
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "patient"
        # Search keys with the page's tie-breaker (migration 0022): a range scan on one of these
        # is already in the order a search page shows, so it stops after the page.
        indexes = ((("name", "id"), False), (("name_pinyin", "id"), False),
                   (("name_initials", "id"), False), (("phone_rev", "id"), False))


class Tag(BaseModel):
    name = pw.CharField(max_length=30, unique=True)
    name_en = pw.CharField(max_length=30, default="")  # optional: shown in the English UI (portal.labels.localized)
    color = pw.CharField(max_length=7, default="#64748b")
    clinical_alert = pw.BooleanField(default=False)  # shown to nurse and doctor before every visit

    class Meta:
        table_name = "tag"


class PatientTag(BaseModel):
    patient = pw.ForeignKeyField(Patient, backref="tag_links", on_delete="CASCADE")
    tag = pw.ForeignKeyField(Tag, backref="patient_links", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "patient_tag"
        indexes = ((("patient", "tag"), True),)


class Consent(BaseModel):
    """One row per decision; the latest row per kind is the one in force."""
    patient = pw.ForeignKeyField(Patient, backref="consents", on_delete="CASCADE")
    kind = pw.CharField(max_length=20)
    version = pw.CharField(max_length=20)
    granted = pw.BooleanField()
    method = pw.CharField(max_length=20, default="paper")
    recorded_at = pw.DateTimeField(default=utcnow)
    recorded_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "consent"
