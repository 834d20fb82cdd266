"""Consent forms (知情同意书, issue 14): versioned templates per procedure kind, and the forms
filled from them, signed on the tablet by the patient (or a guardian) and the doctor.

A form keeps the exact text shown to the signers and its SHA-256 hash; the signatures are vector
strokes (JSON lists of points). A signed form is never changed: its row is locked by status.
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import PlanItem, Procedure, Visit
from portal.models.people import Patient
from portal.models.staff import Staff

CONSENT_KINDS = ("extraction", "implant", "root_canal", "orthodontics", "whitening", "sedation", "minor")
CONSENT_STATUSES = ("draft", "signed")
SIGNER_KINDS = ("patient", "guardian")


class ConsentTemplate(BaseModel):
    kind = pw.CharField(max_length=20)
    version = pw.IntegerField()
    title_zh = pw.CharField(max_length=80)
    title_en = pw.CharField(max_length=120)
    body_zh = pw.TextField()       # what is done and its risks
    body_en = pw.TextField()
    alternatives_zh = pw.TextField(default="")
    alternatives_en = pw.TextField(default="")
    cost_zh = pw.TextField(default="")
    cost_en = pw.TextField(default="")
    procedures = pw.CharField(max_length=200, default="")  # catalogue codes that need this consent, comma separated
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "consent_template"
        indexes = ((("kind", "version"), True),)


class ConsentForm(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="RESTRICT")
    template = pw.ForeignKeyField(ConsentTemplate, backref="+", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, null=True, backref="+", on_delete="SET NULL")
    plan_item = pw.ForeignKeyField(PlanItem, null=True, backref="+", on_delete="SET NULL")
    procedure = pw.ForeignKeyField(Procedure, null=True, backref="+", on_delete="SET NULL")
    tooth = pw.CharField(max_length=40, default="")
    lang = pw.CharField(max_length=5, default="zh_CN")
    text = pw.TextField()                  # the exact text the signers read
    text_hash = pw.CharField(max_length=64)  # SHA-256 of `text` (UTF-8)
    status = pw.CharField(max_length=10, default="draft")
    signer_kind = pw.CharField(max_length=10, default="patient")
    signer_name = pw.CharField(max_length=60, default="")
    relationship = pw.CharField(max_length=30, default="")
    patient_strokes = pw.TextField(default="")
    patient_signed_at = pw.DateTimeField(null=True)
    doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    doctor_strokes = pw.TextField(default="")
    doctor_signed_at = pw.DateTimeField(null=True)
    created_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "consent_form"
        indexes = ((("patient", "created_at"), False),)
