"""The structured visit record (issue 14): templates and quick phrases that fill the record's
fields, with placeholders taken from the visit; and the last signed visit's past history and
allergies carried forward for the doctor to confirm, not retyped.

A template is the clinic's (owner empty: the manager curates them) or one doctor's own; either may
be tied to a procedure, and is then offered first on visits where that procedure is done. Saving a
template names the version the editor loaded; a template saved by someone else meanwhile refuses
the late save (who/when), so two editors never overwrite each other silently."""
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import ChartEntry, Patient, Procedure, Staff, Visit, VisitProcedure, new_code, utcnow
from portal.models.visit_record import NoteTemplate
from portal.services import Conflict, ServiceError
from portal.services.chart_visits import MAX_NOTE, NOTE_FIELDS
from portal.services.moved_on import locked, who_when

PLACEHOLDER = re.compile(r"\{(tooth|surfaces|age)\}")
CARRIED = ("past_history", "allergy_history")
MAX_TITLE = 80


@dataclass
class TemplateData:
    title: str
    body: dict            # {note field: text}
    procedure: Procedure | None = None


def fields_of(template: NoteTemplate) -> dict:
    """{field: text} of the fields the template fills, in the record's order."""
    return {name: getattr(template, name) for name in NOTE_FIELDS if getattr(template, name)}


def may_edit(template: NoteTemplate, actor: Staff) -> bool:
    if template.owner_id is None:
        return actor.role == "manager"
    return actor.role == "doctor" and template.owner_id == actor.id


def _clean(data: TemplateData) -> tuple[str, dict]:
    title = (data.title or "").strip()[:MAX_TITLE]
    if not title:
        raise ServiceError(_l("Give the template a title."), field="title")
    body = {name: (data.body.get(name) or "").strip()[:MAX_NOTE] for name in NOTE_FIELDS}
    body = {k: v for k, v in body.items() if v}
    if not body:
        raise ServiceError(_l("Write the text of at least one field."))
    return title, body


def _columns(body: dict) -> dict:
    return {name: body.get(name, "") for name in NOTE_FIELDS}


def create_template(data: TemplateData, actor: Staff) -> NoteTemplate:
    """The manager adds to the clinic set; a doctor to their own."""
    if actor.role not in ("manager", "doctor"):
        raise ServiceError(_l("Only the manager (clinic set) or a doctor (own) keeps templates."))
    title, body = _clean(data)
    with unit_of_work():
        row = NoteTemplate.create(code=new_code(), owner=actor if actor.role == "doctor" else None,
                                  procedure=data.procedure, title=title, updated_by=actor, **_columns(body))
        audit.record("create", object_type="note_template", object_ref=row.code, actor=actor)
    return row


def _moved_on(current: NoteTemplate) -> Conflict:
    return Conflict(_l("This template was changed by %(who)s at %(time)s; reload it and make your change again.",
                       **who_when(current.updated_by_id, current.updated_at)))


def save_template(template: NoteTemplate, data: TemplateData, seen_version: int, actor: Staff,
                  active: bool = True) -> NoteTemplate:
    """A conditional update on the version the editor loaded: of many saves of one loaded page,
    one wins and the others are told who changed it and when."""
    if not may_edit(template, actor):
        raise ServiceError(_l("Only the manager edits the clinic's templates; a doctor edits their own."))
    title, body = _clean(data)
    with unit_of_work():
        now = utcnow()
        rows = (NoteTemplate.update(title=title, **_columns(body), procedure=data.procedure,
                                    active=active, version=NoteTemplate.version + 1, updated_by=actor, updated_at=now)
                .where(NoteTemplate.id == template.id, NoteTemplate.version == seen_version).execute())
        if rows != 1:
            current = locked(NoteTemplate, template.id)
            if current is None:
                raise ServiceError(_l("This template no longer exists."))
            raise _moved_on(current)
        audit.record("update", object_type="note_template", object_ref=template.code, actor=actor,
                     detail={"version": seen_version + 1, "active": active})
    return NoteTemplate.get_by_id(template.id)


