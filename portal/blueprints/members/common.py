"""Loaders and small helpers shared by the members views."""
from flask import g, request
from flask_login import current_user

from portal import audit
from portal.access import can, deny, load_or_404
from portal.blueprints.followups.loaders import clean_code, load_patient_record
from portal.models import Patient


def load_member(code: str, action: str = "member.view", what: str = "membership") -> Patient:
    """The patient whose member data is shown; every GET is audited (member data is confidential)."""
    patient = load_or_404(Patient, "patient.read", code=clean_code(code))
    if not can(current_user, action, patient):
        deny("role", patient=patient)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=patient, object_type=what, object_ref=patient.chart_no)
    return patient


def load_owned(model, action: str, code: str, what: str):
    return load_patient_record(model, action, code, what)


def find_patient(ref: str, required: bool = False) -> Patient | None:
    """The patient picker's value (a code, or the chart number, exact name or phone typed); None
    when empty and not required; a patient the user may not see is refused."""
    from portal.blueprints.patients.picker import picked_patient
    return picked_patient(ref, field=None, required=required)


def fen(value) -> int | None:
    """'1234.5' (yuan, as typed) → 123450 fen; exact decimal arithmetic, never a float."""
    from decimal import Decimal, InvalidOperation
    try:
        d = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if d != d.quantize(Decimal("0.01")) or abs(d) > Decimal("100000000"):
        return None
    return int(d * 100)


def int_or(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

