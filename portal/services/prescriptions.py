"""Prescriptions (处方): written by the doctor from a visit, checked against the patient's allergies,
age and weight, and pregnancy; signed once and never changed; corrected by voiding (with a reason)
and reissuing. The drug catalogue is the manager's.

Checks, in the order a pharmacist would make them:
- allergy: a drug whose allergy class matches one the patient has on record (the allergies text, or a
  clinical-alert tag) needs the doctor's override reason;
- pregnancy: a drug with a pregnancy warning, written for a patient marked pregnant, needs the reason;
- children (under 14): the weight is required and a daily dose above the drug's mg/kg limit is refused
  outright (no override); for adults a daily dose above the drug's maximum is refused.
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.labels import localized
from portal.models import Patient, PatientTag, Staff, Tag, Visit, new_code, utcnow
from portal.models.prescription import Drug, Prescription, PrescriptionLine
from portal.services import Conflict, ServiceError
from portal.services.identity import age_on
from portal.services.moved_on import locked, who_when

CHILD_AGE = 14
MAX_LINES = 5
MAX_REASON = 500
FREQUENCIES = {"qd": 1, "bid": 2, "tid": 3, "qid": 4, "q8h": 3, "prn": 4}  # prn: counted at most 4 a day
FREQUENCY_LABELS = {"qd": _l("once a day"), "bid": _l("twice a day"), "tid": _l("three times a day"),
                    "qid": _l("four times a day"), "q8h": _l("every 8 hours"), "prn": _l("when needed")}
ROUTE_LABELS = {"oral": _l("by mouth"), "rinse": _l("mouth rinse"), "topical": _l("on the gum"),
                "injection": _l("injection")}
FORM_LABELS = {"tablet": _l("tablets"), "capsule": _l("capsules"), "mouthwash": _l("mouthwash"),
               "gel": _l("gel"), "ointment": _l("ointment"), "injection": _l("injection"),
               "granules": _l("granules")}
UNIT_LABELS = {"box": _l("box"), "bottle": _l("bottle"), "tube": _l("tube"), "vial": _l("vial")}
STATUS_LABELS = {"draft": _l("Draft"), "signed": _l("Signed"), "void": _l("Void")}
ALLERGY_CLASS_LABELS = {"penicillin": _l("penicillins"), "cephalosporin": _l("cephalosporins"),
                        "nsaid": _l("NSAIDs"), "sulfa": _l("sulfonamides"), "nitroimidazole": _l("nitroimidazoles"),
                        "lincosamide": _l("lincosamides"), "macrolide": _l("macrolides"),
                        "tetracycline": _l("tetracyclines"), "chlorhexidine": _l("chlorhexidine"),
                        "amide_anaesthetic": _l("local anaesthetics (amide)")}
# words in the allergies text or a clinical-alert tag's name that mean a class (lower case)
ALLERGY_WORDS = {
    "penicillin": ("青霉素", "阿莫西林", "氨苄", "penicillin", "amoxicillin", "ampicillin"),
    "cephalosporin": ("头孢", "cephalosporin", "cef"),
    "nsaid": ("布洛芬", "阿司匹林", "非甾体", "解热镇痛", "nsaid", "ibuprofen", "aspirin"),
    "sulfa": ("磺胺", "sulfa", "sulpha"),
    "nitroimidazole": ("甲硝唑", "奥硝唑", "替硝唑", "metronidazole", "ornidazole", "tinidazole"),
    "lincosamide": ("克林霉素", "林可霉素", "clindamycin", "lincomycin"),
    "macrolide": ("阿奇霉素", "红霉素", "克拉霉素", "azithromycin", "erythromycin", "macrolide"),
    "tetracycline": ("四环素", "米诺环素", "多西环素", "tetracycline", "minocycline", "doxycycline"),
    "chlorhexidine": ("氯己定", "洗必泰", "chlorhexidine"),
    "amide_anaesthetic": ("利多卡因", "阿替卡因", "局麻药", "lidocaine", "articaine"),
}


@dataclass
class Line:
    drug: str            # the drug's code
    dose: str
    frequency: str
    days: str
    quantity: str
    note: str = ""


@dataclass
class Draft:
    lines: list = field(default_factory=list)
    diagnosis: str = ""
    weight_kg: str = ""
    pregnant: bool = False
    override_reason: str = ""


# --- the catalogue -------------------------------------------------------------------------

def catalogue(active_only: bool = True) -> list[Drug]:
    query = Drug.select().order_by(Drug.active.desc(), Drug.name_zh)
    if active_only:
        query = query.where(Drug.active == True)  # noqa: E712
    return list(query)


def _decimal(text, field_name, message, allow_empty=False):
    text = str(text if text is not None else "").strip()
    if not text and allow_empty:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ServiceError(message, field=field_name) from None
    if not value.is_finite() or value <= 0 or value >= Decimal("100000"):
        raise ServiceError(message, field=field_name)
    return value.quantize(Decimal("0.01"))


def save_drug(values: dict, actor: Staff, drug: Drug | None = None) -> Drug:
    """Add a drug or change one (the manager's). Prescriptions already signed keep their lines."""
    name_zh = (values.get("name_zh") or "").strip()[:60]
    name_en = (values.get("name_en") or "").strip()[:60] or name_zh
    if not name_zh:
        raise ServiceError(_l("Write the drug's generic name."), field="name_zh")
    frequency = values.get("frequency") or "tid"
    if frequency not in FREQUENCIES:
        raise ServiceError(_l("Choose a frequency."), field="frequency")
    route = values.get("route") or "oral"
    if route not in ROUTE_LABELS:
        raise ServiceError(_l("Choose a route."), field="route")
    form = values.get("form") or "tablet"
    if form not in FORM_LABELS:
        raise ServiceError(_l("Choose a form."), field="form")
    allergy = values.get("allergy_class") or ""
    if allergy and allergy not in ALLERGY_CLASS_LABELS:
        raise ServiceError(_l("Choose an allergy class."), field="allergy_class")
    bad = _l("Enter a positive number.")
    data = dict(name_zh=name_zh, name_en=name_en, form=form, route=route, frequency=frequency,
                strength=(values.get("strength") or "").strip()[:40],
                dose_unit=(values.get("dose_unit") or "mg").strip()[:10] or "mg",
                default_dose=_decimal(values.get("default_dose"), "default_dose", bad),
                max_daily=_decimal(values.get("max_daily"), "max_daily", bad, allow_empty=True),
                child_mg_per_kg_day=_decimal(values.get("child_mg_per_kg_day"), "child_mg_per_kg_day", bad,
                                             allow_empty=True),
                pregnancy_warning=(values.get("pregnancy_warning") or "").strip()[:300],
                allergy_class=allergy, package_unit=values.get("package_unit") or "box",
                days=_int(values.get("days") or 3, "days", 1, 90), active=bool(values.get("active", True)),
                updated_at=utcnow())
    if data["package_unit"] not in UNIT_LABELS:
        raise ServiceError(_l("Choose a package unit."), field="package_unit")
    with unit_of_work():
        if drug is None:
            drug = Drug.create(code=new_code(8), **data)
            audit.record("create", object_type="drug", object_ref=drug.code, actor=actor)
        else:
            Drug.update(**data).where(Drug.id == drug.id).execute()
            audit.record("update", object_type="drug", object_ref=drug.code, actor=actor)
    return Drug.get_by_id(drug.id)


def _int(text, field_name, low, high):
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        raise ServiceError(_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high),
                           field=field_name) from None
    if not low <= value <= high:
        raise ServiceError(_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), field=field_name)
    return value


