from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.forms import BaseForm, not_blank
from portal.models.chart import DEPARTMENTS, IMAGE_KINDS
from portal.services.chart_plans import PRIORITY_LABELS
from portal.services.chart_teeth import KINDS, STATUS_LABELS

KIND_CHOICES = [(k, v.label) for k, v in KINDS.items()]
STATUS_CHOICES = list(STATUS_LABELS.items())
DEPARTMENT_LABELS = {"paediatric": _l("Paediatric"), "periodontal": _l("Periodontal"), "endodontic": _l("Endodontic"),
                     "restorative": _l("Restorative"), "implant": _l("Implant"), "orthodontic": _l("Orthodontic"),
                     "preventive": _l("Preventive"), "aesthetic": _l("Aesthetic"), "surgical": _l("Oral surgery"),
                     "diagnostic": _l("Examination")}
IMAGE_KIND_LABELS = {"periapical": _l("Periapical X-ray"), "bitewing": _l("Bitewing X-ray"),
                     "panoramic": _l("Panoramic X-ray"), "cbct": _l("CBCT export"), "intraoral": _l("Intraoral photo"),
                     "before": _l("Before photo"), "after": _l("After photo"), "other": _l("Other")}


class EntryForm(BaseForm):
    """Surfaces arrive as repeated `surface` checkboxes, joined in the view."""
    kind = SelectField(_l("Finding"), choices=KIND_CHOICES)
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    grade = SelectField(_l("Mobility grade"), choices=[("", "–"), ("1", "I"), ("2", "II"), ("3", "III")], default="")
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    visit = StringField(validators=[Optional(), Length(max=12)])
    override = StringField(_l("Unusual for the age"), validators=[Optional(), Length(max=200)])


class WithdrawForm(BaseForm):
    reason = StringField(_l("Why was it wrong?"), validators=[not_blank(_l("Say why the entry was wrong.")),
                                                             Length(max=200)])


class VisitForm(BaseForm):
    chief_complaint = TextAreaField(_l("Chief complaint"), validators=[Optional(), Length(max=4000)])
    present_illness = TextAreaField(_l("Present illness"), validators=[Optional(), Length(max=4000)])
    past_history = TextAreaField(_l("Past history"), validators=[Optional(), Length(max=4000)])
    allergy_history = TextAreaField(_l("Allergy history"), validators=[Optional(), Length(max=4000)])
    examination = TextAreaField(_l("Examination"), validators=[Optional(), Length(max=4000)])
    investigations = TextAreaField(_l("Investigations"), validators=[Optional(), Length(max=4000)])
    diagnosis = TextAreaField(_l("Diagnosis"), validators=[Optional(), Length(max=4000)])
    treatment_plan = TextAreaField(_l("Treatment plan"), validators=[Optional(), Length(max=4000)])
    treatment = TextAreaField(_l("Treatment done"), validators=[Optional(), Length(max=4000)])
    advice = TextAreaField(_l("Advice"), validators=[Optional(), Length(max=4000)])


class NewVisitForm(BaseForm):
    appointment = StringField(_l("Appointment code (optional)"), validators=[Optional(), Length(max=12)])


class AddendumForm(BaseForm):
    text = TextAreaField(_l("Addendum"), validators=[not_blank(_l("Write the addendum.")), Length(max=4000)])


class StartProcedureForm(BaseForm):
    procedure = SelectField(_l("Procedure"), choices=[])
    tooth = StringField(_l("Tooth (optional)"), validators=[Optional(), Length(max=2)])
    alerts_seen = BooleanField(_l("I have read the alerts above"))


class TickForm(BaseForm):
    reason = StringField(_l("Reason for skipping"), validators=[Optional(), Length(max=200)])


class ProcedureForm(BaseForm):
    code = StringField(_l("Code"), validators=[not_blank(_l("Enter a code.")), Length(max=20)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[not_blank(_l("Enter the Chinese name.")), Length(max=60)])
    name_en = StringField(_l("Name (English)"), validators=[not_blank(_l("Enter the English name.")), Length(max=80)])
    department = SelectField(_l("Department"), choices=[(d, DEPARTMENT_LABELS[d]) for d in DEPARTMENTS])
    duration_minutes = IntegerField(_l("Default duration (minutes)"),
                                    validators=[InputRequired(_l("Enter the duration.")), NumberRange(5, 480)])
    price = StringField(_l("Price (¥)"), validators=[not_blank(_l("Enter the price.")), Length(max=12)])
    instructions_adult = TextAreaField(_l("Aftercare (adult)"), validators=[Optional(), Length(max=4000)])
    instructions_child = TextAreaField(_l("Aftercare (child)"), validators=[Optional(), Length(max=4000)])
    followup_rules = TextAreaField(_l("Follow-up rules (JSON)"), validators=[Optional(), Length(max=2000)])
    steps = TextAreaField(_l("Protocol steps, one per line: 中文 | English"), validators=[Optional(), Length(max=8000)])
    active = BooleanField(_l("Offered"), default=True)


class PlanItemForm(BaseForm):
    procedure = SelectField(_l("Procedure"), choices=[])
    tooth = StringField(_l("Tooth"), validators=[Optional(), Length(max=2)])
    price = StringField(_l("Price (¥), empty for the catalogue price"), validators=[Optional(), Length(max=12)])
    priority = SelectField(_l("Priority"), choices=[(str(k), v) for k, v in PRIORITY_LABELS.items()], default="2")
    phase = SelectField(_l("Phase"), choices=[(str(n), str(n)) for n in range(1, 10)], default="1")
    alternative_to = StringField(_l("Alternative to (item code)"), validators=[Optional(), Length(max=12)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class PlanStatusForm(BaseForm):
    status = SelectField(_l("Status"), choices=[("accepted", _l("Accepted")), ("declined", _l("Declined")),
                                                ("scheduled", _l("Scheduled")), ("done", _l("Done")),
                                                ("proposed", _l("Proposed"))])
    reason = StringField(_l("Reason (when declined)"), validators=[Optional(), Length(max=200)])


class ImageForm(BaseForm):
    kind = SelectField(_l("Kind"), choices=list(IMAGE_KIND_LABELS.items()))
    teeth = StringField(_l("Teeth (optional, e.g. 36, 37)"), validators=[Optional(), Length(max=60)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class ReleaseForm(BaseForm):
    released = BooleanField()
