from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.forms import BaseForm, not_blank

VISIT_TYPE_CHOICES = [("first", _l("First visit")), ("revisit", _l("Revisit")), ("emergency", _l("Emergency")),
                      ("recall", _l("Recall")), ("followup", _l("Check-up"))]
SOURCE_CHOICES = [("frontdesk", _l("Front desk")), ("phone", _l("Phone")), ("patient", _l("Patient request")),
                  ("recall", _l("Recall"))]
PREFERENCE_CHOICES = [("any", _l("Any time")), ("morning", _l("Morning")), ("afternoon", _l("Afternoon")),
                      ("evening", _l("Evening"))]
WEEKDAY_CHOICES = [(0, _l("Monday")), (1, _l("Tuesday")), (2, _l("Wednesday")), (3, _l("Thursday")),
                   (4, _l("Friday")), (5, _l("Saturday")), (6, _l("Sunday"))]
EXCEPTION_CHOICES = [("leave", _l("Leave")), ("extra", _l("Extra session")), ("holiday", _l("Clinic closed"))]


class AppointmentForm(BaseForm):
    patient = StringField(_l("Patient"), validators=[not_blank(_l("Choose the patient.")), Length(max=60)])  # the patient picker
    doctor = SelectField(_l("Doctor"), coerce=int, validate_choice=False)
    chair = SelectField(_l("Chair"), coerce=int, validate_choice=False)
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose a date."))])
    time = TimeField(_l("Time"), validators=[InputRequired(_l("Choose a time."))])
    minutes = IntegerField(_l("Minutes"), validators=[InputRequired(_l("How long?")), NumberRange(5, 480)])
    visit_type = SelectField(_l("Visit type"), choices=VISIT_TYPE_CHOICES, default="revisit")
    source = SelectField(_l("Booked via"), choices=SOURCE_CHOICES, default="frontdesk")
    planned = StringField(_l("Planned treatment"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class MoveForm(BaseForm):
    doctor = SelectField(_l("Doctor"), coerce=int, validate_choice=False)
    chair = SelectField(_l("Chair"), coerce=int, validate_choice=False)
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose a date."))])
    time = TimeField(_l("Time"), validators=[InputRequired(_l("Choose a time."))])
    minutes = IntegerField(_l("Minutes"), validators=[InputRequired(_l("How long?")), NumberRange(5, 480)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class StatusForm(BaseForm):
    to = SelectField(choices=[("arrived", _l("Arrived")), ("seated", _l("Seated")), ("completed", _l("Completed")),
                              ("no_show", _l("No-show")), ("cancelled", _l("Cancelled"))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class ConfirmForm(BaseForm):
    how = SelectField(_l("Confirmed by"), choices=[("phone", _l("Phone")), ("sms", _l("SMS reply")),
                                                  ("wechat", _l("WeChat")), ("in_person", _l("In person"))])


class ChairForm(BaseForm):
    name = StringField(_l("Chair"), validators=[not_blank(_l("Name the chair.")), Length(max=30)])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=30)])
    is_vip = BooleanField(_l("VIP room"))


class PatternForm(BaseForm):
    doctor = SelectField(_l("Doctor"), coerce=int, validate_choice=False)
    weekday = SelectField(_l("Weekday"), coerce=int, choices=WEEKDAY_CHOICES)
    start_time = TimeField(_l("From"), validators=[InputRequired(_l("Give the start time."))])
    end_time = TimeField(_l("Until"), validators=[InputRequired(_l("Give the end time."))])
    chair = SelectField(_l("Usual chair"), coerce=int, validate_choice=False)
    valid_from = DateField(_l("Starting"), validators=[InputRequired(_l("Give the first day."))])
    valid_to = DateField(_l("Ending"), validators=[Optional()])


class ExceptionForm(BaseForm):
    kind = SelectField(_l("Kind"), choices=EXCEPTION_CHOICES)
    doctor = SelectField(_l("Doctor"), coerce=int, validate_choice=False)
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose a date."))])
    start_time = TimeField(_l("From"), validators=[Optional()])
    end_time = TimeField(_l("Until"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100)])


class FreeSlotForm(BaseForm):
    class Meta:
        csrf = False  # a search

    doctor = SelectField(_l("Doctor"), coerce=int, validate_choice=False)
    minutes = IntegerField(_l("Minutes"), default=30, validators=[Optional(), NumberRange(5, 480)])
    start = DateField(_l("From"), validators=[Optional()])
    preference = SelectField(_l("Time of day"), choices=PREFERENCE_CHOICES, default="any")
