"""The procedure catalogue (managed by the manager) and chair-side protocol runs."""
import json
import re
from dataclasses import dataclass, field

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import (Patient, PatientTag, Procedure, ProtocolStep, Staff, StepTick, Tag, Visit,
                           VisitProcedure, new_code, utcnow)
from portal.models.chart import DEPARTMENTS
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when
from portal.services.chart_teeth import valid_tooth


@dataclass
class ProcedureData:
    code: str
    name_zh: str
    name_en: str
    department: str
    duration_minutes: int
    price_fen: int
    instructions_adult: str = ""
    instructions_child: str = ""
    followup_rules: list = field(default_factory=list)
    steps: list = field(default_factory=list)  # [(text_zh, text_en)] in order
    active: bool = True


def parse_steps(text: str) -> list[tuple[str, str]]:
    """One step per line, "中文 | English" (either half may be left out)."""
    steps = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*\d+[.)、]\s*", "", line).strip()
        if not line:
            continue
        zh, _, en = line.partition("|")
        zh, en = zh.strip(), en.strip()
        steps.append(((zh or en)[:200], (en or zh)[:200]))
    return steps


# --- after-care follow-ups, edited as rows (issue 13) ---------------------------------------------
# A procedure's own follow-ups are chosen from known words (kind, topic, questions, stage), each
# shown in the manager's language; they are stored as the JSON list follow-up planning reads.
AFTERCARE_BLANK_ROWS = 2
AFTERCARE_MAX_ROWS = 12


def aftercare_rows(rules_json: str | list, blank: int = AFTERCARE_BLANK_ROWS) -> list[dict]:
    """The procedure's follow-ups as form rows (plus blank rows to add more)."""
    try:
        rules = json.loads(rules_json or "[]") if isinstance(rules_json, str) else list(rules_json or [])
    except ValueError:
        rules = []
    rows = []
    for item in rules if isinstance(rules, list) else []:
        if not isinstance(item, dict):
            continue
        months = str(item.get("after_months", ""))
        rows.append({"after": item.get("after_months") if months.isdigit() else item.get("after_days", ""),
                     "unit": "months" if months.isdigit() else "days", "kind": item.get("kind", "call"),
                     "topic": str(item.get("topic", "")), "stage": item.get("stage", ""),
                     "questions": [q.strip() for q in str(item.get("questions", "")).split(",") if q.strip()]})
    return rows + [{"after": "", "unit": "days", "kind": "call", "topic": "", "stage": "", "questions": []}
                   for _ in range(blank)]


def aftercare_from_form(form) -> list[dict]:
    """Rows posted as fu-<n>-after / -unit / -kind / -topic / -stage / -questions back into rules;
    a row without a number is left out."""
    from portal.models.followup import KINDS
    from portal.services.followups import QUESTIONS, STAGES
    rules = []
    for n in range(AFTERCARE_MAX_ROWS):
        after = (form.get(f"fu-{n}-after") or "").strip()
        if not after:
            continue
        if not after.isdigit() or int(after) > 1100:
            raise ServiceError(_l("After-care: the time after the procedure is a whole number up to 1100."),
                               field="followup_rules")
        kind = form.get(f"fu-{n}-kind") or "call"
        if kind not in KINDS:
            raise ServiceError(_l("After-care: choose the kind of follow-up."), field="followup_rules")
        unknown = [q for q in form.getlist(f"fu-{n}-questions") if q not in QUESTIONS]
        if unknown:
            raise ServiceError(_l("Unknown questions: %(q)s.", q=", ".join(unknown)), field="followup_rules")
        rule = {"after_months" if form.get(f"fu-{n}-unit") == "months" else "after_days": int(after), "kind": kind}
        topic = (form.get(f"fu-{n}-topic") or "").strip()[:120]
        if topic:
            rule["topic"] = topic
        questions = ",".join(form.getlist(f"fu-{n}-questions"))
        if questions:
            rule["questions"] = questions
        if form.get(f"fu-{n}-stage") in STAGES:
            rule["stage"] = form.get(f"fu-{n}-stage")
        rules.append(rule)
    return rules