# --- the patient's side ----------------------------------------------------------------------

def allergy_classes(patient: Patient) -> dict:
    """{class: what on record says so} from the allergies text and the clinical-alert tags."""
    found = {}
    text = (patient.allergies or "").lower()
    tags = [t.name for t in Tag.select(Tag.name).join(PatientTag)
            .where(PatientTag.patient == patient, Tag.clinical_alert == True)]  # noqa: E712
    for cls, words in ALLERGY_WORDS.items():
        for source in [text] + [t.lower() for t in tags]:
            if any(w in source for w in words):
                found[cls] = source if source != text else patient.allergies
                break
    return found


def is_child(patient: Patient, today: date) -> bool:
    return age_on(patient.birth_date, today) < CHILD_AGE


def check(patient: Patient, draft: Draft, today: date) -> tuple[list, list, list]:
    """(lines with their drugs, warnings that need a reason, refusals that no reason lifts)."""
    rows, warnings, refusals = [], [], []
    child = is_child(patient, today)
    weight = _decimal(draft.weight_kg, "weight_kg", _l("Enter the child's weight in kg."), allow_empty=True)
    if child and weight is None:
        raise ServiceError(_l("Enter the child's weight: doses for children under %(n)d are checked per kg.",
                              n=CHILD_AGE), field="weight_kg")
    if weight is not None and weight > 300:
        raise ServiceError(_l("Enter the child's weight in kg."), field="weight_kg")
    classes = allergy_classes(patient)
    codes = [ln.drug for ln in draft.lines if ln.drug]
    drugs = {d.code: d for d in Drug.select().where(Drug.code.in_(codes))} if codes else {}
    for n, ln in enumerate([ln for ln in draft.lines if ln.drug], start=1):
        drug = drugs.get(ln.drug)
        if drug is None or not drug.active:
            raise ServiceError(_l("Line %(n)d: choose a drug from the catalogue.", n=n))
        dose = _decimal(ln.dose, "lines", _l("Line %(n)d: enter the dose as a number.", n=n))
        if ln.frequency not in FREQUENCIES:
            raise ServiceError(_l("Line %(n)d: choose how often.", n=n))
        days = _int(ln.days, "lines", 1, 90)
        quantity = _int(ln.quantity, "lines", 1, 99)
        name = localized(drug, "name")
        daily = dose * FREQUENCIES[ln.frequency]
        if child and drug.child_mg_per_kg_day is not None:
            limit = (Decimal(drug.child_mg_per_kg_day) * weight).quantize(Decimal("0.01"))
            if daily > limit:
                refusals.append(_l("%(drug)s: %(daily)s %(unit)s a day is above the child limit of %(limit)s "
                                   "(%(per)s per kg a day at %(kg)s kg).", drug=name, daily=_num(daily),
                                   unit=drug.dose_unit, limit=_num(limit), per=_num(drug.child_mg_per_kg_day),
                                   kg=_num(weight)))
        elif drug.max_daily is not None and daily > Decimal(drug.max_daily):
            refusals.append(_l("%(drug)s: %(daily)s %(unit)s a day is above the maximum of %(max)s.", drug=name,
                               daily=_num(daily), unit=drug.dose_unit, max=_num(drug.max_daily)))
        if drug.allergy_class and drug.allergy_class in classes:
            warnings.append(_l("%(drug)s: the patient is recorded as allergic to %(cls)s (%(why)s).", drug=name,
                               cls=ALLERGY_CLASS_LABELS.get(drug.allergy_class, drug.allergy_class),
                               why=classes[drug.allergy_class][:60]))
        if draft.pregnant and drug.pregnancy_warning:
            warnings.append(_l("%(drug)s in pregnancy: %(warning)s", drug=name, warning=drug.pregnancy_warning))
        rows.append((drug, dose, ln.frequency, days, quantity, (ln.note or "").strip()[:100]))
    if not rows:
        raise ServiceError(_l("Add at least one drug."))
    return rows, warnings, refusals


