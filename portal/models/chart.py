"""The lifelong dental record: chart entries, visits, the procedure catalogue and its protocols,
chair-side protocol runs, treatment plans and clinical images.

Clinical rows are never overwritten: a chart entry is corrected by a new entry pointing at it,
a signed visit is amended by an addendum, a protocol run copies the catalogue's steps when it
starts (so a later catalogue edit does not rewrite what was ticked).
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.people import Patient
from portal.models.schedule import Appointment
from portal.models.staff import Staff

DEPARTMENTS = ("paediatric", "periodontal", "endodontic", "restorative", "implant", "orthodontic",
               "preventive", "aesthetic", "surgical", "diagnostic")
ENTRY_STATUSES = ("existing", "planned", "done")
VISIT_STATUSES = ("draft", "signed")
PLAN_STATUSES = ("proposed", "accepted", "declined", "scheduled", "done")
STEP_STATES = ("pending", "done", "skipped")
IMAGE_KINDS = ("periapical", "bitewing", "panoramic", "cbct", "intraoral", "before", "after", "other")


class Procedure(BaseModel):
    code = pw.CharField(max_length=20, unique=True)
    name_zh = pw.CharField(max_length=60)
    name_en = pw.CharField(max_length=80)
    department = pw.CharField(max_length=20)
    duration_minutes = pw.IntegerField(default=30)
    price_fen = pw.IntegerField(default=0)
    instructions_adult = pw.TextField(default="")
    instructions_child = pw.TextField(default="")
    followup_rules = pw.TextField(default="[]")  # JSON, read by the follow-up issue
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "procedure"


class ProtocolStep(BaseModel):
    procedure = pw.ForeignKeyField(Procedure, backref="steps", on_delete="CASCADE")
    position = pw.IntegerField()
    text_zh = pw.CharField(max_length=200)
    text_en = pw.CharField(max_length=200)

    class Meta:
        table_name = "protocol_step"
        indexes = ((("procedure", "position"), True),)


class Visit(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="visits", on_delete="RESTRICT")
    doctor = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    appointment = pw.ForeignKeyField(Appointment, null=True, backref="visits", on_delete="SET NULL")
    visit_date = pw.DateField()
    chief_complaint = pw.TextField(default="")
    present_illness = pw.TextField(default="")   # 现病史 (issue 14: the outpatient record's fields)
    past_history = pw.TextField(default="")      # 既往史
    allergy_history = pw.TextField(default="")   # 过敏史
    examination = pw.TextField(default="")
    investigations = pw.TextField(default="")    # 辅助检查
    diagnosis = pw.TextField(default="")
    treatment_plan = pw.TextField(default="")    # 治疗计划
    treatment = pw.TextField(default="")
    advice = pw.TextField(default="")
    status = pw.CharField(max_length=10, default="draft")
    signed_at = pw.DateTimeField(null=True)
    signed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "visit"
        indexes = ((("patient", "visit_date"), False),)


class VisitAddendum(BaseModel):
    visit = pw.ForeignKeyField(Visit, backref="addenda", on_delete="RESTRICT")
    text = pw.TextField()
    author = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "visit_addendum"


class ChartEntry(BaseModel):
    """One finding or procedure on one tooth, as recorded; `corrects` points at the entry it replaces."""
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="chart_entries", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, null=True, backref="chart_entries", on_delete="RESTRICT")
    tooth = pw.IntegerField()
    surfaces = pw.CharField(max_length=6, default="")
    kind = pw.CharField(max_length=20)
    status = pw.CharField(max_length=10)
    grade = pw.IntegerField(null=True)
    note = pw.CharField(max_length=200, default="")
    recorded_on = pw.DateField()
    recorded_at = pw.DateTimeField(default=utcnow)
    recorded_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    corrects = pw.ForeignKeyField("self", null=True, backref="corrections", on_delete="RESTRICT")
    entered_in_error = pw.BooleanField(default=False)  # a correction that withdraws its target

    class Meta:
        table_name = "chart_entry"
        indexes = ((("patient", "recorded_on"), False),)


class VisitProcedure(BaseModel):
    """A procedure done on a visit, with its protocol copied in as steps to tick."""
    code = pw.CharField(max_length=12, unique=True)
    visit = pw.ForeignKeyField(Visit, backref="procedures", on_delete="RESTRICT")
    procedure = pw.ForeignKeyField(Procedure, backref="+", on_delete="RESTRICT")
    tooth = pw.IntegerField(null=True)
    status = pw.CharField(max_length=12, default="in_progress")
    alerts_seen_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    started_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    started_at = pw.DateTimeField(default=utcnow)
    completed_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "visit_procedure"


class StepTick(BaseModel):
    run = pw.ForeignKeyField(VisitProcedure, backref="ticks", on_delete="RESTRICT")
    position = pw.IntegerField()
    text_zh = pw.CharField(max_length=200)
    text_en = pw.CharField(max_length=200)
    state = pw.CharField(max_length=10, default="pending")
    by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    at = pw.DateTimeField(null=True)
    skip_reason = pw.CharField(max_length=200, default="")

    class Meta:
        table_name = "step_tick"
        indexes = ((("run", "position"), True),)


class PlanItem(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="plan_items", on_delete="RESTRICT")
    procedure = pw.ForeignKeyField(Procedure, backref="+", on_delete="RESTRICT")
    tooth = pw.IntegerField(null=True)
    price_fen = pw.IntegerField()
    priority = pw.IntegerField(default=2)  # 1 urgent, 2 soon, 3 elective
    phase = pw.IntegerField(default=1)
    alternative_to = pw.ForeignKeyField("self", null=True, backref="alternatives", on_delete="SET NULL")
    status = pw.CharField(max_length=10, default="proposed")
    decline_reason = pw.CharField(max_length=200, default="")
    appointment = pw.ForeignKeyField(Appointment, null=True, backref="+", on_delete="SET NULL")
    note = pw.CharField(max_length=200, default="")
    created_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    status_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    status_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "plan_item"


class ClinicalImage(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="images", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, null=True, backref="images", on_delete="SET NULL")
    kind = pw.CharField(max_length=12)
    teeth = pw.CharField(max_length=60, default="")
    content_type = pw.CharField(max_length=40)
    size = pw.IntegerField()
    sha256 = pw.CharField(max_length=64)
    stored_name = pw.CharField(max_length=80, unique=True)
    original_name = pw.CharField(max_length=100, default="")
    note = pw.CharField(max_length=200, default="")
    released = pw.BooleanField(default=False)
    uploaded_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    uploaded_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "clinical_image"
