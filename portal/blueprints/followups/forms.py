from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.blueprints.patients.forms import CHANNEL_CHOICES, TIME_CHOICES
from portal.forms import BaseForm, not_blank

OUTCOME_CHOICES = [("reached", _l("Reached")), ("no_answer", _l("No answer")), ("call_back", _l("Call back later")),
                   ("wrong_number", _l("Wrong number")), ("declined", _l("Declined to talk"))]
KIND_CHOICES = [("call", _l("Call")), ("review", _l("Review visit")), ("recall", _l("Recall"))]
EVENT_CHOICES = [("first_visit", _l("First visit")), ("emergency", _l("Emergency")), ("revisit", _l("Revisit")),
                 ("procedure", _l("Procedure codes")), ("department", _l("Department")),
                 ("recall_routine", _l("Routine recall")), ("recall_special", _l("Special recall")),
                 ("visit_type", _l("Visit types"))]


class CallForm(BaseForm):
    outcome = RadioField(_l("How did the call go?"), choices=OUTCOME_CHOICES,
                         validators=[InputRequired(_l("Choose how the call went."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    preferred_channel = SelectField(_l("Preferred contact"), choices=[("", _l("Unchanged"))] + CHANNEL_CHOICES, default="")
    preferred_time = SelectField(_l("Best time to call"), choices=[("", _l("Unchanged"))] + TIME_CHOICES, default="")
    callback_at = DateTimeLocalField(_l("Call back at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class AssignForm(BaseForm):
    consultant = SelectField(_l("Consultant"), coerce=int, validate_choice=False)


class ArticleForm(BaseForm):
    article = SelectField(_l("Care article"), validate_choice=False)


class HandleForm(BaseForm):
    handling = StringField(_l("What was done"), validators=[not_blank(_l("Say what was done.")), Length(max=300)])


class KeyListField(SelectMultipleField):
    """Known keys ticked from a list in the reader's words; stored comma-separated (e.g. a rule's questions).

    The service says which keys it does not know (a stale page, a hand-made request)."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)

    def process_data(self, value):
        super().process_data(_keys(value) if isinstance(value, str) else value)

    def process_formdata(self, valuelist):
        self.data = [key for value in valuelist for key in _keys(value)]

    @property
    def text(self) -> str:
        return ",".join(self.data or [])


def _keys(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


def question_choices():
    from portal.services.followups import QUESTIONS
    return [(key, label) for key, (label, _scale) in QUESTIONS.items()]


class RuleForm(BaseForm):
    name = StringField(_l("Rule name"), validators=[not_blank(_l("Name the rule.")), Length(max=60)])
    event = SelectField(_l("After"), choices=EVENT_CHOICES)
    applies_to = StringField(_l("Applies to"), validators=[Optional(), Length(max=200)])
    offset_days = IntegerField(_l("Days after"), validators=[InputRequired(_l("How many days after?")),
                                                              NumberRange(0, 1100)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    questions = KeyListField(_l("Questions"), choices=question_choices)
    active = BooleanField(_l("In use"), default=True)
