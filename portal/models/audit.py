"""The audit trail: append-only and hash-chained (see portal.audit)."""
import peewee as pw

from portal.models.base import BaseModel, utcnow


class AuditEvent(BaseModel):
    at = pw.DateTimeField(default=utcnow, index=True)
    actor_id = pw.IntegerField(null=True, index=True)
    actor_label = pw.CharField(max_length=60)
    role = pw.CharField(max_length=20, null=True)
    action = pw.CharField(max_length=30, index=True)
    patient_id = pw.IntegerField(null=True, index=True)
    object_type = pw.CharField(max_length=30, null=True)
    object_ref = pw.CharField(max_length=40, null=True)
    detail = pw.TextField(default="")
    ip = pw.CharField(max_length=64, null=True)
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64, unique=True)

    class Meta:
        table_name = "audit_event"
