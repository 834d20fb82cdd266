"""Follow-up plans (回访) generated from what happened, by rules that are data.

Rules live in `followup_rule` (the manager edits them) plus each catalogue procedure's
`followup_rules` JSON. A generated follow-up copies its rule's kind, topic, questions and due date
and remembers the rule's version, so a later edit never rewrites what was planned. Every plan has a
unique source key: planning twice (a retry, the worker's catch-up scan) changes nothing. Two calls
for one patient on the same day become one call: the second row is kept as "merged" into the first.
"""
import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

import peewee as pw
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import (Appointment, Followup, FollowupRule, Patient, PatientTag, Procedure, Staff, Tag, Visit,
                           VisitProcedure, new_code, utcnow)
from portal.models.followup import KINDS, RULE_EVENTS
from portal.services import ServiceError
from portal.services.clock import to_local

# Question key -> (label, scale). A "scale" answer is 0–10; "yesno" is yes/no.
QUESTIONS = {
    "pain": (_l("Pain"), "scale"), "swelling": (_l("Swelling"), "scale"), "bleeding": (_l("Bleeding"), "scale"),
    "exudate": (_l("Exudate (pus or discharge)"), "yesno"), "relieved": (_l("Symptoms relieved"), "yesno"),
    "flossing_daily": (_l("Flosses every day"), "yesno"),
    "technique_mastered": (_l("Has mastered the brushing and flossing technique"), "yesno"),
    "stable": (_l("Restoration or implant feels stable"), "yesno"), "satisfied": (_l("Satisfied with the care"), "yesno"),
}
WARNING_QUESTIONS = ("pain", "swelling", "bleeding", "exudate")
DEFAULT_WARNING_SCORE = 7  # a 0–10 answer at or above this escalates (FOLLOWUP_WARNING_SCORE)

# The clinic's defaults (DOMAIN.md "Follow-up calls"); created once, then edited as data.
# Rule names are the clinic's own data (the manager renames them); they are written once in the
# clinic's language (PORTAL_LOCALE), not in the language of whoever happened to load the rules.
DEFAULT_RULES = [
    (_l("First-visit call"), "first_visit", "", 2, "call", "pain,swelling,flossing_daily,technique_mastered,satisfied"),
    (_l("Emergency call"), "emergency", "", 1, "call", "relieved,pain,swelling,exudate"),
    (_l("Revisit call"), "revisit", "", 2, "call", "pain,swelling,bleeding,satisfied"),
    (_l("Extraction: next day"), "department", "surgical", 1, "call", "pain,swelling,bleeding"),
    (_l("Implant: first week"), "department", "implant", 7, "call", "pain,swelling,exudate,bleeding"),
    (_l("Implant: stability (2 months)"), "department", "implant", 60, "call", "stable,pain,satisfied"),
    (_l("Implant: durability (9 months)"), "department", "implant", 270, "review", "stable,satisfied"),
    (_l("Aesthetic work: first week"), "department", "aesthetic", 7, "call", "pain,stable,satisfied"),
    (_l("Aesthetic work: 2 months"), "department", "aesthetic", 60, "call", "stable,satisfied"),
    (_l("Routine recall"), "recall_routine", "", 182, "recall", ""),
    (_l("Special recall"), "recall_special", "periodontal,implant,orthodontic,牙周病患者,种植牙客户,正畸患者", 91, "recall", ""),
]


@dataclass
class RuleData:
    name: str
    event: str
    applies_to: str
    offset_days: int
    kind: str
    questions: str
    active: bool = True


@dataclass
class Plan:
    """One follow-up to create: what, when, and the key that makes planning it twice harmless."""
    key: str
    event: str
    kind: str
    topic: str
    questions: str
    due: date
    rule: FollowupRule | None = None


def _split(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]


def ensure_default_rules() -> None:
    if FollowupRule.select().exists():
        return
    language = current_app.config.get("PORTAL_LOCALE", "zh_CN") if has_app_context() else None
    with unit_of_work(), (force_locale(language) if language else nullcontext()):
        for name, event, applies, days, kind, questions in DEFAULT_RULES:
            FollowupRule.create(code=new_code(), name=str(name), event=event, applies_to=applies,
                                offset_days=days, kind=kind, questions=questions)


def rules(active_only: bool = True) -> list[FollowupRule]:
    ensure_default_rules()
    q = FollowupRule.select().order_by(FollowupRule.event, FollowupRule.offset_days, FollowupRule.id)
    return list(q.where(FollowupRule.active == True) if active_only else q)  # noqa: E712


