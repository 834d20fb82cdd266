"""Templates and quick phrases for the structured visit record (issue 14): a manager-curated
clinic set (owner empty) and each doctor's own; optionally tied to a procedure. It has the
record's fields (services/chart_visits.NOTE_FIELDS); a quick phrase is a template with one filled."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import Procedure
from portal.models.staff import Staff


class NoteTemplate(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    owner = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")  # None: the clinic set
    procedure = pw.ForeignKeyField(Procedure, null=True, backref="+", on_delete="RESTRICT")
    title = pw.CharField(max_length=80)
    chief_complaint = pw.TextField(default="")
    present_illness = pw.TextField(default="")
    past_history = pw.TextField(default="")
    allergy_history = pw.TextField(default="")
    examination = pw.TextField(default="")
    investigations = pw.TextField(default="")
    diagnosis = pw.TextField(default="")
    treatment_plan = pw.TextField(default="")
    treatment = pw.TextField(default="")
    advice = pw.TextField(default="")
    active = pw.BooleanField(default=True)
    version = pw.IntegerField(default=1)
    updated_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    updated_at = pw.DateTimeField(default=utcnow)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "note_template"
        indexes = ((("owner", "active"), False),)