def templates_for(actor: Staff, visit: Visit | None = None, include_retired: bool = False) -> list[NoteTemplate]:
    """The clinic set and the actor's own (a manager: the clinic set); on a visit, those tied to a
    procedure done on it first, then the general ones; templates for other procedures last."""
    query = NoteTemplate.select()
    if actor.role == "doctor":
        query = query.where((NoteTemplate.owner.is_null()) | (NoteTemplate.owner == actor.id))
    else:
        query = query.where(NoteTemplate.owner.is_null())
    if not include_retired:
        query = query.where(NoteTemplate.active == True)  # noqa: E712
    rows = list(query.order_by(NoteTemplate.title, NoteTemplate.id))
    if visit is None:
        return rows
    done = {r.procedure_id for r in VisitProcedure.select(VisitProcedure.procedure).where(VisitProcedure.visit == visit)}

    def rank(t):
        return 0 if t.procedure_id in done else (1 if t.procedure_id is None else 2)
    return sorted(rows, key=lambda t: (rank(t), t.owner_id is None, t.title))


def age_on(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def placeholders(visit: Visit) -> dict:
    """{tooth, surfaces, age} from the visit: the teeth charted or treated on it, the surfaces
    charted, the patient's age on the visit day. Unknown ones are left for the doctor to fill."""
    teeth, surfaces = [], []
    for e in (ChartEntry.select(ChartEntry.tooth, ChartEntry.surfaces)
              .where(ChartEntry.visit == visit, ChartEntry.entered_in_error == False)  # noqa: E712
              .order_by(ChartEntry.id)):
        if e.tooth not in teeth:
            teeth.append(e.tooth)
        for s in e.surfaces or "":
            if s not in surfaces:
                surfaces.append(s)
    for r in VisitProcedure.select(VisitProcedure.tooth).where(VisitProcedure.visit == visit).order_by(VisitProcedure.id):
        if r.tooth and r.tooth not in teeth:
            teeth.append(r.tooth)
    patient = Patient.get_by_id(visit.patient_id)
    values = {}
    if teeth:
        values["tooth"] = "、".join(str(t) for t in teeth)
    if surfaces:
        values["surfaces"] = "".join(surfaces)
    age = age_on(patient.birth_date, visit.visit_date)
    if age is not None:
        values["age"] = str(age)
    return values


def fill(text: str, values: dict) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def apply(template: NoteTemplate, visit: Visit, current: dict, actor: Staff) -> dict:
    """The record's fields as the doctor has them on screen (`current`), with the template's text
    filled in: an empty field takes it, a written one gets it on a new line. Nothing is saved: the
    doctor edits, then saves the notes as usual."""
    if actor.role != "doctor":
        raise ServiceError(_l("Only a doctor writes and signs clinical notes."))
    if visit.status == "signed":
        raise ServiceError(_l("This visit is signed and locked; it can only be amended by an addendum."))
    if not template.active or not (template.owner_id is None or template.owner_id == actor.id):
        raise ServiceError(_l("That template is not available."))
    values = placeholders(visit)
    out = {name: (current.get(name) or "") for name in NOTE_FIELDS}
    for name, text in fields_of(template).items():
        text = fill(text, values)
        mine = out[name].rstrip()
        out[name] = (mine + "\n" + text if mine else text)[:MAX_NOTE]
    return out


def carried_forward(visit: Visit) -> dict:
    """{field: (text, date of the visit it comes from)} for a draft whose past history / allergies
    are still empty: the last signed visit's, or (allergies) the patient's recorded allergies."""
    if visit.status != "draft":
        return {}
    empty = [name for name in CARRIED if not (getattr(visit, name) or "").strip()]
    if not empty:
        return {}
    last = (Visit.select().where(Visit.patient == visit.patient_id, Visit.status == "signed", Visit.id != visit.id,
                                 Visit.visit_date <= visit.visit_date)
            .order_by(Visit.visit_date.desc(), Visit.id.desc()).first())
    out = {}
    for name in empty:
        text = (getattr(last, name) or "").strip() if last else ""
        if text:
            out[name] = (text, last.visit_date)
    if "allergy_history" in empty and "allergy_history" not in out:
        recorded = (Patient.get_by_id(visit.patient_id).allergies or "").strip()
        if recorded:
            out["allergy_history"] = (recorded, None)
    return out