def _clean_rule(data: RuleData) -> dict:
    if data.event not in RULE_EVENTS:
        raise ServiceError(_l("Choose what the rule reacts to."), field="event")
    if data.kind not in KINDS:
        raise ServiceError(_l("Choose the kind of follow-up."), field="kind")
    if not (data.name or "").strip():
        raise ServiceError(_l("Name the rule."), field="name")
    if not 0 <= int(data.offset_days) <= 1100:
        raise ServiceError(_l("Days after must be between 0 and 1100."), field="offset_days")
    unknown = [q for q in _split(data.questions) if q not in QUESTIONS]
    if unknown:
        raise ServiceError(_l("Unknown questions: %(q)s.", q=", ".join(unknown)), field="questions")
    if data.event in ("procedure", "department") and not _split(data.applies_to):
        raise ServiceError(_l("Say which procedure codes or departments the rule applies to."), field="applies_to")
    return {"name": data.name.strip()[:60], "event": data.event, "applies_to": ",".join(_split(data.applies_to))[:200],
            "offset_days": int(data.offset_days), "kind": data.kind, "questions": ",".join(_split(data.questions)),
            "active": bool(data.active)}


def save_rule(data: RuleData, actor: Staff, rule: FollowupRule | None = None) -> FollowupRule:
    """Create or change a rule. A change bumps its version; follow-ups already planned keep their copy."""
    fields = _clean_rule(data)
    with unit_of_work():
        if rule is None:
            rule = FollowupRule.create(code=new_code(), updated_by=actor, **fields)
        else:
            FollowupRule.update(version=FollowupRule.version + 1, updated_at=utcnow(), updated_by=actor,
                                **fields).where(FollowupRule.id == rule.id).execute()
            rule = FollowupRule.get_by_id(rule.id)
        audit.record("update", object_type="followup_rule", object_ref=rule.code, actor=actor,
                     detail={**fields, "version": rule.version})
    return rule


# --- planning -------------------------------------------------------------------------------------

def _visit_plans(appt: Appointment, day: date, active: list[FollowupRule]) -> list[Plan]:
    event = {"first": "first_visit", "emergency": "emergency", "revisit": "revisit"}.get(appt.visit_type)
    return [Plan(f"appt:{appt.id}:rule:{r.id}", event, r.kind, r.name, r.questions, day + timedelta(days=r.offset_days), r)
            for r in active if event and r.event == event]


def _procedure_plans(run: VisitProcedure, proc: Procedure, day: date, active: list[FollowupRule]) -> list[Plan]:
    plans = [Plan(f"vp:{run.id}:rule:{r.id}", r.event, r.kind, f"{r.name} · {proc.name_zh}", r.questions,
                  day + timedelta(days=r.offset_days), r)
             for r in active if (r.event == "procedure" and proc.code in _split(r.applies_to))
             or (r.event == "department" and proc.department in _split(r.applies_to))]
    try:
        from_catalogue = json.loads(proc.followup_rules or "[]")
    except ValueError:
        from_catalogue = []
    for i, item in enumerate(from_catalogue if isinstance(from_catalogue, list) else []):
        if not isinstance(item, dict) or not str(item.get("after_days", "")).isdigit():
            continue
        kind = item.get("kind") if item.get("kind") in KINDS else "call"
        questions = ",".join(q for q in _split(str(item.get("questions", ""))) if q in QUESTIONS) or "pain,swelling"
        topic = f"{proc.name_zh} · {item.get('topic', '')}".strip(" ·")[:200]
        plans.append(Plan(f"vp:{run.id}:cat:{i}", "procedure", kind, topic, questions,
                          day + timedelta(days=int(item["after_days"])), None))
    return plans


def is_special(patient_id: int, procedures: list[Procedure], rule: FollowupRule) -> bool:
    marks = set(_split(rule.applies_to))
    if any(p.department in marks or p.code in marks for p in procedures):
        return True
    tags = Tag.select(Tag.name).join(PatientTag).where(PatientTag.patient == patient_id, Tag.name.in_(list(marks)))
    return tags.exists()


def _recall_plan(appt: Appointment, day: date, procedures: list[Procedure], active: list[FollowupRule]) -> list[Plan]:
    special = next((r for r in active if r.event == "recall_special"), None)
    routine = next((r for r in active if r.event == "recall_routine"), None)
    rule = special if special and is_special(appt.patient_id, procedures, special) else routine
    if rule is None:
        return []
    return [Plan(f"recall:{appt.id}", rule.event, "recall", rule.name, "", day + timedelta(days=rule.offset_days), rule)]


def _least_busy_consultant() -> Staff | None:
    open_count = pw.fn.COUNT(Followup.id)
    return (Staff.select(Staff, open_count.alias("n"))
            .join(Followup, pw.JOIN.LEFT_OUTER, on=((Followup.assigned_to == Staff.id) & (Followup.status == "open")))
            .where(Staff.role == "consultant", Staff.active == True)  # noqa: E712
            .group_by(Staff.id).order_by(open_count, Staff.id).first())


