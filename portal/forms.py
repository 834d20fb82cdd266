"""Form base: every text field refuses control characters (NUL bytes and the like) and markup."""
import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from portal.services.identity import has_control_chars

# Markup in a text field is never what a clinic means to type; "<5 mg" still passes.
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")


class BaseForm(FlaskForm):
    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field, (StringField, TextAreaField)) and isinstance(field.data, str):
                if has_control_chars(field.data):
                    field.errors = list(field.errors) + [_l("Remove the invisible control characters.")]
                    ok = False
                elif _MARKUP.search(field.data):
                    field.errors = list(field.errors) + [_l("Remove the HTML markup (text between < and >).")]
                    ok = False
        return ok


def no_surrounding_space(form, field):
    if field.data and field.data != field.data.strip():
        field.data = field.data.strip()


def not_blank(message):
    def check(form, field):
        if not (field.data or "").strip():
            raise ValidationError(message)
    return check