def _num(value) -> str:
    return format(Decimal(value).normalize(), "f")


def _must_be_doctor(actor: Staff):
    if actor.role != "doctor":
        raise ServiceError(_l("Only a doctor writes and signs prescriptions."))


def _checked(visit: Visit, draft: Draft, today: date) -> tuple[list, str, str]:
    rows, warnings, refusals = check(visit.patient, draft, today)
    if refusals:
        raise ServiceError(refusals[0])
    reason = (draft.override_reason or "").strip()[:MAX_REASON]
    if warnings and not reason:
        raise ServiceError(_l("%(warning)s Write the reason to prescribe it anyway.", warning=warnings[0]),
                           field="override_reason")
    return rows, ("\n".join(str(w) for w in warnings)), reason if warnings else ""


def _write_lines(rx: Prescription, rows: list):
    PrescriptionLine.delete().where(PrescriptionLine.prescription == rx).execute()
    for pos, (drug, dose, frequency, days, quantity, note) in enumerate(rows, start=1):
        PrescriptionLine.create(prescription=rx, position=pos, drug=drug, dose=dose, frequency=frequency,
                                days=days, quantity=quantity, note=note)


def write(visit: Visit, draft: Draft, actor: Staff, today: date, replaces: Prescription | None = None) -> Prescription:
    """A new draft from the visit (or the reissue of a voided one)."""
    _must_be_doctor(actor)
    rows, warnings, reason = _checked(visit, draft, today)
    with unit_of_work():
        rx = Prescription.create(code=new_code(10), patient=visit.patient_id, visit=visit, doctor=actor,
                                 diagnosis=(draft.diagnosis or visit.diagnosis or "").strip()[:2000],
                                 weight_kg=_decimal(draft.weight_kg, "weight_kg", "", allow_empty=True),
                                 pregnant=bool(draft.pregnant), override_reason=reason, warnings=warnings,
                                 replaces=replaces)
        _write_lines(rx, rows)
        audit.record("create", patient=visit.patient_id, object_type="prescription", object_ref=rx.code, actor=actor,
                     detail={"override": reason, "warnings": warnings} if warnings else
                     ({"replaces": replaces.code} if replaces else None))
    return rx