def format_steps(procedure: Procedure) -> str:
    return "\n".join(f"{s.text_zh} | {s.text_en}" for s in procedure.steps.order_by(ProtocolStep.position))


def _clean(data: ProcedureData, existing: Procedure | None) -> dict:
    code = (data.code or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,19}", code):
        raise ServiceError(_l("A code has 2 to 20 letters, digits or dashes, such as PER-SC."), field="code")
    clash = Procedure.select().where(Procedure.code == code)
    if existing is not None:
        clash = clash.where(Procedure.id != existing.id)
    if clash.exists():
        raise ServiceError(_l("Another procedure already has this code."), field="code")
    if not (data.name_zh or "").strip() or not (data.name_en or "").strip():
        raise ServiceError(_l("Give the procedure a Chinese and an English name."), field="name_zh")
    if data.department not in DEPARTMENTS:
        raise ServiceError(_l("Choose a department."), field="department")
    if not isinstance(data.duration_minutes, int) or not 5 <= data.duration_minutes <= 480:
        raise ServiceError(_l("The duration is 5 to 480 minutes."), field="duration_minutes")
    if not isinstance(data.price_fen, int) or data.price_fen < 0:
        raise ServiceError(_l("The price cannot be negative."), field="price")
    return {"code": code, "name_zh": data.name_zh.strip()[:60], "name_en": data.name_en.strip()[:80],
            "department": data.department, "duration_minutes": data.duration_minutes,
            "price_fen": data.price_fen, "instructions_adult": (data.instructions_adult or "").strip(),
            "instructions_child": (data.instructions_child or "").strip(),
            "followup_rules": json.dumps(data.followup_rules or [], ensure_ascii=False), "active": data.active}


def save_procedure(data: ProcedureData, actor: Staff | None, existing: Procedure | None = None) -> Procedure:
    """Create or change a procedure and replace its protocol. Runs already started keep the steps
    they copied, so changing the protocol never rewrites what was ticked."""
    values = _clean(data, existing)
    with unit_of_work():
        if existing is None:
            proc = Procedure.create(**values)
        else:
            proc = existing
            for key, value in values.items():
                setattr(proc, key, value)
            proc.updated_at = utcnow()
            proc.save()
            ProtocolStep.delete().where(ProtocolStep.procedure == proc).execute()
        for position, (zh, en) in enumerate(data.steps, start=1):
            ProtocolStep.create(procedure=proc, position=position, text_zh=zh, text_en=en)
        audit.record("create" if existing is None else "update", object_type="procedure", object_ref=proc.code,
                     actor=actor, actor_label=None if actor else "system", detail={"steps": len(data.steps)})
    return proc


def catalogue(active_only: bool = False) -> list[Procedure]:
    query = Procedure.select().order_by(Procedure.department, Procedure.code)
    if active_only:
        query = query.where(Procedure.active == True)  # noqa: E712
    return list(query)


def step_counts() -> dict[int, int]:
    """procedure id -> number of protocol steps, in one query."""
    return dict(ProtocolStep.select(ProtocolStep.procedure, pw.fn.COUNT(ProtocolStep.id))
                .group_by(ProtocolStep.procedure).tuples())


# --- alerts and protocol runs ---------------------------------------------------------------

def alerts(patient: Patient) -> list[str]:
    """What the nurse and doctor must see before a procedure starts (DOMAIN.md)."""
    found = [f"⚠ {t.name}" for t in Tag.select().join(PatientTag)
             .where(PatientTag.patient == patient, Tag.clinical_alert == True)]  # noqa: E712
    if patient.allergies.strip():
        found.append(str(_l("Allergies: %(a)s", a=patient.allergies.strip())))
    if patient.medical_alerts.strip():
        found.append(str(_l("Medical alerts: %(a)s", a=patient.medical_alerts.strip())))
    return found


