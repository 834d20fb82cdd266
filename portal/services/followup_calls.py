"""The consultant's worklist and what a call changes: outcomes, answers, escalation to the doctor.

Best time to call (001 老人儿童避开午休，上班族建议午休回访): the patient's own preference first;
children and the elderly outside the midday rest (about 12:00–14:30); working adults at lunchtime or
in the evening. The age group is worked out from the birth date on the day of the call; the windows
and ages are the clinic's settings (followups.followup_settings).
"""
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import (Appointment, DoctorTask, Followup, FollowupCall, Patient, Staff, new_code, utcnow)
from portal.models.followup import OUTCOMES
from portal.models.people import CHANNELS, CONTACT_TIMES
from portal.services import Conflict, ServiceError
from portal.services.clock import to_local, to_utc
from portal.services.followups import FOLLOWUP_DEFAULTS, QUESTIONS, WARNING_QUESTIONS, _split, followup_settings
from portal.services.identity import age_on, default_occupation_group

GROUPS = ("child", "student", "working", "retired")


@dataclass(frozen=True)
class CallSlot:
    bucket: int       # 0 callable now, 1 later today, 2 not today
    start: datetime   # local
    end: datetime
    why: str          # "callback", "preference" or the occupation group


def parse_windows(value) -> list[tuple[time, time]]:
    """A settings value: a list of (start, end) times, or text "09:00-12:00,14:30-19:30"."""
    if not isinstance(value, str):
        return [(s, e) for s, e in (value or []) if s < e]
    found = []
    for part in _split(value):
        start, _, end = part.partition("-")
        try:
            s, e = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        except ValueError:
            continue
        if s < e:
            found.append((s, e))
    return found


def _desk_recorded(patient: Patient) -> bool:
    """Whether the stored occupation was chosen by the desk rather than defaulted from the age at
    registration (the registry stores its age default when the desk leaves the field empty)."""
    if patient.occupation_group not in ("student", "working", "retired"):
        return False
    if not patient.created_at:
        return True
    return patient.occupation_group != default_occupation_group(patient.birth_date, patient.created_at.date())


def call_group(patient: Patient, on: date | None, settings: dict | None = None) -> str:
    """The age group on the day of the call: a child until the clinic's child age, then a student
    until adulthood; for an adult the occupation the desk recorded counts, else the age decides."""
    s = settings or FOLLOWUP_DEFAULTS
    if not patient.birth_date or on is None:
        return patient.occupation_group if patient.occupation_group in GROUPS else "working"
    age = age_on(patient.birth_date, on)
    if age < int(s["child_age"]):
        return "child"
    if age < int(s["adult_age"]):
        return "student"
    if _desk_recorded(patient):
        return patient.occupation_group
    return ("student" if age < int(s["student_until_age"])
            else "working" if age < int(s["retired_from_age"]) else "retired")


def windows_for(patient: Patient, on: date | None = None, settings: dict | None = None) -> list[tuple[time, time, str]]:
    s = settings or FOLLOWUP_DEFAULTS
    own = [(a, b, "preference") for a, b in parse_windows(s.get(f"pref_{patient.preferred_time}"))]
    group = call_group(patient, on, s)
    windows = parse_windows(s.get(f"windows_{group}")) or parse_windows(FOLLOWUP_DEFAULTS[f"windows_{group}"])
    return own + [(a, b, group) for a, b in windows]


def call_slot(patient: Patient, now: datetime, callback_at: datetime | None = None,
              settings: dict | None = None) -> CallSlot:
    """When to call this person next, seen from `now` (clinic-local), on the patient's age that day."""
    if callback_at is not None:
        return CallSlot(0 if callback_at <= now else 1, callback_at, callback_at + timedelta(minutes=30), "callback")
    windows = windows_for(patient, now.date(), settings)
    for s, e, why in windows:  # the preference first: if it is open now or later today, that is the slot
        start, end = datetime.combine(now.date(), s), datetime.combine(now.date(), e)
        if start <= now < end:
            return CallSlot(0, now, end, why)
        if now < start:
            return CallSlot(1, start, end, why)
    s, e, why = windows[0]
    tomorrow = now.date() + timedelta(days=1)
    return CallSlot(2, datetime.combine(tomorrow, s), datetime.combine(tomorrow, e), why)


