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


def find_patient(ref: str) -> Patient | None:
    """A chart number or code typed at the desk; a patient the user may not see is refused."""
    ref = (ref or "").strip().upper()[:20]
    if not ref:
        return None
    p = Patient.get_or_none((Patient.chart_no == ref) | (Patient.code == ref))
    if p is not None and not can(current_user, "patient.read", p):
        deny("record", patient=p)
    return p


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