def start(visit: Visit, procedure: Procedure, actor: Staff, tooth=None, alerts_seen: bool = False) -> VisitProcedure:
    if visit.status == "signed":
        raise ServiceError(_l("This visit is signed and locked."))
    if not procedure.active:
        raise ServiceError(_l("This procedure is no longer offered."), field="procedure")
    tooth = valid_tooth(tooth) if tooth not in (None, "") else None
    if alerts(visit.patient) and not alerts_seen:
        raise ServiceError(_l("Read the patient's alerts and confirm before starting."), field="alerts_seen")
    steps = list(procedure.steps.order_by(ProtocolStep.position))
    with unit_of_work():
        run = VisitProcedure.create(code=new_code(), visit=visit, procedure=procedure, tooth=tooth, started_by=actor,
                                    alerts_seen_by=actor if alerts_seen else None,
                                    status="in_progress" if steps else "completed",
                                    completed_at=None if steps else utcnow())
        for s in steps:
            StepTick.create(run=run, position=s.position, text_zh=s.text_zh, text_en=s.text_en)
        audit.record("create", patient=visit.patient_id, object_type="protocol", object_ref=run.code, actor=actor,
                     detail={"procedure": procedure.code, "steps": len(steps)})
    return run


def tick(run: VisitProcedure, position: int, actor: Staff, skip_reason: str | None = None) -> StepTick:
    """Mark a step done (or skipped, which needs a reason). Steps may be ticked in any order, once:
    decided on the step as it is inside the transaction (the visit row locked first, as signing
    does), so of two ticks of one step the second is told who ticked it and when."""
    skipping = skip_reason is not None
    reason = (skip_reason or "").strip()[:200]
    with unit_of_work():
        visit = locked(Visit, run.visit_id)
        if visit is None or visit.status == "signed":
            raise ServiceError(_l("This visit is signed and locked."))
        found = StepTick.get_or_none(StepTick.run == run.id, StepTick.position == position)
        if found is None:
            raise ServiceError(_l("This protocol has no step %(n)s.", n=position))
        step = locked(StepTick, found.id)
        if step.state != "pending":
            raise _already_ticked(step)
        if skipping and not reason:
            raise ServiceError(_l("Say why step %(n)d is skipped.", n=position), field="reason")
        now = utcnow()
        rows = (StepTick.update(state="skipped" if skipping else "done", by=actor, at=now, skip_reason=reason)
                .where(StepTick.id == step.id, StepTick.state == "pending").execute())
        if rows != 1:  # cannot happen behind the lock; kept as the last line of defence
            raise _already_ticked(StepTick.get_by_id(step.id))
        if not StepTick.select().where(StepTick.run == run.id, StepTick.state == "pending").exists():
            VisitProcedure.update(status="completed", completed_at=now).where(VisitProcedure.id == run.id).execute()
        audit.record("update", patient=visit.patient_id, object_type="protocol", object_ref=run.code,
                     actor=actor, detail={"step": position, "skipped": skipping})
    return StepTick.get_by_id(step.id)


def _already_ticked(step: StepTick) -> Conflict:
    if step.state == "skipped":
        return Conflict(_l("Step %(n)d was already skipped by %(who)s at %(time)s.", n=step.position,
                           **who_when(step.by_id, step.at)))
    return Conflict(_l("Step %(n)d was already ticked by %(who)s at %(time)s.", n=step.position,
                       **who_when(step.by_id, step.at)))


def runs_of(visit: Visit) -> list[tuple[VisitProcedure, list[StepTick]]]:
    """The visit's protocol runs with their steps, in two queries."""
    runs = list(VisitProcedure.select(VisitProcedure, Procedure).join(Procedure)
                .where(VisitProcedure.visit == visit).order_by(VisitProcedure.id))
    ticks: dict[int, list[StepTick]] = {r.id: [] for r in runs}
    if runs:
        for t in (StepTick.select(StepTick, Staff).join(Staff, pw.JOIN.LEFT_OUTER, on=(StepTick.by == Staff.id))
                  .where(StepTick.run.in_([r.id for r in runs])).order_by(StepTick.run, StepTick.position)):
            ticks[t.run_id].append(t)
    return [(r, ticks[r.id]) for r in runs]


def completion(steps: list[StepTick]) -> tuple[int, int]:
    return sum(1 for s in steps if s.state != "pending"), len(steps)
