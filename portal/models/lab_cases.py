"""Dental labs and lab cases (技工单): work sent out to a lab and awaited (issue 14)."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import PlanItem, Visit
from portal.models.people import Patient
from portal.models.staff import Staff

WORK_TYPES = ("crown", "bridge", "veneer", "inlay", "implant_crown", "denture", "partial_denture", "aligner",
              "retainer", "night_guard", "other")
LAB_STATUSES = ("sent", "in_progress", "received", "fitted", "remade", "cancelled")


class Lab(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=80)
    phone = pw.CharField(max_length=30, default="")
    contact = pw.CharField(max_length=40, default="")
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lab"


class LabCase(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="lab_cases", on_delete="RESTRICT")
    lab = pw.ForeignKeyField(Lab, backref="cases", on_delete="RESTRICT")
    plan_item = pw.ForeignKeyField(PlanItem, null=True, backref="+", on_delete="SET NULL")
    visit = pw.ForeignKeyField(Visit, null=True, backref="+", on_delete="SET NULL")
    work_type = pw.CharField(max_length=20)
    teeth = pw.CharField(max_length=60, default="")
    shade = pw.CharField(max_length=20, default="")
    material = pw.CharField(max_length=60, default="")
    note = pw.CharField(max_length=200, default="")
    sent_on = pw.DateField()
    due_on = pw.DateField()
    lab_fee_fen = pw.IntegerField(default=0)
    price_fen = pw.IntegerField(default=0)
    status = pw.CharField(max_length=12, default="sent")
    reason = pw.CharField(max_length=200, default="")
    received_on = pw.DateField(null=True)
    created_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    status_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    status_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "lab_case"
