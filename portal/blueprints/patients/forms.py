from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.forms import BaseForm, not_blank

SEX_CHOICES = [("F", _l("Female")), ("M", _l("Male"))]
OCCUPATION_CHOICES = [("", _l("From age")), ("child", _l("Child")), ("student", _l("Student")),
                      ("working", _l("Working adult")), ("retired", _l("Retired"))]
CHANNEL_CHOICES = [("sms", _l("SMS")), ("phone", _l("Phone call")), ("email", _l("E-mail")),
                   ("wechat", _l("WeChat"))]
TIME_CHOICES = [("any", _l("Any time")), ("morning", _l("Morning")), ("lunch", _l("Lunchtime")),
                ("afternoon", _l("Afternoon")), ("evening", _l("Evening"))]
REFERRAL_CHOICES = [("walk_in", _l("Walked in")), ("patient", _l("Another patient")),
                    ("staff", _l("A staff member")), ("online", _l("Online")),
                    ("community", _l("Community event")), ("other", _l("Other"))]


class PatientForm(BaseForm):
    name = StringField(_l("Name"), validators=[not_blank(_l("Enter the patient's name.")), Length(max=40)])
    sex = RadioField(_l("Sex"), choices=SEX_CHOICES,
                     validators=[DataRequired(_l("Choose the sex."))])
    birth_date = DateField(_l("Birth date"), validators=[InputRequired(_l("Enter a birth date (year-month-day)."))])
    phone = StringField(_l("Phone"), validators=[not_blank(_l("Enter a phone number.")), Length(max=30)])
    phone2 = StringField(_l("Second phone"), validators=[Optional(), Length(max=30)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=120)])
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=18)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    occupation_group = SelectField(_l("Occupation group"), choices=OCCUPATION_CHOICES, default="")
    preferred_channel = SelectField(_l("Preferred contact"), choices=CHANNEL_CHOICES, default="sms")
    preferred_time = SelectField(_l("Best time to call"), choices=TIME_CHOICES, default="any")
    allergies = TextAreaField(_l("Allergies"), validators=[Optional(), Length(max=2000)])
    medical_alerts = TextAreaField(_l("Medical alerts"), validators=[Optional(), Length(max=2000)])
    referral_channel = SelectField(_l("How they found us"), choices=REFERRAL_CHOICES, default="walk_in")
    referred_by = StringField(_l("Referred by"), validators=[Optional(), Length(max=60)])  # the patient picker


class RegisterForm(PatientForm):
    consent_treatment = BooleanField(_l("Consents to treatment records being kept"), default=True)
    consent_reminders = BooleanField(_l("Agrees to appointment reminders"), default=True)
    consent_marketing = BooleanField(_l("Agrees to care tips and greetings"), default=False)
    new_family = BooleanField(_l("Start a new family with this patient as its contact"))
    family = HiddenField()
    confirm_not_duplicate = BooleanField(_l("I checked: this is a different person"))


class TagsForm(BaseForm):
    """Tag ids arrive as a multi-value field; validated in the service."""


class ConsentForm(BaseForm):
    kind = SelectField(choices=[("treatment", _l("Treatment records")), ("reminders", _l("Reminders")),
                                ("marketing", _l("Care tips and greetings"))])
    granted = SelectField(choices=[("1", _l("Granted")), ("0", _l("Withdrawn"))])
    method = SelectField(_l("How"), choices=[("paper", _l("Signed form")), ("verbal", _l("Verbally")),
                                             ("link", _l("Patient link"))])


class MoveFamilyForm(BaseForm):
    target = StringField(_l("A member of that family, or the family code"),
                         validators=[Optional(), Length(max=60)])  # the patient picker
    new_family_name = StringField(_l("Or a new family named"), validators=[Optional(), Length(max=60)])


class MergeFamilyForm(BaseForm):
    other = StringField(_l("Family code to merge into this one"),
                        validators=[not_blank(_l("Enter the other family's code.")), Length(max=12)])


class GuarantorForm(BaseForm):
    patient = StringField(validators=[not_blank(_l("Choose a member.")), Length(max=12)])


class AddMemberForm(BaseForm):
    patient = StringField(_l("Patient"), validators=[not_blank(_l("Choose the patient to bring into this family.")),
                                                   Length(max=60)])  # the patient picker
