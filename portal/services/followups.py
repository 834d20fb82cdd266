"""Follow-up plans (回访) generated from what happened, by rules that are data.

Rules live in `followup_rule` (the manager edits them) plus each catalogue procedure's
`followup_rules` JSON. A generated follow-up copies its rule's kind, topic, questions and due date
and remembers the rule's version, so a later edit never rewrites what was planned. Every plan has a
unique source key: planning twice (a retry, the worker's catch-up scan) changes nothing. Two calls
for one patient on the same day become one call: the second row is kept as "merged" into the first.
"""
import calendar
import json
from dataclasses import dataclass
from datetime import date, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import (Appointment, Followup, FollowupRule, Patient, PatientTag, Procedure, Staff, Tag, Visit,
                           VisitProcedure, new_code, utcnow)
from portal.models.followup import KINDS, RULE_EVENTS
from portal.models.schedule import VISIT_TYPES
from portal.services import ServiceError, clinic_settings
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

# The numbers the manager changes live in the clinic's versioned settings (portal.services.clinic_settings,
# key "followup.<name>", edited on the rules screen) and are read through followup_settings(config):
# recall intervals in calendar months (001 常规六个月，特殊三个月), the ages that decide who is called as a
# child, a student, a working adult or a retired person, and the call windows by age group
# (windows_<group>) and by the patient's own preference (pref_<time>) (001 老人儿童避开午休，
# 上班族建议午休回访), plus the call limits (warning_score, max_attempts).
FOLLOWUP_DEFAULTS = {
    "recall_routine_months": 6, "recall_special_months": 3,
    "child_age": 12, "adult_age": 18, "student_until_age": 23, "retired_from_age": 60,
    "windows_child": "09:00-12:00,14:30-19:30",     # a parent answers; never in the midday rest
    "windows_retired": "09:00-11:30,14:30-17:30",   # never in the midday rest
    "windows_working": "12:00-13:30,18:00-20:00",   # lunchtime, then the evening
    "windows_student": "12:00-12:30,17:00-20:00",   # between and after classes
    "pref_morning": "09:00-12:00", "pref_lunch": "12:00-13:30", "pref_afternoon": "14:30-17:30",
    "pref_evening": "18:00-20:00",
    "warning_score": 7, "max_attempts": 3,
}
_LABELS = {
    "recall_routine_months": _l("Routine recall every (months)"),
    "recall_special_months": _l("Recall for special cases every (months)"),
    "child_age": _l("Called as a child (a parent answers) below this age"),
    "adult_age": _l("From this age the occupation the desk records decides the call times"),
    "student_until_age": _l("Adults with no recorded occupation count as students below this age"),
    "retired_from_age": _l("Adults with no recorded occupation count as retired from this age"),
    "windows_child": _l("Call times for children (a parent answers; not in the midday rest)"),
    "windows_retired": _l("Call times for the elderly (not in the midday rest)"),
    "windows_working": _l("Call times for working adults (lunchtime, evening)"),
    "windows_student": _l("Call times for students"),
    "pref_morning": _l("Call times for a patient who prefers the morning"),
    "pref_lunch": _l("Call times for a patient who prefers lunchtime"),
    "pref_afternoon": _l("Call times for a patient who prefers the afternoon"),
    "pref_evening": _l("Call times for a patient who prefers the evening"),
    "warning_score": _l("A pain or swelling answer (0–10) at or above this alerts the doctor"),
    "max_attempts": _l("Unanswered calls before a follow-up is closed as unreached"),
}
_LIMITS = {"recall_routine_months": (1, 36), "recall_special_months": (1, 36), "child_age": (1, 18),
           "adult_age": (12, 25), "student_until_age": (16, 40), "retired_from_age": (40, 90),
           "warning_score": (1, 10), "max_attempts": (1, 10)}


def setting_key(name: str) -> str:
    """The settings store's key for one of followup_settings' names."""
    return f"followup.{name}"


for _name, _default in FOLLOWUP_DEFAULTS.items():
    if isinstance(_default, int):
        _low, _high = _LIMITS[_name]
        clinic_settings.define(setting_key(_name), _default, "int", _LABELS[_name], minimum=_low, maximum=_high,
                               group="followups")
    else:
        clinic_settings.define(setting_key(_name), clinic_settings.parse("windows", _default), "windows",
                               _LABELS[_name], group="followups")