def create_plans(patient_id: int, doctor_id: int | None, plans: list[Plan], appointment=None,
                 actor: Staff | None = None) -> list[Followup]:
    """Insert what is not there yet; a second call the same day merges into the first."""
    if not plans:
        return []
    keys = [p.key for p in plans]
    known = {k for (k,) in Followup.select(Followup.source_key).where(Followup.source_key.in_(keys)).tuples()}
    due_days = {p.due for p in plans}
    open_rows = {(f.kind, f.due_date): f for f in Followup.select().where(
        Followup.patient == patient_id, Followup.status == "open", Followup.due_date.in_(list(due_days)))}
    restricted = Patient.select(Patient.restricted).where(Patient.id == patient_id).scalar()
    consultant = None if restricted else _least_busy_consultant()  # a restricted patient: the manager's list
    made = []
    with unit_of_work():
        for plan in plans:
            if plan.key in known:
                continue
            fields = dict(code=new_code(), patient=patient_id, doctor=doctor_id, appointment=appointment, rule=plan.rule,
                          rule_version=plan.rule.version if plan.rule else 0, event=plan.event, kind=plan.kind,
                          topic=plan.topic[:200], questions=plan.questions, due_date=plan.due, source_key=plan.key[:120],
                          assigned_to=consultant)
            twin = open_rows.get((plan.kind, plan.due))
            if twin is not None and plan.kind != "recall":
                merged_q = ",".join(dict.fromkeys(_split(twin.questions) + _split(plan.questions)))
                topic = twin.topic if plan.topic in twin.topic else f"{twin.topic}; {plan.topic}"[:200]
                Followup.update(questions=merged_q[:300], topic=topic).where(Followup.id == twin.id).execute()
                twin.questions, twin.topic = merged_q[:300], topic
                Followup.create(status="merged", outcome="merged", closed_at=utcnow(), **fields)
                continue
            row = Followup.create(**fields)
            open_rows[(plan.kind, plan.due)] = row
            made.append(row)
        if made:
            audit.record("create", patient=patient_id, object_type="followup", actor=actor,
                         object_ref=",".join(r.code for r in made)[:40], detail={"planned": [p.key for p in plans]})
    return made


def _completed_runs(appt: Appointment) -> list[tuple[VisitProcedure, Procedure]]:
    rows = (VisitProcedure.select(VisitProcedure, Procedure).join(Procedure).switch(VisitProcedure).join(Visit)
            .where(Visit.appointment == appt, VisitProcedure.status == "completed"))
    return [(r, r.procedure) for r in rows]


def close_recalls(patient_id: int, why: str = "visited") -> int:
    """A visit happened: the patient's open recalls are kept."""
    return Followup.update(status="done", outcome=why, closed_at=utcnow()).where(
        Followup.patient == patient_id, Followup.kind == "recall", Followup.status == "open").execute()


def on_visit_completed(appt: Appointment, actor: Staff | None, config) -> list[Followup]:
    """Called inside the unit of work that completes an appointment: plan its calls and the next recall."""
    day = to_local(appt.completed_at or utcnow(), config["PORTAL_TZ"]).date()
    active = rules()
    runs = _completed_runs(appt)
    plans = _visit_plans(appt, day, active)
    for run, proc in runs:
        plans += _procedure_plans(run, proc, day, active)
    close_recalls(appt.patient_id)
    plans += _recall_plan(appt, day, [p for _, p in runs], active)
    made = create_plans(appt.patient_id, appt.doctor_id, plans, appointment=appt, actor=actor)
    from portal.services import surveys
    surveys.plan_after_visit(appt, runs[0][1] if runs else None, day)
    return made


def on_procedure_completed(run: VisitProcedure, actor: Staff | None, config) -> list[Followup]:
    """A procedure finished on a visit (also found by the worker's catch-up scan)."""
    visit = run.visit
    day = to_local(run.completed_at or utcnow(), config["PORTAL_TZ"]).date()
    plans = _procedure_plans(run, run.procedure, day, rules())
    return create_plans(visit.patient_id, visit.doctor_id, plans, appointment=visit.appointment_id, actor=actor)


def plan_recent_procedures(config, days: int = 3) -> int:
    """The worker's catch-up: procedures completed lately get their after-care plan (idempotent)."""
    since = utcnow() - timedelta(days=days)
    planned = {k for (k,) in Followup.select(Followup.source_key).where(Followup.source_key.startswith("vp:")).where(
        Followup.created_at >= since - timedelta(days=1)).tuples()}
    count = 0
    for run in (VisitProcedure.select(VisitProcedure, Procedure, Visit).join(Procedure).switch(VisitProcedure)
                .join(Visit).where(VisitProcedure.status == "completed", VisitProcedure.completed_at >= since)):
        if not any(k.startswith(f"vp:{run.id}:") for k in planned):
            count += len(on_procedure_completed(run, None, config))
    return count


def patient_followups(patient: Patient, limit: int = 50) -> list[Followup]:
    return list(Followup.select().where(Followup.patient == patient, Followup.status != "merged")
                .order_by(Followup.due_date.desc()).limit(limit))