def worklist(today: date, now_local: datetime, config, user: Staff, assigned: str = "mine", limit: int = 300):
    """Today's and overdue calls, best time to call first. One query, whatever the size."""
    assignee = Staff.alias()
    q = (Followup.select(Followup, Patient, assignee).join(Patient).switch(Followup)
         .join(assignee, pw.JOIN.LEFT_OUTER, on=(Followup.assigned_to == assignee.id))
         .where(Followup.status == "open", Followup.kind.in_(("call", "review")), Followup.due_date <= today))
    if user.role != "manager":
        q = q.where(Patient.restricted == False)  # noqa: E712 (minimum necessary)
    if assigned == "mine":
        q = q.where(Followup.assigned_to == user.id)
    elif assigned == "none":
        q = q.where(Followup.assigned_to.is_null())
    rows = list(q.order_by(Followup.due_date, Followup.id).limit(limit))
    tz = config["PORTAL_TZ"]
    settings = followup_settings(config)
    items = []
    for f in rows:
        callback = to_local(f.next_try_at, tz) if f.next_try_at else None
        items.append((call_slot(f.patient, now_local, callback, settings), f))
    items.sort(key=lambda it: (it[0].bucket, it[0].start, it[1].due_date))
    return [{"slot": s, "f": f, "overdue": f.due_date < today} for s, f in items]


def assign(followup: Followup, consultant: Staff | None, actor: Staff) -> None:
    if consultant is not None and (consultant.role not in ("consultant", "manager") or not consultant.active):
        raise ServiceError(_l("Choose a consultant."), field="consultant")
    with unit_of_work():
        Followup.update(assigned_to=consultant).where(Followup.id == followup.id).execute()
        audit.record("update", patient=followup.patient_id, object_type="followup", object_ref=followup.code,
                     actor=actor, detail={"assigned_to": consultant.username if consultant else None})


@dataclass
class CallResult:
    followup: Followup
    call: FollowupCall
    warnings: list[str]
    task: DoctorTask | None = None
    offer_earlier_visit: bool = False
    message_ids: tuple = ()


def clean_answers(followup: Followup, raw: dict) -> dict:
    answers = {}
    for key in _split(followup.questions):
        value = raw.get(key)
        if value in (None, ""):
            continue
        scale = QUESTIONS[key][1] if key in QUESTIONS else "yesno"
        if scale == "scale":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ServiceError(_l("Answer on a scale from 0 to 10."), field=key) from None
            if not 0 <= number <= 10:
                raise ServiceError(_l("Answer on a scale from 0 to 10."), field=key)
            answers[key] = number
        elif value in ("yes", "no"):
            answers[key] = value
        else:
            raise ServiceError(_l("Answer yes or no."), field=key)
    return answers


def warning_signs(answers: dict, config) -> list[str]:
    limit = int(followup_settings(config)["warning_score"])
    found = []
    for key in WARNING_QUESTIONS:
        value = answers.get(key)
        if (isinstance(value, int) and value >= limit) or value == "yes":
            found.append(key)
    return found


