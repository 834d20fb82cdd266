"""Demo follow-ups: calls due today and overdue, an escalation, recalls with a compliance history,
complaints at different stages, and answered satisfaction surveys. Runs after the schedule seeding
(whose completed visits already planned their follow-ups through the real hook)."""
import random
from datetime import date, timedelta

from portal.db import unit_of_work
from portal.models import Appointment, Complaint, Followup, Patient, Staff, Survey, utcnow
from portal.services import articles, complaints, followups, surveys
from portal.services import followup_calls as calls
from portal.services.clock import to_local, to_utc
from portal.services.followups import Plan


def _backdate_calls(config, today: date) -> None:
    """Follow-ups planned when the demo completed past visits: due as if planned on the visit's day."""
    tz = config["PORTAL_TZ"]
    rows = (Followup.select(Followup, Appointment).join(Appointment, on=(Followup.appointment == Appointment.id))
            .where(Followup.status == "open", Followup.kind != "recall"))
    with unit_of_work():
        for f in rows:
            visit_day = to_local(f.appointment.start_at, tz).date()
            shift = (today - visit_day).days
            if shift > 0:
                Followup.update(due_date=f.due_date - timedelta(days=shift)).where(Followup.id == f.id).execute()


def _recalls(rng: random.Random, patients: list[Patient], doctor: Staff, today: date) -> None:
    plans = []
    for i, p in enumerate(patients):
        due = today - timedelta(days=rng.randint(-12, 170))
        event = rng.choice(["recall_routine", "recall_routine", "recall_special"])
        plans.append((p, Plan(f"demo-recall:{p.id}", event, "recall", "定期复查", "", due)))
    for p, plan in plans:
        made = followups.create_plans(p.id, p.attending_doctor_id or doctor.id, [plan])
        if made and plan.due < today - timedelta(days=20) and rng.random() < 0.6:
            Followup.update(status="done", outcome="visited", closed_at=utcnow()).where(Followup.id == made[0].id).execute()


def _complaints(config, staff: dict, patients: list[Patient], today: date) -> None:
    tz = config["PORTAL_TZ"]
    cases = [("phone", "attitude", "minor", "前台接待时态度冷淡，等候二十分钟无人解释。", 3, "reply"),
             ("wechat", "clinical", "medium", "补牙后一周咬东西仍然疼，希望医生再看看。", 6, "resolve"),
             ("in_person", "process", "minor", "预约短信时间与实际安排不一致。", 1, None),
             ("online", "process", "severe", "收费明细不清楚，要求解释。", 12, "close")]
    for (channel, category, severity, text, days_ago, stage), patient in zip(cases, patients):
        received = to_utc(to_local(utcnow(), tz) - timedelta(days=days_ago, hours=2), tz)
        c = complaints.receive(complaints.ComplaintData(channel, category, severity, text, patient=patient,
                                                        doctor=staff["doctor"], owner=staff["consultant"]),
                               staff["frontdesk"], config, received_at=received)
        if stage in ("reply", "resolve", "close"):
            complaints.add_action(c, staff["consultant"], "reply", "已电话致歉并说明情况。", now=received + timedelta(hours=5))
        if stage in ("resolve", "close"):
            complaints.add_action(Complaint.get_by_id(c.id), staff["consultant"], "resolve", "已安排复诊检查并调整流程。")
        if stage == "close":
            complaints.close(Complaint.get_by_id(c.id), staff["consultant"], "电话告知", config)


def _surveys(config, rng: random.Random, staff: dict) -> None:
    qs = surveys.questions()
    pending = list(Survey.select().where(Survey.status == "pending").order_by(Survey.id))
    for s in pending[: max(0, len(pending) - 4)]:
        surveys.answer(s, {q.id: rng.choice([3, 4, 4, 5, 5, 5]) for q in qs}, rng.choice(["phone", "desk"]), config,
                       actor=staff["consultant"])
    for s in Survey.select().where(Survey.status == "pending"):
        Survey.update(due_date=s.due_date - timedelta(days=1)).where(Survey.id == s.id).execute()


def seed_followups(config, staff_list: list[Staff], today: date, rng: random.Random | None = None) -> str:
    if Followup.select().where(Followup.source_key.startswith("demo-")).exists():
        return "follow-ups already seeded"
    rng = rng or random.Random(2026)
    staff = {s.role: s for s in staff_list if s.username == s.role}  # the demo logins (not doctor2)
    followups.ensure_default_rules()
    surveys.ensure_default_questions()
    articles.ensure_articles()
    _backdate_calls(config, today)
    patients = list(Patient.select().where(Patient.restricted == False).order_by(Patient.id).limit(80))  # noqa: E712
    _recalls(rng, patients[40:70], staff["doctor"], today)
    _complaints(config, staff, patients[70:74], today)
    # One call today already found warning signs: the doctor sees the urgent task on their day.
    due = [f for f in Followup.select().where(Followup.status == "open", Followup.kind == "call",
                                              Followup.due_date <= today).order_by(Followup.id)]
    if due:
        Followup.update(doctor=staff["doctor"]).where(Followup.id == due[0].id).execute()
        calls.record_call(Followup.get_by_id(due[0].id), staff["consultant"], "reached", config,
                          answers={"swelling": "8", "pain": "6"}, notes="右侧面部肿胀，夜间加重。")
    _surveys(config, rng, staff)
    return f"{Followup.select().count()} follow-ups, {Complaint.select().count()} complaints"
