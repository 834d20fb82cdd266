"""A form submitted once: its one-time key and the answer the first submission got
(portal/submissions.py). Rows live a day, then the nightly purge drops them."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.staff import Staff


class FormSubmission(BaseModel):
    key = pw.CharField(max_length=32, primary_key=True)
    staff = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow, index=True)
    status = pw.CharField(max_length=10)  # pending while the first submission runs, then done
    response_status = pw.IntegerField(null=True)
    headers = pw.TextField(default="{}")  # JSON: the answer's Location / HX-* / Content-Type
    body = pw.TextField(default="")

    class Meta:
        table_name = "form_submission"
