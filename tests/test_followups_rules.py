"""Follow-up plans come from rules that are data: first visit, emergency, revisit, procedures, recalls."""
from datetime import timedelta

import pytest

from portal.models import AuditEvent, Followup, FollowupRule, Survey, Tag
from portal.services import ServiceError
from portal.services import followups
from portal.services import patients as registry
from tests.followup_helpers import complete_visit, local_today, procedure
from tests.clock import clinic_today


def _open(patient, kind=None):
    q = Followup.select().where(Followup.patient == patient, Followup.status == "open")
    return list(q.where(Followup.kind == kind) if kind else q.order_by(Followup.due_date))


def test_first_visit_creates_the_call_the_same_day_due_two_days_later(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "first")
        today = local_today(app)
    calls = _open(patient, "call")
    assert [(c.due_date - today).days for c in calls] == [2]
    assert calls[0].created_at.date() >= today - timedelta(days=1)  # created now, not later
    assert calls[0].event == "first_visit" and "flossing_daily" in calls[0].questions
    assert calls[0].doctor_id == staff["doctor"].id and calls[0].assigned_to_id == staff["consultant"].id
    recall = _open(patient, "recall")
    assert [r.due_date for r in recall] == [followups.add_months(today, 6)] and recall[0].event == "recall_routine"
    assert Survey.select().where(Survey.patient == patient, Survey.source == "visit").count() == 1
    assert AuditEvent.select().where(AuditEvent.object_type == "followup", AuditEvent.patient_id == patient.id).exists()


def test_emergency_is_called_next_day_and_revisit_always_gets_a_call(app, staff, make_patient):
    a, b = make_patient(name="急诊"), make_patient(name="复诊")
    with app.app_context():
        complete_visit(app, staff, a, "emergency")
        complete_visit(app, staff, b, "revisit")
        today = local_today(app)
    assert [(c.due_date - today).days for c in _open(a, "call")] == [1]
    assert [(c.due_date - today).days for c in _open(b, "call")] == [2]


def test_special_patients_are_recalled_every_three_months(app, staff, make_patient):
    tagged, implant_client = make_patient(name="牙周"), make_patient(name="种植")
    with app.app_context():
        registry.set_tags(tagged, {Tag.create(name="牙周病患者").id})
        registry.set_tags(implant_client, {Tag.create(name="种植牙客户").id})
        complete_visit(app, staff, tagged, "revisit")
        complete_visit(app, staff, implant_client, "revisit", procedures=[procedure("IMP-T", "implant")])
        today = local_today(app)
    for p in (tagged, implant_client):
        recall = _open(p, "recall")
        assert [r.due_date for r in recall] == [followups.add_months(today, 3)] and recall[0].event == "recall_special"


def test_procedure_rules_from_the_catalogue_and_the_rule_table(app, staff, make_patient):
    """Implant after-care: a week, 2 months, 9 months (table) plus the catalogue's own entries."""
    patient = make_patient()
    implant = procedure("IMP-X", "implant", rules=[{"after_days": 10, "kind": "review", "topic": "suture removal"}])
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=[implant])
        today = local_today(app)
    got = sorted(((f.due_date - today).days, f.kind) for f in _open(patient) if f.kind != "recall")
    assert got == [(2, "call"), (7, "call"), (10, "review"), (60, "call"), (270, "review")]


def test_two_calls_on_one_day_become_one(app, staff, make_patient):
    """A revisit call (day 2) and a root-canal call (day 2): one call, both topics, questions merged."""
    patient = make_patient()
    rct = procedure("END-T", "endodontic", rules=[{"after_days": 2, "kind": "call", "topic": "pain",
                                                   "questions": "pain,exudate"}])
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=[rct])
    calls = _open(patient, "call")
    assert len(calls) == 1
    assert "exudate" in calls[0].questions and "bleeding" in calls[0].questions and "pain" in calls[0].topic
    assert Followup.select().where(Followup.patient == patient, Followup.status == "merged").count() == 1


