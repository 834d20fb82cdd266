"""Loaders for the dental record: every object is reached through its patient's access check."""

from flask import abort, current_app, g, request
from flask_login import current_user

from portal import audit
from portal.access import can, deny, load_or_404
from portal.models import ClinicalImage, Patient, PlanItem, Procedure, Visit, VisitProcedure
from portal.services.chart_images import image_root  # noqa: F401  (re-exported for the views)


def load_patient(code: str, read_what: str = "chart") -> Patient:
    patient = load_or_404(Patient, "patient.read", code=code)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=patient, object_type=read_what, object_ref=patient.chart_no)
    return patient


def _owned(obj, patient_id: int, what: str):
    """The object's patient must be one the user may see (restricted patients, IDOR)."""
    patient = Patient.get_by_id(patient_id)
    if not can(current_user, "patient.read", patient):
        deny("record", patient=patient)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=patient, object_type=what, object_ref=obj.code)
    return obj


def load_visit(code: str) -> Visit:
    visit = Visit.get_or_none(Visit.code == code) or abort(404)
    return _owned(visit, visit.patient_id, "visit")


def load_run(code: str) -> VisitProcedure:
    run = VisitProcedure.get_or_none(VisitProcedure.code == code) or abort(404)
    return _owned(run, run.visit.patient_id, "protocol")


def load_plan_item(code: str) -> PlanItem:
    item = PlanItem.get_or_none(PlanItem.code == code) or abort(404)
    return _owned(item, item.patient_id, "plan_item")


def load_image(code: str) -> ClinicalImage:
    image = ClinicalImage.get_or_none(ClinicalImage.code == code) or abort(404)
    return _owned(image, image.patient_id, "image")


def load_procedure(code: str, action: str = "catalogue.read") -> Procedure:
    return load_or_404(Procedure, action, code=code)


def price_fen(text: str) -> int:
    """'1,280.50' or '¥99' -> fen; ValueError when it is not a price."""
    cleaned = (text or "").replace("¥", "").replace(",", "").replace("，", "").strip()
    if not cleaned or cleaned.startswith("-"):
        raise ValueError(text)
    yuan, _, cents = cleaned.partition(".")
    if not yuan.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)) or len(yuan) > 9:
        raise ValueError(text)
    return int(yuan) * 100 + int((cents + "00")[:2] or 0)
