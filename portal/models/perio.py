"""Perio charts (牙周检查表, issue 14): one dated exam per row, its readings kept as one JSON text.

An exam is a snapshot: probing depth and gingival margin at six sites of every tooth, bleeding and
plaque per site, mobility and furcation per tooth. A nurse may record the readings; a doctor
confirms the exam, and a confirmed exam never changes again.
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import Visit
from portal.models.people import Patient
from portal.models.staff import Staff

PERIO_STATUSES = ("draft", "confirmed")


class PerioExam(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="perio_exams", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, null=True, backref="perio_exams", on_delete="SET NULL")
    exam_date = pw.DateField()
    teeth = pw.IntegerField(default=28)  # 28 or 32 (with the third molars)
    # JSON: {"16": {"pd": [6 sites], "gm": [6], "bop": [6], "pl": [6], "mob": n, "fur": n}}
    readings = pw.TextField(default="{}")
    summary = pw.TextField(default="{}")  # JSON of the summary figures, kept with the readings
    sites_4mm = pw.IntegerField(default=0)  # sites with probing depth >= 4 mm (the recall rule reads it)
    status = pw.CharField(max_length=10, default="draft")
    version = pw.IntegerField(default=1)
    recorded_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    updated_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    confirmed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    confirmed_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "perio_exam"
        indexes = ((("patient", "exam_date"), False),)
