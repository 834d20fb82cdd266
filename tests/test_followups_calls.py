"""Call windows, outcomes, the no-answer fallback, emergency relief and escalation to the doctor."""
from datetime import date, datetime, time, timedelta

import pytest

from portal.models import AuditEvent, DoctorTask, Followup, FollowupCall, OutboxMessage, Patient
from portal.services import ServiceError
from portal.services import followup_calls as calls
from tests.followup_helpers import complete_visit, local_today

NOON = datetime(2026, 3, 4, 12, 15)
MORNING = datetime(2026, 3, 4, 10, 0)


def _p(group, pref="any"):
    return Patient(occupation_group=group, preferred_time=pref)


@pytest.mark.parametrize("patient, now, bucket, start", [
    (_p("working"), NOON, 0, NOON),                                  # lunchtime: call a working adult now
    (_p("retired"), NOON, 1, datetime(2026, 3, 4, 14, 30)),          # not in the midday rest
    (_p("child"), datetime(2026, 3, 4, 13, 0), 1, datetime(2026, 3, 4, 14, 30)),
    (_p("working"), MORNING, 1, datetime(2026, 3, 4, 12, 0)),
    (_p("retired", "evening"), MORNING, 1, datetime(2026, 3, 4, 18, 0)),  # their own preference first
    (_p("working"), datetime(2026, 3, 4, 20, 30), 2, datetime(2026, 3, 5, 12, 0)),
])
def test_best_time_to_call(patient, now, bucket, start):
    slot = calls.call_slot(patient, now)
    assert (slot.bucket, slot.start) == (bucket, start)


def test_midday_rest_is_never_offered_to_children_or_the_elderly():
    for group in ("child", "retired"):
        for s, e, _ in calls.windows_for(_p(group)):
            assert e <= time(12) or s >= time(14, 30), (group, s, e)


def _due_call(app, staff, patient, kind="first"):
    complete_visit(app, staff, patient, kind)
    f = Followup.get(Followup.patient == patient, Followup.kind == "call")
    Followup.update(due_date=local_today(app)).where(Followup.id == f.id).execute()
    return Followup.get_by_id(f.id)


def test_worklist_orders_by_best_time_and_shows_overdue(app, staff, make_patient):
    worker = make_patient(name="上班", birth_date=date(1990, 1, 1))
    elder = make_patient(name="老人", birth_date=date(1940, 1, 1))
    pref = make_patient(name="晚上", birth_date=date(1940, 2, 2), preferred_time="evening")
    with app.app_context():
        for p in (elder, pref, worker):
            _due_call(app, staff, p)
        today = local_today(app)
        Followup.update(due_date=today - timedelta(days=3)).where(Followup.patient == pref).execute()
        at_noon = datetime.combine(today, time(12, 10))
        items = calls.worklist(today, at_noon, app.config, staff["consultant"], assigned="all")
    assert [i["f"].patient.name for i in items] == ["上班", "老人", "晚上"]
    assert [i["overdue"] for i in items] == [False, False, True]


def test_worklist_filters_by_consultant_and_hides_restricted(app, staff, make_patient):
    a, b = make_patient(name="甲"), make_patient(name="乙")
    with app.app_context():
        fa, fb = _due_call(app, staff, a), _due_call(app, staff, b)
        calls.assign(fb, staff["manager"], staff["manager"])
        Patient.update(restricted=True).where(Patient.id == a.id).execute()
        now = datetime.combine(local_today(app), time(10))
        mine = calls.worklist(local_today(app), now, app.config, staff["consultant"], assigned="mine")
        boss = calls.worklist(local_today(app), now, app.config, staff["manager"], assigned="all")
    assert mine == []  # a is restricted, b was reassigned
    assert {i["f"].id for i in boss} == {fa.id, fb.id}


def test_no_answer_retries_then_falls_back_to_a_message(app, staff, make_patient):
    patient = make_patient(consents={"reminders": True})
    with app.app_context():
        f = _due_call(app, staff, patient)
        today = local_today(app)
        for attempt in (1, 2):
            r = calls.record_call(Followup.get_by_id(f.id), staff["consultant"], "no_answer", app.config)
            assert r.followup.status == "open" and r.followup.attempts == attempt
            assert r.followup.due_date == today + timedelta(days=1)
        assert not OutboxMessage.select().where(OutboxMessage.template == "followup_unreached").exists()
        r = calls.record_call(Followup.get_by_id(f.id), staff["consultant"], "no_answer", app.config)
    assert r.followup.status == "unreached"
    msg = OutboxMessage.get(OutboxMessage.template == "followup_unreached")
    assert msg.patient_id == patient.id and msg.status in ("pending", "sent")
    assert FollowupCall.select().where(FollowupCall.followup == f.id).count() == 3