def update(rx: Prescription, draft: Draft, actor: Staff, today: date) -> Prescription:
    """Only a draft changes; a signed or voided prescription is as it was printed."""
    _must_be_doctor(actor)
    rows, warnings, reason = _checked(rx.visit, draft, today)
    with unit_of_work():
        current = locked(Prescription, rx.id)
        if current is None:
            raise ServiceError(_l("This prescription no longer exists."))
        if current.status != "draft":
            raise _moved_on(current)
        Prescription.update(diagnosis=(draft.diagnosis or "").strip()[:2000],
                            weight_kg=_decimal(draft.weight_kg, "weight_kg", "", allow_empty=True),
                            pregnant=bool(draft.pregnant), override_reason=reason,
                            warnings=warnings).where(Prescription.id == rx.id, Prescription.status == "draft").execute()
        _write_lines(current, rows)
        audit.record("update", patient=current.patient_id, object_type="prescription", object_ref=current.code,
                     actor=actor, detail={"override": reason, "warnings": warnings} if warnings else None)
    return Prescription.get_by_id(rx.id)


def _moved_on(current: Prescription, config=None) -> Conflict:
    if current.status == "signed":
        return Conflict(_l("This prescription was signed by %(who)s at %(time)s and cannot change; void it and "
                           "reissue.", **who_when(current.signed_by_id, current.signed_at, config)))
    return Conflict(_l("This prescription was voided by %(who)s at %(time)s.",
                       **who_when(current.voided_by_id, current.voided_at, config)))


def sign(rx: Prescription, actor: Staff, config=None) -> Prescription:
    _must_be_doctor(actor)
    with unit_of_work():
        current = locked(Prescription, rx.id)
        if current is None:
            raise ServiceError(_l("This prescription no longer exists."))
        if current.status != "draft":
            raise _moved_on(current, config)
        now = utcnow()
        rows = (Prescription.update(status="signed", signed_at=now, signed_by=actor)
                .where(Prescription.id == rx.id, Prescription.status == "draft").execute())
        if rows != 1:
            raise _moved_on(Prescription.get_by_id(rx.id), config)
        audit.record("update", patient=current.patient_id, object_type="prescription", object_ref=current.code,
                     actor=actor, detail={"signed": True})
    return Prescription.get_by_id(rx.id)


def void(rx: Prescription, reason: str, actor: Staff, config=None) -> Prescription:
    _must_be_doctor(actor)
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise ServiceError(_l("Say why the prescription is voided."), field="reason")
    with unit_of_work():
        current = locked(Prescription, rx.id)
        if current is None:
            raise ServiceError(_l("This prescription no longer exists."))
        if current.status == "void":
            raise _moved_on(current, config)
        now = utcnow()
        rows = (Prescription.update(status="void", voided_at=now, voided_by=actor, void_reason=reason)
                .where(Prescription.id == rx.id, Prescription.status == current.status).execute())
        if rows != 1:
            raise _moved_on(Prescription.get_by_id(rx.id), config)
        audit.record("update", patient=current.patient_id, object_type="prescription", object_ref=current.code,
                     actor=actor, detail={"void": reason})
    return Prescription.get_by_id(rx.id)


def draft_from(rx: Prescription) -> Draft:
    """The voided prescription's content, as the start of its reissue."""
    return Draft(lines=[Line(ln.drug.code, _num(ln.dose), ln.frequency, str(ln.days), str(ln.quantity), ln.note)
                        for ln in lines_of(rx)], diagnosis=rx.diagnosis,
                 weight_kg=_num(rx.weight_kg) if rx.weight_kg is not None else "", pregnant=rx.pregnant)


# --- reading -----------------------------------------------------------------------------------

def lines_of(rx: Prescription) -> list[PrescriptionLine]:
    return list(PrescriptionLine.select(PrescriptionLine, Drug).join(Drug)
                .where(PrescriptionLine.prescription == rx).order_by(PrescriptionLine.position))


def of_patient(patient: Patient, signed_only: bool = False) -> list[Prescription]:
    query = (Prescription.select(Prescription, Staff).join(Staff, on=(Prescription.doctor == Staff.id))
             .where(Prescription.patient == patient).order_by(Prescription.created_at.desc(), Prescription.id.desc()))
    if signed_only:
        query = query.where(Prescription.status == "signed")
    return list(query)


def of_visit(visit: Visit) -> list[Prescription]:
    return list(Prescription.select().where(Prescription.visit == visit).order_by(Prescription.id))


def drugs_named(rxs: list[Prescription]) -> dict:
    """{prescription id: "drug, drug"} for a list, in one query."""
    out = {}
    if not rxs:
        return out
    for ln in (PrescriptionLine.select(PrescriptionLine.prescription, Drug.name_zh, Drug.name_en).join(Drug)
               .where(PrescriptionLine.prescription.in_([r.id for r in rxs])).order_by(PrescriptionLine.position)):
        out.setdefault(ln.prescription_id, []).append(localized(ln.drug, "name"))
    return {k: "、".join(v) for k, v in out.items()}
