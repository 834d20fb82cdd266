"""Follow-up calls (回访) and recalls, escalations to the doctor, complaints, satisfaction surveys
and care articles.

A follow-up copies what its rule said (kind, topic, questions, due date) when it is generated,
so editing a rule later changes future follow-ups only, never ones already planned or made.
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import Procedure
from portal.models.people import Patient
from portal.models.schedule import Appointment
from portal.models.staff import Staff

# What a rule reacts to. "procedure" matches catalogue codes, "department" catalogue departments,
# "recall_routine" / "recall_special" plan the long-term recall after a visit, "visit_type" adds a
# follow-up after the visit types it lists.
RULE_EVENTS = ("first_visit", "emergency", "revisit", "procedure", "department", "recall_routine", "recall_special",
               "visit_type")
KINDS = ("call", "review", "recall")
FOLLOWUP_STATUSES = ("open", "done", "unreached", "cancelled")
OUTCOMES = ("reached", "no_answer", "wrong_number", "call_back", "declined")
TASK_STATUSES = ("open", "handled")
COMPLAINT_CHANNELS = ("phone", "in_person", "wechat", "online", "letter", "other")
COMPLAINT_CATEGORIES = ("attitude", "clinical", "process")
SEVERITIES = ("minor", "medium", "severe")
COMPLAINT_STATUSES = ("open", "replied", "resolved", "closed")
SURVEY_CHANNELS = ("phone", "desk", "link")


class FollowupRule(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=60)
    event = pw.CharField(max_length=20)
    applies_to = pw.CharField(max_length=200, default="")  # codes, departments or tags, comma-separated
    offset_days = pw.IntegerField()
    kind = pw.CharField(max_length=10)
    questions = pw.CharField(max_length=300, default="")  # question keys, comma-separated
    active = pw.BooleanField(default=True)
    version = pw.IntegerField(default=1)
    updated_at = pw.DateTimeField(default=utcnow)
    updated_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "followup_rule"


class CareArticle(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    department = pw.CharField(max_length=20)
    title_zh = pw.CharField(max_length=80)
    title_en = pw.CharField(max_length=120)
    body_zh = pw.TextField()
    body_en = pw.TextField()
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "care_article"


class Followup(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="followups", on_delete="CASCADE")
    doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")  # the treating doctor
    appointment = pw.ForeignKeyField(Appointment, null=True, backref="+", on_delete="SET NULL")
    rule = pw.ForeignKeyField(FollowupRule, null=True, backref="+", on_delete="SET NULL")
    rule_version = pw.IntegerField(default=0)
    event = pw.CharField(max_length=20)
    kind = pw.CharField(max_length=10)
    topic = pw.CharField(max_length=200, default="")
    questions = pw.CharField(max_length=300, default="")
    due_date = pw.DateField()
    next_try_at = pw.DateTimeField(null=True)  # UTC; a call-back or a retry after no answer
    status = pw.CharField(max_length=12, default="open")
    attempts = pw.IntegerField(default=0)
    assigned_to = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    article = pw.ForeignKeyField(CareArticle, null=True, backref="+", on_delete="SET NULL")
    source_key = pw.CharField(max_length=120, unique=True)  # generating twice is harmless
    outcome = pw.CharField(max_length=12, default="")
    created_at = pw.DateTimeField(default=utcnow)
    closed_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "followup"


class FollowupCall(BaseModel):
    followup = pw.ForeignKeyField(Followup, backref="calls", on_delete="CASCADE")
    at = pw.DateTimeField(default=utcnow)
    by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    outcome = pw.CharField(max_length=12)
    answers = pw.TextField(default="{}")  # JSON {question key: value}
    notes = pw.TextField(default="")
    warning = pw.BooleanField(default=False)

    class Meta:
        table_name = "followup_call"


class DoctorTask(BaseModel):
    """An urgent task for the treating doctor, raised by warning signs on a call."""
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="CASCADE")
    doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    followup = pw.ForeignKeyField(Followup, null=True, backref="tasks", on_delete="SET NULL")
    reason = pw.CharField(max_length=200)
    status = pw.CharField(max_length=10, default="open")
    created_at = pw.DateTimeField(default=utcnow)
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    handled_at = pw.DateTimeField(null=True)
    handled_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    handling = pw.CharField(max_length=300, default="")

    class Meta:
        table_name = "doctor_task"


class Complaint(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, null=True, backref="+", on_delete="SET NULL")
    doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")  # whom it concerns
    channel = pw.CharField(max_length=12)
    category = pw.CharField(max_length=12)
    severity = pw.CharField(max_length=8)
    summary = pw.TextField()
    received_at = pw.DateTimeField()  # UTC
    reply_due_at = pw.DateTimeField()
    resolve_due = pw.DateField()  # clinic-local working day
    first_reply_at = pw.DateTimeField(null=True)
    resolved_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    status = pw.CharField(max_length=10, default="open")
    owner = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    outcome = pw.TextField(default="")
    outcome_told_at = pw.DateTimeField(null=True)
    flagged_at = pw.DateTimeField(null=True)
    created_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "complaint"


class ComplaintAction(BaseModel):
    complaint = pw.ForeignKeyField(Complaint, backref="actions", on_delete="CASCADE")
    at = pw.DateTimeField(default=utcnow)
    by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    kind = pw.CharField(max_length=10)  # received, reply, action, resolve, close, owner
    text = pw.TextField(default="")

    class Meta:
        table_name = "complaint_action"


class SurveyQuestion(BaseModel):
    position = pw.IntegerField()
    text_zh = pw.CharField(max_length=120)
    text_en = pw.CharField(max_length=160)
    active = pw.BooleanField(default=True)

    class Meta:
        table_name = "survey_question"


class Survey(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="+", on_delete="CASCADE")
    source = pw.CharField(max_length=10)  # visit, complaint
    source_key = pw.CharField(max_length=80, unique=True)
    doctor = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    procedure = pw.ForeignKeyField(Procedure, null=True, backref="+", on_delete="SET NULL")
    appointment = pw.ForeignKeyField(Appointment, null=True, backref="+", on_delete="SET NULL")
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="+", on_delete="SET NULL")
    due_date = pw.DateField()
    status = pw.CharField(max_length=10, default="pending")
    channel = pw.CharField(max_length=8, default="")
    score = pw.IntegerField(null=True)  # 0–100
    month = pw.CharField(max_length=7, default="")  # YYYY-MM answered, for results per month
    comment = pw.TextField(default="")
    answered_at = pw.DateTimeField(null=True)
    entered_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "survey"


class SurveyAnswer(BaseModel):
    survey = pw.ForeignKeyField(Survey, backref="answers", on_delete="CASCADE")
    question = pw.ForeignKeyField(SurveyQuestion, null=True, backref="+", on_delete="SET NULL")
    question_text = pw.CharField(max_length=160)  # as asked, kept if the set changes
    value = pw.IntegerField()

    class Meta:
        table_name = "survey_answer"
