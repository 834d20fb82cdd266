"""Patient read-only links (issue 5) and background print jobs.

A link's token is never stored: only its SHA-256. The browser exchanges the token for a
short-lived session (also stored hashed) and the knowledge check marks that session verified.
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.people import Family, Patient
from portal.models.staff import Staff

LINK_SCOPES = ("patient", "guardian", "family")
JOB_STATUSES = ("queued", "running", "done", "failed")


class PatientLink(BaseModel):
    code = pw.CharField(max_length=12, unique=True)          # for staff URLs (revoke, reissue)
    token_hash = pw.CharField(max_length=64, unique=True)
    scope = pw.CharField(max_length=10)                       # patient / guardian / family
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="CASCADE")   # whose record (family: the contact)
    holder = pw.ForeignKeyField(Patient, backref="+", on_delete="CASCADE")    # who receives it and answers the check
    family = pw.ForeignKeyField(Family, null=True, backref="+", on_delete="CASCADE")
    purpose = pw.CharField(max_length=10, default="link")    # link (desk) / print (QR on a printout)
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    replaced_by = pw.ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    last_used_at = pw.DateTimeField(null=True)
    uses = pw.IntegerField(default=0)

    class Meta:
        table_name = "patient_link"


class PatientLinkSession(BaseModel):
    session_hash = pw.CharField(max_length=64, unique=True)
    link = pw.ForeignKeyField(PatientLink, backref="sessions", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    verified_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "patient_link_session"


class PatientLinkAttempt(BaseModel):
    link = pw.ForeignKeyField(PatientLink, null=True, backref="+", on_delete="CASCADE")
    ip = pw.CharField(max_length=45, default="")
    ok = pw.BooleanField()
    at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "patient_link_attempt"
        indexes = ((("link", "at"), False), (("ip", "at"), False))


class PrintJob(BaseModel):
    code = pw.CharField(max_length=24, unique=True)
    kind = pw.CharField(max_length=20)
    patient = pw.ForeignKeyField(Patient, null=True, backref="+", on_delete="CASCADE")
    params = pw.TextField(default="{}")
    locale = pw.CharField(max_length=10, default="zh_CN")
    requested_by = pw.ForeignKeyField(Staff, backref="+", on_delete="CASCADE")
    status = pw.CharField(max_length=10, default="queued")
    done_count = pw.IntegerField(default=0)
    total = pw.IntegerField(default=0)
    stored_name = pw.CharField(max_length=80, null=True)
    filename = pw.CharField(max_length=120, default="")
    size = pw.IntegerField(default=0)
    error = pw.CharField(max_length=200, default="")
    created_at = pw.DateTimeField(default=utcnow)
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "print_job"
