from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.audit import ACTION_LABELS
from portal.forms import BaseForm, not_blank

ROLE_CHOICES = [("doctor", _l("Doctor")), ("nurse", _l("Nurse")), ("frontdesk", _l("Front desk")),
                ("consultant", _l("Consultant")), ("manager", _l("Manager"))]


class NewStaffForm(BaseForm):
    username = StringField(_l("User name"), validators=[not_blank(_l("Enter a user name.")), Length(max=40)])
    display_name = StringField(_l("Name shown to colleagues"),
                               validators=[not_blank(_l("Enter the name shown to colleagues.")), Length(max=60)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("First password"), validators=[DataRequired(_l("Enter a first password.")),
                                                              Length(max=200)])


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class ActiveForm(BaseForm):
    active = BooleanField()


class TagForm(BaseForm):
    name = StringField(_l("Tag"), validators=[not_blank(_l("Enter the tag's name.")), Length(max=30)])
    name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=30)])
    color = StringField(_l("Colour"), default="#0ea5e9", validators=[DataRequired(), Length(max=7)])
    clinical_alert = BooleanField(_l("Show to doctor and nurse before every visit"))


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(_l("Staff user name"), validators=[Optional(), Length(max=40)])
    patient = StringField(_l("Chart number"), validators=[Optional(), Length(max=20)])
    action = SelectField(_l("Action"), choices=[("", _l("Any"))] + list(ACTION_LABELS.items()), default="")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
