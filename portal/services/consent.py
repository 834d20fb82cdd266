"""Consent forms 知情同意书 (issue 14).

- Templates per procedure kind, versioned: the manager's edit is a new version; a form keeps the
  version it was filled from and, above all, the exact text shown (`ConsentForm.text`).
- A form is filled with the patient, tooth and plan item or procedure, read on the tablet and signed
  once by the patient (a guardian, with relationship, when the patient is under 18) and the doctor.
  Signatures are vector strokes: [[{"x":…, "y":…, "t":…}, …], …] in the canvas's own pixels.
- Signing stores the SHA-256 of the text signed; a signed form is locked. `hash_matches` (the page)
  and `altered_forms` (`portal check`) report a form whose stored text no longer matches its hash.
- A procedure whose kind needs consent warns before it starts without a signed form (`missing_for`);
  the doctor may go on with a reason, audited by the caller.
"""
import hashlib
import json
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.migrations.m0019_consent_forms import SEED
from portal.models import Patient, PlanItem, Procedure, Staff, Visit, new_code, utcnow
from portal.models.consent import CONSENT_KINDS, ConsentForm, ConsentTemplate
from portal.services import Conflict, ServiceError
from portal.services.moved_on import who_when
from portal.services.identity import age_on
from portal.services.moved_on import locked

ADULT_AGE = 18
MAX_STROKES = 200
MAX_POINTS = 5000
KIND_LABELS = {
    "extraction": _l("Extraction"), "implant": _l("Implant"), "root_canal": _l("Root canal treatment"),
    "orthodontics": _l("Orthodontics"), "whitening": _l("Whitening"), "sedation": _l("Sedation and anaesthesia"),
    "minor": _l("Treatment of a minor"),
}
RELATIONSHIPS = {"mother": _l("Mother"), "father": _l("Father"), "grandparent": _l("Grandparent"),
                 "guardian": _l("Legal guardian"), "other": _l("Other relative")}
FIELDS = ("title_zh", "title_en", "body_zh", "body_en", "alternatives_zh", "alternatives_en", "cost_zh", "cost_en",
          "procedures")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_matches(form: ConsentForm) -> bool:
    return digest(form.text) == form.text_hash


def is_minor(patient: Patient, today: date) -> bool:
    return patient.birth_date is not None and age_on(patient.birth_date, today) < ADULT_AGE


# --- templates --------------------------------------------------------------------------------

def seed(actor: Staff | None = None) -> int:
    """The starting wording (migration 0019 inserts the same); a kind that already has a template is
    left alone. Returns how many were added."""
    added = 0
    with unit_of_work():
        have = {t.kind for t in ConsentTemplate.select(ConsentTemplate.kind)}
        for kind, procs, tzh, ten, bzh, ben, azh, aen, czh, cen in SEED:
            if kind not in have:
                ConsentTemplate.create(kind=kind, version=1, title_zh=tzh, title_en=ten, body_zh=bzh, body_en=ben,
                                       alternatives_zh=azh, alternatives_en=aen, cost_zh=czh, cost_en=cen,
                                       procedures=procs, created_by=actor)
                added += 1
    return added


def current_templates() -> list[ConsentTemplate]:
    """The newest version of each kind, in CONSENT_KINDS order."""
    newest = {}
    for t in ConsentTemplate.select().order_by(ConsentTemplate.kind, ConsentTemplate.version):
        newest[t.kind] = t
    return [newest[k] for k in CONSENT_KINDS if k in newest]


def template_for(kind: str) -> ConsentTemplate | None:
    return (ConsentTemplate.select().where(ConsentTemplate.kind == kind)
            .order_by(ConsentTemplate.version.desc()).first())