def test_planning_twice_changes_nothing(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        appt = complete_visit(app, staff, patient, "first", procedures=[procedure("SUR-T", "surgical")])
        before = Followup.select().count()
        assert followups.on_visit_completed(appt, staff["nurse"], app.config) == []
        assert followups.plan_recent_procedures(app.config) == 0
    assert Followup.select().count() == before


def test_editing_a_rule_never_rewrites_planned_followups(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "first")
        rule = FollowupRule.get(FollowupRule.event == "first_visit")
        planned = _open(patient, "call")[0]
        followups.save_rule(followups.RuleData("First-visit call (new script)", "first_visit", "", 3, "call",
                                               "pain,satisfied"), staff["manager"], rule)
        later = make_patient(name="后来")
        complete_visit(app, staff, later, "first")
        today = local_today(app)
    old = Followup.get_by_id(planned.id)
    assert (old.due_date - today).days == 2 and "flossing_daily" in old.questions and old.rule_version == 1
    new = _open(later, "call")[0]
    assert (new.due_date - today).days == 3 and new.questions == "pain,satisfied" and new.rule_version == 2
    assert FollowupRule.get_by_id(rule.id).version == 2


@pytest.mark.parametrize("data, field", [
    (followups.RuleData("x", "nonsense", "", 1, "call", ""), "event"),
    (followups.RuleData("x", "first_visit", "", 1, "letter", ""), "kind"),
    (followups.RuleData("x", "first_visit", "", 5000, "call", ""), "offset_days"),
    (followups.RuleData("x", "first_visit", "", 1, "call", "pain,mood"), "questions"),
    (followups.RuleData("x", "department", "", 1, "call", ""), "applies_to"),
])
def test_rules_are_checked(app, staff, data, field):
    with app.app_context(), pytest.raises(ServiceError) as err:
        followups.save_rule(data, staff["manager"])
    assert err.value.field == field


def test_inactive_rule_plans_nothing(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        followups.ensure_default_rules()
        FollowupRule.update(active=False).where(FollowupRule.event == "revisit").execute()
        complete_visit(app, staff, patient, "revisit")
    assert _open(patient, "call") == []


def test_next_visit_keeps_the_open_recall(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "revisit")
        first = _open(patient, "recall")[0]
        complete_visit(app, staff, patient, "recall")
    kept = Followup.get_by_id(first.id)
    assert kept.status == "done" and kept.outcome == "visited"
    assert len(_open(patient, "recall")) == 1


def test_worker_plans_a_procedure_finished_after_the_visit_was_completed(app, staff, make_patient):
    import tasks
    from datetime import date
    from portal.models import Visit
    from portal.services import catalogue as cat
    from portal.services import chart_visits as visits
    patient = make_patient()
    with app.app_context():
        appt = complete_visit(app, staff, patient, "revisit")
        visit = visits.open_visit(patient, staff["doctor"], clinic_today(), appointment=appt)
        run = cat.start(Visit.get_by_id(visit.id), procedure("SUR-W", "surgical"), staff["doctor"], alerts_seen=True)
        assert tasks.plan_procedure_followups.call_local() == 3  # extraction: next day, 2 and 6 months
        assert tasks.plan_procedure_followups.call_local() == 0
        today = local_today(app)
    planned = Followup.select().where(Followup.source_key.startswith(f"vp:{run.id}:")).order_by(Followup.due_date)
    assert [(f.event, (f.due_date - today).days) for f in planned][0] == ("department", 1)


def test_worker_reminds_recalls_due_within_a_week_once(app, staff, make_patient):
    import tasks
    from portal.models import OutboxMessage
    soon, later = make_patient(name="快到", consents={"reminders": True}), make_patient(name="还早")
    with app.app_context():
        for p in (soon, later):
            complete_visit(app, staff, p, "revisit")
        today = local_today(app)
        Followup.update(due_date=today + timedelta(days=5)).where(Followup.patient == soon, Followup.kind == "recall").execute()
        assert tasks.recall_reminders.call_local() == 1
        assert tasks.recall_reminders.call_local() == 0
    assert OutboxMessage.get(OutboxMessage.template == "recall_reminder").patient_id == soon.id


def test_restricted_patients_followups_go_to_the_managers_list(app, staff, make_patient):
    patient = make_patient()
    patient.restricted = True
    patient.save()
    with app.app_context():
        complete_visit(app, staff, patient, "first")
    assert {f.assigned_to_id for f in _open(patient)} == {None}