def test_call_back_moves_the_call_to_the_time_asked(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        f = _due_call(app, staff, patient)
        when = datetime.combine(local_today(app) + timedelta(days=1), time(19, 0))
        r = calls.record_call(f, staff["consultant"], "call_back", app.config, callback_at=when)
        slot = calls.call_slot(patient, datetime.combine(when.date(), time(9)), when)
    assert r.followup.status == "open" and r.followup.due_date == when.date() and r.followup.attempts == 0
    assert slot.why == "callback" and slot.start == when


def test_reached_call_records_answers_and_contact_preference(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        f = _due_call(app, staff, patient)
        r = calls.record_call(f, staff["consultant"], "reached", app.config,
                              answers={"pain": "2", "swelling": "0", "flossing_daily": "no", "technique_mastered": "yes",
                                       "satisfied": "yes"}, notes="Shown the flossing video again.",
                              preferred_channel="wechat", preferred_time="evening")
    assert r.followup.status == "done" and r.warnings == [] and r.task is None
    assert r.call.answers == '{"pain": 2, "swelling": 0, "flossing_daily": "no", "technique_mastered": "yes", "satisfied": "yes"}'
    p = Patient.get_by_id(patient.id)
    assert (p.preferred_channel, p.preferred_time) == ("wechat", "evening")


@pytest.mark.parametrize("answers, field", [({"pain": "11"}, "pain"), ({"pain": "a lot"}, "pain"),
                                            ({"satisfied": "maybe"}, "satisfied")])
def test_answers_are_checked(app, staff, make_patient, answers, field):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
        with pytest.raises(ServiceError) as err:
            calls.record_call(f, staff["consultant"], "reached", app.config, answers=answers)
    assert err.value.field == field and FollowupCall.select().count() == 0


def test_swelling_eight_escalates_to_the_treating_doctor(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        f = _due_call(app, staff, patient)
        r = calls.record_call(f, staff["consultant"], "reached", app.config, answers={"swelling": "8", "pain": "3"})
        assert r.warnings == ["swelling"] and r.offer_earlier_visit
        assert [t.code for t in calls.open_tasks(staff["doctor"])] == [r.task.code]
        note = OutboxMessage.get(OutboxMessage.staff == staff["doctor"])
        assert note.template == "urgent_task" and patient.name not in note.context
        calls.handle_task(DoctorTask.get_by_id(r.task.id), staff["doctor"], "Called back; seen tomorrow 9:00.")
        assert calls.open_tasks(staff["doctor"]) == []
    assert {e.object_type for e in AuditEvent.select().where(AuditEvent.object_ref == r.task.code)} == {"escalation"}
    assert AuditEvent.select().where(AuditEvent.object_ref == r.task.code).count() == 2


def test_below_threshold_does_not_escalate(app, staff, make_patient):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
        r = calls.record_call(f, staff["consultant"], "reached", app.config, answers={"swelling": "6", "pain": "6"})
    assert r.task is None and DoctorTask.select().count() == 0


def test_relieved_emergency_patient_gets_no_further_call(app, staff, make_patient):
    from tests.followup_helpers import procedure
    patient = make_patient()
    rct = procedure("END-E", "endodontic", rules=[{"after_days": 3, "kind": "call", "topic": "pain"}])
    with app.app_context():
        complete_visit(app, staff, patient, "emergency", procedures=[rct])
        emergency = Followup.get(Followup.patient == patient, Followup.event == "emergency")
        assert Followup.select().where(Followup.patient == patient, Followup.kind == "call",
                                       Followup.status == "open").count() == 2
        calls.record_call(emergency, staff["consultant"], "reached", app.config, answers={"relieved": "yes", "pain": "1"})
    open_calls = Followup.select().where(Followup.patient == patient, Followup.kind != "recall", Followup.status == "open")
    assert open_calls.count() == 0
    assert Followup.select().where(Followup.patient == patient, Followup.kind == "recall", Followup.status == "open").count() == 1


def test_emergency_not_relieved_is_called_again_the_day_after(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "emergency")
        emergency = Followup.get(Followup.patient == patient, Followup.event == "emergency")
        r = calls.record_call(emergency, staff["consultant"], "reached", app.config, answers={"relieved": "no", "pain": "4"})
        today = local_today(app)
    again = Followup.get(Followup.source_key == f"fu:{emergency.id}:again")
    assert again.due_date == today + timedelta(days=1) and again.status == "open" and r.offer_earlier_visit


def test_a_closed_followup_takes_no_more_calls(app, staff, make_patient):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
        calls.record_call(f, staff["consultant"], "declined", app.config)
        with pytest.raises(ServiceError, match="closed"):
            calls.record_call(Followup.get_by_id(f.id), staff["consultant"], "reached", app.config)
