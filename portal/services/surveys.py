"""Satisfaction surveys: after visits and after complaints; a short set of questions (1–5 each)
that the manager can change; answered by phone (entered by staff), on a tablet at the desk, or —
later — on the patient's own link (`answer(..., channel="link", actor=None)`)."""
from datetime import date, timedelta

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Patient, Procedure, Staff, Survey, SurveyAnswer, SurveyQuestion, new_code, utcnow
from portal.models.followup import SURVEY_CHANNELS
from portal.services import ServiceError
from portal.services.clock import to_local

DEFAULT_QUESTIONS = [
    ("医生是否把治疗讲清楚了？", "Did the doctor explain the treatment clearly?"),
    ("您对治疗效果满意吗？", "Are you satisfied with the result of the treatment?"),
    ("前台和护士的服务态度如何？", "How friendly were the front desk and the nurses?"),
    ("候诊时间是否合理？", "Was the waiting time reasonable?"),
    ("您愿意向亲友推荐我们吗？", "Would you recommend us to family and friends?"),
]


def ensure_default_questions() -> None:
    if SurveyQuestion.select().exists():
        return
    with unit_of_work():
        for i, (zh, en) in enumerate(DEFAULT_QUESTIONS, 1):
            SurveyQuestion.create(position=i, text_zh=zh, text_en=en)


def questions(active_only: bool = True) -> list[SurveyQuestion]:
    ensure_default_questions()
    q = SurveyQuestion.select().order_by(SurveyQuestion.position, SurveyQuestion.id)
    return list(q.where(SurveyQuestion.active == True) if active_only else q)  # noqa: E712


def save_question(actor: Staff, text_zh: str, text_en: str, position: int, active: bool = True,
                  question: SurveyQuestion | None = None) -> SurveyQuestion:
    text_zh, text_en = (text_zh or "").strip(), (text_en or "").strip()
    if not text_zh or not text_en:
        raise ServiceError(_l("Write the question in Chinese and in English."), field="text_zh")
    with unit_of_work():
        if question is None:
            question = SurveyQuestion.create(position=position, text_zh=text_zh[:120], text_en=text_en[:160], active=active)
        else:  # answers keep the wording they were given with
            SurveyQuestion.update(position=position, text_zh=text_zh[:120], text_en=text_en[:160], active=active).where(
                SurveyQuestion.id == question.id).execute()
        audit.record("update", object_type="survey_question", object_ref=question.id, actor=actor,
                     detail={"zh": text_zh, "en": text_en, "active": active})
    return question


def _plan(patient_id: int, source: str, key: str, due: date, **links) -> Survey | None:
    if Survey.select().where(Survey.source_key == key).exists():
        return None
    return Survey.create(code=new_code(), patient=patient_id, source=source, source_key=key, due_date=due, **links)


def plan_after_visit(appt, procedure: Procedure | None, day: date) -> Survey | None:
    return _plan(appt.patient_id, "visit", f"appt:{appt.id}", day + timedelta(days=1), doctor=appt.doctor_id,
                 appointment=appt.id, procedure=procedure)


def plan_after_complaint(complaint, day: date) -> Survey | None:
    return _plan(complaint.patient_id, "complaint", f"complaint:{complaint.id}", day + timedelta(days=1),
                 doctor=complaint.doctor_id, complaint=complaint.id)


def pending(today: date, limit: int = 100) -> list[Survey]:
    return list(Survey.select(Survey, Patient).join(Patient)
                .where(Survey.status == "pending", Survey.due_date <= today, Patient.restricted == False)  # noqa: E712
                .order_by(Survey.due_date, Survey.id).limit(limit))


