"""Loaders for the follow-ups area: access check, record check, audit of the read."""
from flask import abort, g, request
from flask_login import current_user

from portal import audit
from portal.access import can, deny, load_or_404


def clean_code(code: str) -> str:
    """Codes are short and alphanumeric; anything else (a NUL byte, say) is simply not found,
    and never reaches the database driver."""
    if not (code.isascii() and code.isalnum() and len(code) <= 12):
        abort(404)
    return code


def load_patient_record(model, action: str, code: str, object_type: str):
    """A row that belongs to a patient: the role may act, and may see that patient."""
    obj = load_or_404(model, action, code=clean_code(code))
    patient = obj.patient
    if patient is not None and not can(current_user, "patient.read", patient):
        deny("record", patient=patient)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=patient, object_type=object_type, object_ref=obj.code)
    return obj