def record_call(followup: Followup, actor: Staff, outcome: str, config, answers: dict | None = None,
                notes: str = "", preferred_channel: str = "", preferred_time: str = "",
                callback_at: datetime | None = None, now: datetime | None = None,
                seen_calls: int | None = None) -> CallResult:
    """Record one call attempt and apply what follows from it (see docs/rules.md, "Follow-up calls").

    Decided on the follow-up as the consultant saw it (`followup` as loaded, and `seen_calls`, the
    calls their page listed): the follow-up moves on with one conditional update on its status,
    attempts, outcome and call-back time, so of two clicks or two consultants exactly one call is
    recorded; the other gets Conflict naming who recorded it and when, and nothing is written."""
    from portal.notify import outbox
    tz = config["PORTAL_TZ"]
    if followup.status != "open":
        raise _moved_on(followup, tz)
    if outcome not in OUTCOMES:
        raise ServiceError(_l("Choose how the call went."), field="outcome")
    if preferred_channel and preferred_channel not in CHANNELS:
        raise ServiceError(_l("Choose a contact method."), field="preferred_channel")
    if preferred_time and preferred_time not in CONTACT_TIMES:
        raise ServiceError(_l("Choose a time of day."), field="preferred_time")
    answers = clean_answers(followup, answers or {}) if outcome == "reached" else {}
    now = now or utcnow()
    tz = config["PORTAL_TZ"]
    today = to_local(now, tz).date()
    warnings = warning_signs(answers, config)
    patient = followup.patient
    result_ids, task, earlier = [], None, False
    with unit_of_work():
        fields = {"outcome": outcome}
        if outcome == "no_answer":
            fields["attempts"] = followup.attempts + 1
            if fields["attempts"] >= int(followup_settings(config)["max_attempts"]):
                fields.update(status="unreached", closed_at=now)
                result_ids.append(outbox.queue(patient, "followup_unreached", now, f"followup:{followup.id}:unreached",
                                               config))
            else:
                fields.update(due_date=today + timedelta(days=1), next_try_at=None)
        elif outcome == "call_back":
            when = callback_at or to_local(now, tz) + timedelta(hours=2)
            fields.update(due_date=when.date(), next_try_at=to_utc(when, tz))
        else:
            fields.update(status="done", closed_at=now)
        seen = ((Followup.id == followup.id) & (Followup.status == "open") & (Followup.attempts == followup.attempts)
                & (Followup.outcome == followup.outcome)
                & (Followup.next_try_at.is_null() if followup.next_try_at is None
                   else Followup.next_try_at == followup.next_try_at))
        if Followup.update(**fields).where(seen).execute() != 1:  # another click or consultant was first
            raise _moved_on(followup, tz)
        if seen_calls is not None and FollowupCall.select().where(FollowupCall.followup == followup.id).count() != seen_calls:
            raise _moved_on(followup, tz)  # a call recorded after this page was loaded (a second click)
        call = FollowupCall.create(followup=followup, at=now, by=actor, outcome=outcome, notes=(notes or "").strip()[:2000],
                                   answers=json.dumps(answers, ensure_ascii=False), warning=bool(warnings))
        changes = {k: v for k, v in (("preferred_channel", preferred_channel), ("preferred_time", preferred_time))
                   if v and getattr(patient, k) != v}
        if changes:
            Patient.update(updated_at=now, **changes).where(Patient.id == patient.id).execute()
        audit.record("update", patient=patient, object_type="followup", object_ref=followup.code, actor=actor,
                     detail={"outcome": outcome, "answers": answers, "warnings": warnings, "contact": changes})
        if followup.event == "emergency" and answers.get("relieved") == "yes":
            _stop_calls_until_next_visit(followup, today, now)
        elif followup.event == "emergency" and answers.get("relieved") == "no":
            earlier = True
            _call_again(followup, today + timedelta(days=1), actor)
        if warnings:
            task, ids = escalate(followup, warnings, actor, config, now)
            result_ids += ids
            earlier = True
    outbox.dispatch([i for i in result_ids if i])
    return CallResult(Followup.get_by_id(followup.id), call, warnings, task, earlier, tuple(i for i in result_ids if i))


def _moved_on(followup: Followup, tz: str) -> Conflict:
    """What the loser of a race or a double click is told: closed, or a call recorded — by whom, when."""
    from portal.services.moved_on import when_text
    current = Followup.get_by_id(followup.id)
    last = (FollowupCall.select(FollowupCall, Staff).join(Staff, pw.JOIN.LEFT_OUTER, on=(FollowupCall.by == Staff.id))
            .where(FollowupCall.followup == followup.id).order_by(FollowupCall.id.desc()).first())
    closed = current.status != "open"
    if last is None or (closed and last.at != current.closed_at):  # closed without a call (a rule, a manager)
        return Conflict(_l("This follow-up is already closed.") if closed
                        else _l("Someone else changed this follow-up just now. Reload it."))
    who = last.by.display_name if last.by_id else str(_l("someone else"))
    when = when_text(last.at, tz)
    if closed:
        return Conflict(_l("This follow-up was already closed by %(who)s at %(when)s.", who=who, when=when))
    return Conflict(_l("A call was already recorded by %(who)s at %(when)s.", who=who, when=when))