def answer(survey: Survey, values: dict, channel: str, config, actor: Staff | None = None,
           comment: str = "") -> Survey:
    """Record answers {question id: 1–5}. The score is the mean scaled to 0–100."""
    if survey.status != "pending":
        raise ServiceError(_l("This survey has already been answered."))
    if channel not in SURVEY_CHANNELS:
        raise ServiceError(_l("Choose how the answers were given."), field="channel")
    asked = questions()
    scores = {}
    for q in asked:
        raw = values.get(q.id, values.get(str(q.id)))
        if raw in (None, ""):
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ServiceError(_l("Answer each question from 1 to 5."), field=f"q{q.id}") from None
        if not 1 <= value <= 5:
            raise ServiceError(_l("Answer each question from 1 to 5."), field=f"q{q.id}")
        scores[q] = value
    if not scores:
        raise ServiceError(_l("Answer at least one question."))
    now = utcnow()
    score = round((sum(scores.values()) / len(scores) - 1) * 25)
    month = to_local(now, config["PORTAL_TZ"]).strftime("%Y-%m")
    with unit_of_work():
        rows = Survey.update(status="answered", channel=channel, score=score, month=month, answered_at=now,
                             entered_by=actor, comment=(comment or "").strip()[:2000]).where(
            Survey.id == survey.id, Survey.status == "pending").execute()
        if rows != 1:
            raise ServiceError(_l("This survey has already been answered."))
        for q, value in scores.items():
            SurveyAnswer.create(survey=survey, question=q, question_text=q.text_en if config.get(
                "PORTAL_LOCALE") == "en" else q.text_zh, value=value)
        audit.record("update", patient=survey.patient_id, object_type="survey", object_ref=survey.code, actor=actor,
                     actor_label=None if actor else "patient link", detail={"channel": channel, "score": score})
    return Survey.get_by_id(survey.id)


def results(by: str, months: int = 6, today: date | None = None) -> list[dict]:
    """Mean score and count per doctor, per procedure or per month (one grouped query)."""
    today = today or date.today()
    first = (today.replace(day=1) - timedelta(days=31 * (months - 1))).strftime("%Y-%m")
    base = Survey.status == "answered"
    score, n = pw.fn.AVG(Survey.score).alias("score"), pw.fn.COUNT(Survey.id).alias("n")
    if by == "doctor":
        q = (Survey.select(Staff.display_name.alias("label"), score, n).join(Staff, on=(Survey.doctor == Staff.id))
             .where(base, Survey.month >= first).group_by(Staff.id, Staff.display_name))
    elif by == "procedure":
        q = (Survey.select(Procedure.name_zh.alias("label"), score, n).join(Procedure, on=(Survey.procedure == Procedure.id))
             .where(base, Survey.month >= first).group_by(Procedure.id, Procedure.name_zh))
    else:
        q = Survey.select(Survey.month.alias("label"), score, n).where(base, Survey.month >= first).group_by(Survey.month)
    return sorted(({"label": r.label, "score": round(float(r.score or 0)), "n": r.n} for r in q.objects()),
                  key=lambda r: r["label"], reverse=(by == "month"))


# --- the desk tablet (kiosk mode) ----------------------------------------------------------
# A staff member hands the tablet to the patient: the screen then shows only that survey; every
# staff page leads back to it, and leaving needs the staff member's password (throttled like a
# sign-in, so the patient cannot guess it). Starting and leaving are audited.

def start_kiosk(survey: Survey, actor: Staff) -> None:
    if survey.status != "pending":
        raise ServiceError(_l("This survey has already been answered."))
    with unit_of_work():
        audit.record("update", patient=survey.patient_id, object_type="kiosk", object_ref=survey.code, actor=actor,
                     detail={"kiosk": "start"})


def leave_kiosk(actor: Staff, password: str, ip: str, config, survey_code: str = "") -> None:
    """Check the password of the staff member signed in on the tablet; ServiceError if wrong."""
    from portal.services.auth import authenticate
    if not (password or ""):
        raise ServiceError(_l("Enter your password to unlock the tablet."), field="password")
    try:
        staff = authenticate(actor.username, password, ip, config)
    except ServiceError:
        raise ServiceError(_l("Wrong password: the tablet stays locked."), field="password") from None
    if staff.id != actor.id:  # cannot happen (same user name); kept as a guard
        raise ServiceError(_l("Wrong password: the tablet stays locked."), field="password")
    with unit_of_work():
        audit.record("update", object_type="kiosk", object_ref=survey_code or "-", actor=actor,
                     detail={"kiosk": "leave"})