def save_template(kind: str, values: dict, actor: Staff) -> ConsentTemplate:
    """A new version of the kind's template; the forms already filled keep the text they showed."""
    if kind not in CONSENT_KINDS:
        raise ServiceError(_l("Unknown consent kind."))
    clean = {f: (values.get(f) or "").strip() for f in FIELDS}
    for f in ("title_zh", "title_en", "body_zh", "body_en"):
        if not clean[f]:
            raise ServiceError(_l("Write the title and the risks in both languages."), field=f)
    codes = [c.strip().upper() for c in clean["procedures"].replace("，", ",").split(",") if c.strip()]
    clean["procedures"] = ",".join(codes)[:200]
    with unit_of_work():
        current = template_for(kind)
        if current is not None and all(getattr(current, f) == clean[f] for f in FIELDS):
            return current
        version = (current.version if current else 0) + 1
        tpl = ConsentTemplate.create(kind=kind, version=version, created_by=actor, **clean)
        audit.record("update", object_type="consent_template", object_ref=f"{kind}#{version}", actor=actor)
    return tpl


# --- forms ------------------------------------------------------------------------------------

def localized(tpl: ConsentTemplate, field: str, lang: str) -> str:
    return getattr(tpl, f"{field}_{'zh' if lang.startswith('zh') else 'en'}")


def compose(tpl: ConsentTemplate, patient: Patient, what: str, tooth: str, lang: str) -> str:
    """The exact text the signers read (and the hash covers)."""
    zh = lang.startswith("zh")
    lines = [localized(tpl, "title", lang), ""]
    if zh:
        lines += [f"患者：{patient.name}", f"病历号：{patient.chart_no}", f"治疗项目：{what or '—'}",
                  f"牙位：{tooth or '—'}", "",
                  "【治疗内容与风险】", tpl.body_zh, "", "【其他选择】", tpl.alternatives_zh or "—", "",
                  "【费用】", tpl.cost_zh or "—", "",
                  "本人已阅读并理解以上内容，医生已解答我的疑问，我同意接受上述治疗。"]
    else:
        lines += [f"Patient: {patient.name}", f"Chart no.: {patient.chart_no}", f"Treatment: {what or '—'}",
                  f"Tooth: {tooth or '—'}", "",
                  "What is done and its risks", tpl.body_en, "", "Alternatives", tpl.alternatives_en or "—", "",
                  "Cost", tpl.cost_en or "—", "",
                  "I have read and understood the above, the doctor has answered my questions, "
                  "and I agree to this treatment."]
    return "\n".join(lines)


def create(patient: Patient, kind: str, actor: Staff, lang: str, tooth: str = "", plan_item: PlanItem | None = None,
           procedure: Procedure | None = None, visit: Visit | None = None) -> ConsentForm:
    tpl = template_for(kind)
    if tpl is None:
        raise ServiceError(_l("Choose a kind of consent."), field="kind")
    if plan_item is not None and plan_item.patient_id != patient.id:
        raise ServiceError(_l("That plan item belongs to another patient."), field="plan_item")
    tooth = (tooth or "").strip()[:40]
    if plan_item is not None:
        procedure = procedure or plan_item.procedure
        tooth = tooth or (str(plan_item.tooth) if getattr(plan_item, "tooth", None) else "")
    what = ""
    if procedure is not None:
        what = procedure.name_zh if lang.startswith("zh") else procedure.name_en
    text = compose(tpl, patient, what, tooth, lang)
    with unit_of_work():
        form = ConsentForm.create(code=new_code(), patient=patient, template=tpl, visit=visit, plan_item=plan_item,
                                  procedure=procedure, tooth=tooth, lang=lang, text=text, text_hash=digest(text),
                                  doctor=actor if actor.role == "doctor" else None, created_by=actor)
        audit.record("create", patient=patient.id, object_type="consent", object_ref=form.code, actor=actor,
                     detail={"kind": kind, "version": tpl.version})
    return form


