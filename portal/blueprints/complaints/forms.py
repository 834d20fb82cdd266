from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.forms import BaseForm, not_blank

CHANNEL_CHOICES = [("phone", _l("Phone")), ("in_person", _l("In person")), ("wechat", _l("WeChat")),
                   ("online", _l("Online review")), ("letter", _l("Letter")), ("other", _l("Other"))]
CATEGORY_CHOICES = [("attitude", _l("Service attitude")), ("clinical", _l("Clinical quality")), ("process", _l("Process"))]
SEVERITY_CHOICES = [("minor", _l("Minor (3 working days)")), ("medium", _l("Medium (7 working days)")),
                    ("severe", _l("Severe (14 working days)"))]
ENTRY_CHOICES = [("reply", _l("Reply to the patient")), ("action", _l("Action taken")), ("resolve", _l("Outcome (resolve)"))]


class ComplaintForm(BaseForm):
    patient = StringField(_l("Patient (optional)"), validators=[Optional(), Length(max=60)])  # the patient picker
    channel = SelectField(_l("Received by"), choices=CHANNEL_CHOICES)
    category = SelectField(_l("Category"), choices=CATEGORY_CHOICES)
    severity = SelectField(_l("Severity"), choices=SEVERITY_CHOICES)
    doctor = SelectField(_l("Concerns doctor"), coerce=int, validate_choice=False)
    summary = TextAreaField(_l("What happened"), validators=[not_blank(_l("Write what the complaint is about.")),
                                                            Length(max=4000)])


class EntryForm(BaseForm):
    kind = SelectField(_l("Entry"), choices=ENTRY_CHOICES)
    text = TextAreaField(_l("Text"), validators=[not_blank(_l("Write what was said or done.")), Length(max=2000)])


class OwnerForm(BaseForm):
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=False)


class CloseForm(BaseForm):
    told_how = StringField(_l("How the patient was told the outcome"),
                           validators=[InputRequired(_l("Say how the patient was told the outcome.")), Length(max=200)])
