"""The patient picker's server side: what a patient field submitted, as a patient the user may see.

Every form field that takes a patient renders `macros/picker.html` `patient_picker()`: with
JavaScript it submits the chosen patient's code; without, the text typed. Both arrive here.
"""
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import can, deny
from portal.models import Patient
from portal.services import ServiceError
from portal.services import patients as registry


def picked_patient(ref: str | None, field: str | None = "patient", required: bool = True) -> Patient | None:
    """The patient a picker field names: a code, a chart number, an exact unique name or phone.
    An empty optional field gives None; an empty required one, or a text naming nobody (or
    several), raises ServiceError on `field`; a patient the user may not see is refused (403)."""
    try:
        patient = registry.find_one(ref or "")
    except ServiceError as err:
        raise ServiceError(err.message, field=field) from None
    if patient is None:
        if required:
            raise ServiceError(_("Choose the patient. %(help)s", help=registry.PICK_HELP), field=field)
        return None
    if not can(current_user, "patient.read", patient):
        deny("record", patient=patient)
    return patient


def quietly(ref: str | None) -> Patient | None:
    """The patient a field names, or None (to redraw a form: no error, no refusal)."""
    try:
        patient = registry.find_one(ref or "")
    except ServiceError:
        return None
    return patient if patient is not None and can(current_user, "patient.read", patient) else None
