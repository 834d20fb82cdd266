"""Prescriptions (处方, issue 14): a drug catalogue the manager keeps, and prescriptions written from
a visit. A signed prescription never changes; a correction voids it (with a reason) and reissues."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import Visit
from portal.models.people import Patient
from portal.models.staff import Staff


class Drug(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name_zh = pw.CharField(max_length=60)
    name_en = pw.CharField(max_length=60)
    form = pw.CharField(max_length=20)            # tablet, capsule, mouthwash, injection, gel, granules
    strength = pw.CharField(max_length=40)        # as the box says: "0.25 g", "0.12% 250 ml"
    dose_unit = pw.CharField(max_length=10, default="mg")
    default_dose = pw.DecimalField(max_digits=10, decimal_places=2)
    route = pw.CharField(max_length=20)           # oral, rinse, topical, injection
    frequency = pw.CharField(max_length=10)       # qd, bid, tid, qid, q8h, prn
    days = pw.IntegerField(default=3)
    max_daily = pw.DecimalField(max_digits=10, decimal_places=2, null=True)       # adult, in dose_unit
    child_mg_per_kg_day = pw.DecimalField(max_digits=10, decimal_places=2, null=True)  # under 14: limit per kg
    pregnancy_warning = pw.TextField(default="")
    allergy_class = pw.CharField(max_length=20, default="")  # penicillin, cephalosporin, nsaid, sulfa, …
    package_unit = pw.CharField(max_length=10, default="box")
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "drug"


class Prescription(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="prescriptions", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, backref="prescriptions", on_delete="RESTRICT")
    doctor = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    status = pw.CharField(max_length=10, default="draft")  # draft → signed → void
    department = pw.CharField(max_length=30, default="")
    diagnosis = pw.TextField(default="")
    weight_kg = pw.DecimalField(max_digits=6, decimal_places=1, null=True)
    pregnant = pw.BooleanField(default=False)
    override_reason = pw.TextField(default="")
    warnings = pw.TextField(default="")  # the warnings the doctor overrode, one a line
    replaces = pw.ForeignKeyField("self", null=True, backref="reissues", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    signed_at = pw.DateTimeField(null=True)
    signed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    voided_at = pw.DateTimeField(null=True)
    voided_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    void_reason = pw.TextField(default="")

    class Meta:
        table_name = "prescription"
        indexes = ((("patient", "created_at"), False),)


class PrescriptionLine(BaseModel):
    prescription = pw.ForeignKeyField(Prescription, backref="lines", on_delete="CASCADE")
    position = pw.IntegerField()
    drug = pw.ForeignKeyField(Drug, backref="+", on_delete="RESTRICT")
    dose = pw.DecimalField(max_digits=10, decimal_places=2)
    frequency = pw.CharField(max_length=10)
    days = pw.IntegerField()
    quantity = pw.IntegerField()
    note = pw.CharField(max_length=100, default="")

    class Meta:
        table_name = "prescription_line"
