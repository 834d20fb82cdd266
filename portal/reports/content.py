"""What each printout shows, as plain data for the print templates (no PDF work here).

Findings are put in plain words and grouped by urgency, so a patient understands the report
without the dentist's shorthand.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import get_locale, lazy_gettext as _l

from portal.models import Appointment, Followup, Patient, PlanItem, Procedure, Staff, Visit, VisitProcedure
from portal.services import chart_plans as plans
from portal.services.identity import age_on, life_stage

# Plain words for a patient (the chart's KINDS labels are the clinician's).
PLAIN = {
    "caries": _l("Tooth decay (a cavity)"), "filling": _l("Filling"), "sealant": _l("Protective sealant"),
    "fracture": _l("Cracked or broken tooth"), "wear": _l("Worn enamel"), "crown": _l("Crown (cap)"),
    "veneer": _l("Veneer"), "bridge_abutment": _l("Supports a bridge"), "bridge_pontic": _l("Bridge tooth"),
    "root_canal": _l("Root-canal treated"), "implant": _l("Implant"),
    "periapical": _l("Infection at the root tip"), "mobility": _l("Loose tooth"),
    "extraction": _l("Tooth to be taken out"), "missing": _l("Missing tooth"), "erupted": _l("Newly come through"),
    "unerupted": _l("Not yet come through"), "watch": _l("To keep an eye on"),
}
URGENCY_TITLES = {1: _l("Needs treatment soon"), 2: _l("To treat"), 3: _l("To keep an eye on"),
                  4: _l("Already done and healthy work")}
URGENCY_HINTS = {1: _l("Please book within two weeks; call us at once if it hurts or swells."),
                 2: _l("Best treated in the next few months, before it grows."),
                 3: _l("Nothing to do now; we check it at every visit."),
                 4: _l("Look after it with brushing, floss and regular check-ups.")}
DONE_KINDS = {"filling", "sealant", "crown", "veneer", "bridge_abutment", "bridge_pontic", "root_canal",
              "implant", "erupted", "extraction"}
# Words for work already done where the kind's plain word describes the plan.
PLAIN_DONE = {"extraction": _l("Tooth taken out")}
CARE_TIPS = {
    "child": [_l("Brush twice a day with a pea-sized smear of fluoride toothpaste; parents help until about 8."),
              _l("Fluoride varnish every 6 months and sealants on the new molars prevent most cavities."),
              _l("Keep sweets and sweet drinks to mealtimes; water between meals.")],
    "teen": [_l("Brush twice a day and floss once; braces need extra care around the brackets."),
             _l("An orthodontic assessment shows whether the bite needs straightening."),
             _l("Wear a mouthguard for contact sports.")],
    "adult": [_l("Brush twice a day for two minutes and clean between the teeth every day."),
              _l("Scaling every 6 months keeps the gums healthy; bleeding gums are a reason to come in."),
              _l("Replace missing teeth early so the others do not drift.")],
    "senior": [_l("Brush twice a day, clean between teeth, and clean dentures or implant bridges daily."),
               _l("Check-ups every 6 months catch root decay and gum disease early."),
               _l("A dry mouth raises the risk of decay: sip water and tell us about your medicines.")],
}


def is_zh() -> bool:
    loc = get_locale()
    return loc is None or loc.language == "zh"


def proc_name(procedure: Procedure) -> str:
    return procedure.name_zh if is_zh() else procedure.name_en


@dataclass
class Finding:
    tooth: int
    where: str
    what: object
    kind: str
    planned: bool
    urgency: int


@dataclass
class FirstVisit:
    patient: Patient
    today: date
    visit: Visit | None
    doctor: Staff | None
    age: int
    stage: str
    groups: list = field(default_factory=list)   # [(urgency, title, hint, [Finding])]
    plan: list = field(default_factory=list)
    plan_total: int = 0
    care: list = field(default_factory=list)
    tips: list = field(default_factory=list)
    recall: date | None = None
    next_appointment: Appointment | None = None


def _urgency(entry) -> int:
    if entry.kind in DONE_KINDS and entry.status != "planned":
        return 4
    if entry.kind in ("periapical", "fracture") or (entry.kind == "mobility" and (entry.grade or 0) >= 2):
        return 1
    if entry.kind in ("caries", "extraction", "mobility") or entry.status == "planned":
        return 2
    return 3


def _plain(entry):
    if entry.status != "planned" and entry.kind in PLAIN_DONE:
        return PLAIN_DONE[entry.kind]
    return PLAIN.get(entry.kind, entry.kind)


def findings(view) -> list[tuple]:
    """Chart entries still standing (later work on the same surfaces or tooth settles earlier ones),
    in plain words, grouped by urgency (most urgent first)."""
    from portal.blueprints.chart.svg import tooth_name
    from portal.services.chart_teeth import SURFACE_LABELS
    groups: dict[int, list[Finding]] = {}
    for e in sorted(view.entries, key=lambda e: e.tooth):
        where = tooth_name(e.tooth)
        surfaces = view.surfaces.get(e.id, e.surfaces) if view.surfaces else e.surfaces
        if surfaces:
            where += " · " + ", ".join(str(SURFACE_LABELS[s]) for s in surfaces)
        groups.setdefault(_urgency(e), []).append(
            Finding(e.tooth, where, _plain(e), e.kind, e.status == "planned", _urgency(e)))
    return [(u, URGENCY_TITLES[u], URGENCY_HINTS[u], groups[u]) for u in sorted(groups)]


def first_visit(patient: Patient, view, today: date) -> FirstVisit:
    visit = (Visit.select(Visit, Staff).join(Staff, on=(Visit.doctor == Staff.id))
             .where(Visit.patient == patient).order_by(Visit.visit_date, Visit.id).first())
    doctor = visit.doctor if visit else (Staff.get_by_id(patient.attending_doctor_id)
                                         if patient.attending_doctor_id else None)
    stage, age, care = plans.lifecycle(patient, today)
    items = [i for i in plans.plan_of(patient) if i.status in ("proposed", "accepted", "scheduled")]
    recall = (Followup.select(Followup.due_date).where(Followup.patient == patient, Followup.kind == "recall",
                                                       Followup.status == "open")
              .order_by(Followup.due_date).first())
    last_visit = (Visit.select(Visit.visit_date).where(Visit.patient == patient)
                  .order_by(Visit.visit_date.desc()).first())
    recall_date = recall.due_date if recall else (last_visit.visit_date + timedelta(days=182) if last_visit
                                                  else today + timedelta(days=182))
    upcoming = (Appointment.select().where(Appointment.patient == patient, Appointment.status == "booked",
                                           Appointment.start_at > _utcnow())
                .order_by(Appointment.start_at).first())
    return FirstVisit(patient=patient, today=today, visit=visit, doctor=doctor, age=age, stage=stage,
                      groups=findings(view), plan=items, plan_total=sum(i.price_fen for i in items), care=care,
                      tips=CARE_TIPS[stage], recall=recall_date, next_appointment=upcoming)


def _utcnow():
    from portal.models import utcnow
    return utcnow()


def instructions(patient: Patient, today: date, procedure_code: str | None = None, version: str | None = None):
    """[(procedure, text, version)] — one procedure, or those done on the latest visit (else the plan's)."""
    child = age_on(patient.birth_date, today) < 12
    version = version if version in ("adult", "child") else ("child" if child else "adult")
    if procedure_code:
        procs = list(Procedure.select().where(Procedure.code == procedure_code))
    else:
        last = Visit.select().where(Visit.patient == patient).order_by(Visit.visit_date.desc(), Visit.id.desc()).first()
        procs = []
        if last is not None:
            procs = [vp.procedure for vp in VisitProcedure.select(VisitProcedure, Procedure).join(Procedure)
                     .where(VisitProcedure.visit == last)]
        if not procs:
            procs = [i.procedure for i in plans.plan_of(patient) if i.status != "declined"]
    seen, out = set(), []
    for p in procs:
        if p.id in seen:
            continue
        seen.add(p.id)
        text = (p.instructions_child if version == "child" else p.instructions_adult) or p.instructions_adult \
            or p.instructions_child
        if text:
            out.append((p, text, version))
    return out


def quote(patient: Patient):
    items = [i for i in plans.plan_of(patient) if i.status != "declined" and i.status != "done"]
    phases: dict[int, list[PlanItem]] = {}
    for i in items:
        phases.setdefault(i.phase, []).append(i)
    return sorted(phases.items()), sum(i.price_fen for i in items if i.alternative_to_id is None)


def stage_of(patient: Patient, today: date) -> str:
    return life_stage(patient.birth_date, today)