def parse_strokes(raw: str, who) -> str:
    """Validated strokes as compact JSON; ServiceError when there is no signature."""
    try:
        data = json.loads(raw or "[]")
    except ValueError:
        data = None
    if not isinstance(data, list):
        raise ServiceError(_l("The signature could not be read: sign again."), field=who)
    strokes, points = [], 0
    for stroke in data[:MAX_STROKES]:
        pts = stroke.get("points") if isinstance(stroke, dict) else stroke
        if not isinstance(pts, list):
            continue
        clean = []
        for p in pts:
            if isinstance(p, dict) and isinstance(p.get("x"), (int, float)) and isinstance(p.get("y"), (int, float)):
                clean.append({"x": round(float(p["x"]), 1), "y": round(float(p["y"]), 1),
                              "t": int(p.get("time") or p.get("t") or 0)})
        points += len(clean)
        if clean:
            strokes.append(clean)
    if not strokes or points < 2:
        raise ServiceError(_l("Sign in the box first."), field=who)
    if points > MAX_POINTS:
        raise ServiceError(_l("The signature is too long: clear it and sign again."), field=who)
    return json.dumps(strokes, separators=(",", ":"))


def sign(form: ConsentForm, actor: Staff, today: date, signer_kind: str, signer_name: str, relationship: str,
         patient_strokes: str, doctor_strokes: str, config=None) -> ConsentForm:
    """Both signatures at once (the tablet passes from patient to doctor before the form is sent).
    Decided on the row as it is inside the transaction: the second of two sends is told who signed
    and when."""
    signer_kind = signer_kind if signer_kind in ("patient", "guardian") else ""
    signer_name = (signer_name or "").strip()[:60]
    relationship = (relationship or "").strip()[:30]
    with unit_of_work():
        row = locked(ConsentForm, form.id)
        if row is None:
            raise ServiceError(_l("This form no longer exists."))
        if row.status == "signed":
            raise Conflict(_l("Already signed by %(who)s at %(time)s.",
                              **who_when(row.doctor_id, row.doctor_signed_at, config)))
        if not hash_matches(row):
            raise ServiceError(_l("The text of this form was changed after it was filled: fill a new form."))
        patient = Patient.get_by_id(row.patient_id)
        if not signer_kind:
            raise ServiceError(_l("Say who signs."), field="signer_kind")
        if is_minor(patient, today) and signer_kind != "guardian":
            raise ServiceError(_l("The patient is under 18: a guardian signs."), field="signer_kind")
        if signer_kind == "guardian":
            if not signer_name:
                raise ServiceError(_l("Write the guardian's name."), field="signer_name")
            if relationship not in RELATIONSHIPS:
                raise ServiceError(_l("Say how the guardian is related to the patient."), field="relationship")
        else:
            signer_name, relationship = patient.name, ""
        p_strokes = parse_strokes(patient_strokes, "patient_strokes")
        d_strokes = parse_strokes(doctor_strokes, "doctor_strokes")
        now = utcnow()
        n = (ConsentForm.update(status="signed", signer_kind=signer_kind, signer_name=signer_name,
                                relationship=relationship, patient_strokes=p_strokes, patient_signed_at=now,
                                doctor=actor, doctor_strokes=d_strokes, doctor_signed_at=now)
             .where(ConsentForm.id == row.id, ConsentForm.status == "draft").execute())
        if n != 1:
            raise Conflict(_l("Already signed."))
        audit.record("update", patient=patient.id, object_type="consent", object_ref=row.code, actor=actor,
                     detail={"signed": True, "signer": signer_kind, "relationship": relationship, "hash": row.text_hash})
    return ConsentForm.get_by_id(form.id)