def _stop_calls_until_next_visit(followup: Followup, today: date, now: datetime) -> int:
    """Relieved emergency patient: no further call before the next visit (recalls stay)."""
    next_visit = (Appointment.select(pw.fn.MIN(Appointment.start_at))
                  .where(Appointment.patient == followup.patient_id, Appointment.status == "booked",
                         Appointment.start_at >= now).scalar())
    q = Followup.update(status="cancelled", outcome="relieved", closed_at=now).where(
        Followup.patient == followup.patient_id, Followup.status == "open", Followup.kind != "recall",
        Followup.id != followup.id)
    if next_visit is not None:
        q = q.where(Followup.due_date < next_visit.date())
    return q.execute()


def _call_again(followup: Followup, due: date, actor: Staff) -> None:
    key = f"fu:{followup.id}:again"
    if Followup.select().where(Followup.source_key == key).exists():
        return
    Followup.create(code=new_code(), patient=followup.patient_id, doctor=followup.doctor_id,
                    appointment=followup.appointment_id, rule=followup.rule_id, rule_version=followup.rule_version,
                    event=followup.event, kind="call", topic=followup.topic, questions=followup.questions,
                    due_date=due, source_key=key, assigned_to=followup.assigned_to_id)


def escalate(followup: Followup, warnings: list[str], actor: Staff, config, now: datetime):
    """Warning signs: an urgent task for the treating doctor, a message to them, and an earlier visit offered."""
    from portal.notify import outbox
    patient = followup.patient
    doctor_id = followup.doctor_id or patient.attending_doctor_id
    reason = ",".join(warnings)  # question keys, shown in the reader's words (portal.labels.keys_text)
    task = DoctorTask.create(code=new_code(), patient=patient, doctor=doctor_id, followup=followup,
                             reason=reason[:200], created_by=actor, created_at=now)
    audit.record("create", patient=patient, object_type="escalation", object_ref=task.code, actor=actor,
                 detail={"warnings": warnings, "doctor": doctor_id, "followup": followup.code})
    ids = []
    if doctor_id:
        ids.append(outbox.queue_staff(Staff.get_by_id(doctor_id), "urgent_task", now, f"task:{task.id}:doctor", config,
                                      patient=patient))
    return task, ids


def open_tasks(doctor: Staff | None = None, limit: int = 50) -> list[DoctorTask]:
    """Open urgent tasks (a doctor's own, or all for the manager), with the patient: one query."""
    q = (DoctorTask.select(DoctorTask, Patient).join(Patient).where(DoctorTask.status == "open")
         .order_by(DoctorTask.created_at.desc()).limit(limit))
    return list(q.where(DoctorTask.doctor == doctor.id) if doctor is not None else q)


def handle_task(task: DoctorTask, actor: Staff, handling: str, config=None) -> None:
    """Done once: decided by a conditional update inside the unit of work; a second "done" (another
    doctor, a second click) is refused, naming who handled it and when."""
    from portal.services.moved_on import who_when
    handling = (handling or "").strip()
    if not handling:
        raise ServiceError(_l("Say what was done."), field="handling")
    with unit_of_work():
        won = DoctorTask.update(status="handled", handled_at=utcnow(), handled_by=actor, handling=handling[:300]).where(
            DoctorTask.id == task.id, DoctorTask.status == "open").execute()
        if won != 1:
            done = DoctorTask.get_by_id(task.id)
            raise Conflict(_l("This task was already handled by %(who)s at %(time)s.",
                              **who_when(done.handled_by_id, done.handled_at, config)))
        audit.record("update", patient=task.patient_id, object_type="escalation", object_ref=task.code, actor=actor,
                     detail={"handled": handling[:300]})


def calls_of(followup: Followup) -> list[FollowupCall]:
    by = Staff.alias()
    return list(FollowupCall.select(FollowupCall, by).join(by, pw.JOIN.LEFT_OUTER, on=(FollowupCall.by == by.id))
                .where(FollowupCall.followup == followup).order_by(FollowupCall.at))