def followup_settings(config) -> dict:
    """The follow-up numbers in force, by name (one query)."""
    stored = clinic_settings.all_values(config)
    return {name: stored[setting_key(name)] for name in FOLLOWUP_DEFAULTS}


def add_months(day: date, months: int) -> date:
    """Calendar months: 15 January + 6 = 15 July; a month end clamps (31 August + 6 = 28/29 February)."""
    years, month0 = divmod(day.month - 1 + int(months), 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# After-care stages (004 追踪周期): short (first week: wound, abnormal reactions), medium (1–3 months:
# stability), long (6–12 months: durability and satisfaction). A rule's stage follows from its days.
SHORT_TERM_MAX_DAYS = 14
MEDIUM_TERM_MAX_DAYS = 100
STAGES = ("short", "medium", "long")


def stage_of(days: int) -> str:
    return "short" if days <= SHORT_TERM_MAX_DAYS else "medium" if days <= MEDIUM_TERM_MAX_DAYS else "long"

SPECIAL_MARKS = "牙周病患者,种植牙客户,正畸患者,牙周炎,牙周病,periodontitis,mobility,implant"

RULE_NAME_LABELS = {
    "first_visit_call": _l("First-visit call"),
    "emergency_call": _l("Emergency call"),
    "revisit_call": _l("Revisit call"),
    "extraction_next_day": _l("Extraction: next day"),
    "extraction_healing": _l("Extraction: healing (2 months)"),
    "extraction_6_months": _l("Extraction: 6 months (replacing the tooth)"),
    "implant_first_week": _l("Implant: first week"),
    "implant_stability": _l("Implant: stability (2 months)"),
    "implant_durability": _l("Implant: durability (9 months)"),
    "aesthetic_first_week": _l("Aesthetic work: first week"),
    "aesthetic_2_months": _l("Aesthetic work: 2 months"),
    "aesthetic_durability": _l("Aesthetic work: durability (9 months)"),
    "routine_recall": _l("Routine recall"),
    "special_recall": _l("Special recall"),
}

# The clinic's defaults (DOMAIN.md "Follow-up calls"); created once, then edited as data.
# A default rule's name is stored as a key (RULE_NAME_LABELS) and read in each reader's language;
# a name the manager types instead is the clinic's own and shown as typed (portal/labels.py).
DEFAULT_RULES = [
    ("first_visit_call", "first_visit", "", 2, "call", "pain,swelling,flossing_daily,technique_mastered,satisfied"),
    ("emergency_call", "emergency", "", 1, "call", "relieved,pain,swelling,exudate"),
    ("revisit_call", "revisit", "", 2, "call", "pain,swelling,bleeding,satisfied"),
    ("extraction_next_day", "department", "surgical", 1, "call", "pain,swelling,bleeding,exudate"),
    ("extraction_healing", "department", "surgical", 60, "call", "pain,satisfied"),
    ("extraction_6_months", "department", "surgical", 182, "call", "satisfied"),
    ("implant_first_week", "department", "implant", 7, "call", "pain,swelling,exudate,bleeding"),
    ("implant_stability", "department", "implant", 60, "call", "stable,pain,satisfied"),
    ("implant_durability", "department", "implant", 270, "review", "stable,satisfied"),
    ("aesthetic_first_week", "department", "aesthetic", 7, "call", "pain,stable,satisfied"),
    ("aesthetic_2_months", "department", "aesthetic", 60, "call", "stable,satisfied"),
    ("aesthetic_durability", "department", "aesthetic", 270, "review", "stable,satisfied"),
    # Recalls: the interval is the clinic setting in months (recall_*_months), not the days here.
    ("routine_recall", "recall_routine", "", 182, "recall", ""),
    # Special = periodontal disease or another special condition: a patient tag, a word in a visit's
    # diagnosis, or a chart finding in effect (chart kinds such as mobility, implant).
    ("special_recall", "recall_special", SPECIAL_MARKS, 91, "recall", ""),
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
    with unit_of_work():
        for name, event, applies, days, kind, questions in DEFAULT_RULES:
            FollowupRule.create(code=new_code(), name=name, event=event, applies_to=applies,
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
    if data.event == "visit_type" and (not _split(data.applies_to)
                                       or any(v not in VISIT_TYPES for v in _split(data.applies_to))):
        raise ServiceError(_l("Say which visit types the rule applies to: %(types)s.", types=", ".join(VISIT_TYPES)),
                           field="applies_to")
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

# Every return visit gets a call (001 每次复诊都应回访): revisit, recall and check-up visits alike.
VISIT_EVENTS = {"first": "first_visit", "emergency": "emergency", "revisit": "revisit", "recall": "revisit",
                "followup": "revisit"}


def _visit_plans(appt: Appointment, day: date, active: list[FollowupRule]) -> list[Plan]:
    event = VISIT_EVENTS.get(appt.visit_type)
    plans = [Plan(f"appt:{appt.id}:rule:{r.id}", event, r.kind, r.name, r.questions, day + timedelta(days=r.offset_days), r)
             for r in active if event and r.event == event]
    return plans + [Plan(f"appt:{appt.id}:rule:{r.id}", r.event, r.kind, r.name, r.questions,
                         day + timedelta(days=r.offset_days), r)
                    for r in active if r.event == "visit_type" and appt.visit_type in _split(r.applies_to)]


def catalogue_after_care(proc: Procedure) -> list[dict]:
    """The procedure's own after-care entries, cleaned: [{stage, kind, topic, questions, days|months}].

    An entry gives "after_days" or "after_months"; "stage" (short / medium / long) says it replaces
    the rule table's follow-up of that stage for this procedure."""
    try:
        raw = json.loads(proc.followup_rules or "[]")
    except ValueError:
        raw = []
    items = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        days, months = str(item.get("after_days", "")), str(item.get("after_months", ""))
        if not (days.isdigit() or months.isdigit()):
            continue
        kind = item.get("kind") if item.get("kind") in KINDS else "call"
        questions = ",".join(q for q in _split(str(item.get("questions", ""))) if q in QUESTIONS) or "pain,swelling"
        items.append({"stage": item.get("stage") if item.get("stage") in STAGES else "", "kind": kind,
                      "topic": str(item.get("topic", ""))[:120], "questions": questions,
                      "days": int(days) if days.isdigit() else None, "months": int(months) if months.isdigit() else None})
    return items


def _procedure_plans(run: VisitProcedure, proc: Procedure, day: date, active: list[FollowupRule]) -> list[Plan]:
    own = catalogue_after_care(proc)
    replaced = {item["stage"] for item in own if item["stage"]}
    plans = [Plan(f"vp:{run.id}:rule:{r.id}", r.event, r.kind, f"{r.name} · {proc.code}", r.questions,
                  day + timedelta(days=r.offset_days), r)
             for r in active if ((r.event == "procedure" and proc.code in _split(r.applies_to))
                                 or (r.event == "department" and proc.department in _split(r.applies_to)))
             and not (r.kind != "recall" and stage_of(r.offset_days) in replaced)]
    for i, item in enumerate(own):
        due = add_months(day, item["months"]) if item["months"] is not None else day + timedelta(days=item["days"])
        topic = f"{proc.code} · {item['topic']}".strip(" ·")[:200]  # shown in words by portal.labels
        plans.append(Plan(f"vp:{run.id}:cat:{i}", "procedure", item["kind"], topic, item["questions"], due, None))
    return plans


def _special_marks_found(patient_id: int, marks: list[str], today: date) -> bool:
    from portal.services import chart as chart_entries
    from portal.services.chart_teeth import KINDS as CHART_KINDS
    if not marks:
        return False
    if Tag.select().join(PatientTag).where(PatientTag.patient == patient_id, Tag.name.in_(marks)).exists():
        return True
    words = [m for m in marks if m not in CHART_KINDS]
    if words:
        cond = Visit.diagnosis.contains(words[0])
        for w in words[1:]:
            cond |= Visit.diagnosis.contains(w)
        if Visit.select(Visit.id).where(Visit.patient == patient_id, cond).exists():
            return True
    findings = {m for m in marks if m in CHART_KINDS}
    if findings:
        entries = chart_entries.current_entries(Patient.get_by_id(patient_id), today)
        return any(e.kind in findings and e.status in ("existing", "done") for e in entries)
    return False


def is_special(patient_id: int, rule: FollowupRule, today: date) -> bool:
    """001 特殊: periodontal disease or another special condition, by tag, diagnosis or chart finding.
    Which procedure was done does not count (a routine scaling is not periodontal disease)."""
    from portal.services.perio import perio_marks  # issue 14: a confirmed perio exam with pockets >= 4 mm
    return _special_marks_found(patient_id, _split(rule.applies_to), today) or perio_marks(patient_id, today)


def _recall_plan(appt: Appointment, day: date, active: list[FollowupRule], settings: dict) -> list[Plan]:
    special = next((r for r in active if r.event == "recall_special"), None)
    routine = next((r for r in active if r.event == "recall_routine"), None)
    rule = special if special and is_special(appt.patient_id, special, day) else routine
    if rule is None:
        return []
    months = settings["recall_special_months" if rule.event == "recall_special" else "recall_routine_months"]
    return [Plan(f"recall:{appt.id}", rule.event, "recall", rule.name, "", add_months(day, int(months)), rule)]


def _least_busy_consultant() -> Staff | None:
    open_count = pw.fn.COUNT(Followup.id)
    return (Staff.select(Staff, open_count.alias("n"))
            .join(Followup, pw.JOIN.LEFT_OUTER, on=((Followup.assigned_to == Staff.id) & (Followup.status == "open")))
            .where(Staff.role == "consultant", Staff.active == True)  # noqa: E712
            .group_by(Staff.id).order_by(open_count, Staff.id).first())


def create_plans(patient_id: int, doctor_id: int | None, plans: list[Plan], appointment=None,
                 actor: Staff | None = None) -> list[Followup]:
    """Insert what is not there yet; a second call the same day merges into the first, and a patient
    has one open recall: a procedure's own recall adds its topic to the rule's recall, whose date
    (the clinic's interval in calendar months) stands."""
    if not plans:
        return []
    plans = sorted(plans, key=lambda p: not _is_rule_recall(p.kind, p.event))  # the rule's recall first
    keys = [p.key for p in plans]
    known = {k for (k,) in Followup.select(Followup.source_key).where(Followup.source_key.in_(keys)).tuples()}
    due_days = {p.due for p in plans}
    open_rows = {(f.kind, f.due_date): f for f in Followup.select().where(
        Followup.patient == patient_id, Followup.status == "open", Followup.due_date.in_(list(due_days)))}
    open_recall = (Followup.select().where(Followup.patient == patient_id, Followup.status == "open",
                                           Followup.kind == "recall").order_by(Followup.id).first())
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
            if plan.kind == "recall" and open_recall is not None:
                _merge_recall(open_recall, plan)
                Followup.create(status="merged", outcome="merged", closed_at=utcnow(), **fields)
                continue
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
            if plan.kind == "recall":
                open_recall = row
            made.append(row)
        if made:
            audit.record("create", patient=patient_id, object_type="followup", actor=actor,
                         object_ref=",".join(r.code for r in made)[:40], detail={"planned": [p.key for p in plans]})
    return made


def _is_rule_recall(kind: str, event: str) -> bool:
    return kind == "recall" and event in ("recall_routine", "recall_special")


def _merge_recall(row: Followup, plan: Plan) -> None:
    """One recall per patient: fold `plan` into the open recall `row` (the rule's date and kind win)."""
    topic = row.topic if plan.topic in row.topic else f"{row.topic}; {plan.topic}"[:200]
    fields = {"topic": topic}
    if _is_rule_recall(plan.kind, plan.event) and not _is_rule_recall(row.kind, row.event):
        fields.update(event=plan.event, due_date=plan.due, rule=plan.rule,
                      rule_version=plan.rule.version if plan.rule else 0)
    Followup.update(**fields).where(Followup.id == row.id).execute()
    for key, value in fields.items():
        setattr(row, key, value)


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
    plans += _recall_plan(appt, day, active, followup_settings(config))
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