def discard(patient: Patient, code: str, actor: Staff, reason: str) -> None:
    """Take away a form the patient will not sign (wrong kind, plan changed, filled by mistake), so
    it stops waiting on the doctor's home. An unsigned form binds nobody, so the row goes; the
    audit trail keeps its code, kind, text hash and the reason. A signed form is never discarded.
    Decided on the row as it is inside the transaction: of two discards, the second is told."""
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ServiceError(_l("Say why the form is discarded."), field="reason")
    found = (ConsentForm.select(ConsentForm.id)
             .where(ConsentForm.code == code, ConsentForm.patient == patient).scalar())
    with unit_of_work():
        row = locked(ConsentForm, found) if found else None
        if row is None:
            raise Conflict(_l("This form was already discarded."))
        if row.status == "signed":
            raise Conflict(_l("A signed form cannot be discarded."))
        kind = ConsentTemplate.select(ConsentTemplate.kind).where(ConsentTemplate.id == row.template_id).scalar()
        if ConsentForm.delete().where(ConsentForm.id == row.id, ConsentForm.status == "draft").execute() != 1:
            raise Conflict(_l("This form was already discarded."))
        audit.record("delete", patient=patient.id, object_type="consent", object_ref=row.code, actor=actor,
                     detail={"discarded": True, "kind": kind, "hash": row.text_hash, "reason": reason})


def forms_of(patient: Patient) -> list[ConsentForm]:
    return list(ConsentForm.select(ConsentForm, ConsentTemplate).join(ConsentTemplate)
                .where(ConsentForm.patient == patient).order_by(ConsentForm.created_at.desc(), ConsentForm.id.desc()))


def signed_forms_of(patient: Patient) -> list[ConsentForm]:
    return [f for f in forms_of(patient) if f.status == "signed"]


def altered_forms() -> list[str]:
    """Codes of forms whose stored text no longer matches the hash signed (for `portal check`)."""
    bad = []
    for code, text, text_hash in (ConsentForm.select(ConsentForm.code, ConsentForm.text, ConsentForm.text_hash)
                                  .order_by(ConsentForm.id).tuples().iterator()):
        if digest(text) != text_hash:
            bad.append(code)
    return bad


# --- procedures that need consent ------------------------------------------------------------

def kind_needed(procedure: Procedure) -> str | None:
    for tpl in current_templates():
        if procedure.code in [c for c in tpl.procedures.split(",") if c]:
            return tpl.kind
    return None


def missing_for(patient: Patient, procedure: Procedure) -> str | None:
    """The consent kind this procedure needs when the patient has no signed form of it, else None."""
    kind = kind_needed(procedure)
    if kind is None:
        return None
    signed = (ConsentForm.select(ConsentForm.id).join(ConsentTemplate)
              .where(ConsentForm.patient == patient, ConsentForm.status == "signed", ConsentTemplate.kind == kind)
              .exists())
    return None if signed else kind


# --- drawing ----------------------------------------------------------------------------------

def strokes_svg(strokes_json: str, width: int = 300, height: int = 100) -> str:
    """The stored strokes as an SVG (one path a stroke), scaled into width×height."""
    try:
        strokes = json.loads(strokes_json or "[]")
    except ValueError:
        strokes = []
    xs = [p["x"] for s in strokes for p in s]
    ys = [p["y"] for s in strokes for p in s]
    paths = []
    if xs:
        minx, miny = min(xs), min(ys)
        span = max(max(xs) - minx, (max(ys) - miny) * width / height, 1)
        k = (width - 8) / span
        for s in strokes:
            d = " ".join(f"{'M' if i == 0 else 'L'}{(p['x'] - minx) * k + 4:.1f},{(p['y'] - miny) * k + 4:.1f}"
                         for i, p in enumerate(s))
            if len(s) == 1:
                d += " l0.1,0"
            paths.append(f'<path d="{d}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img"><g fill="none" stroke="#0f172a" stroke-width="2" '
            f'stroke-linecap="round" stroke-linejoin="round">{"".join(paths)}</g></svg>')


def record_override(visit: Visit, procedure: Procedure, kind: str, reason: str, actor: Staff) -> None:
    """A procedure started without the signed consent it needs: who, why (audited)."""
    audit.record("update", patient=visit.patient_id, object_type="consent_override", object_ref=visit.code,
                 actor=actor, detail={"procedure": procedure.code, "kind": kind, "reason": reason})
