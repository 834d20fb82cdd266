"""The dental record's state changes under races and double clicks (issue 12): a visit is signed once
(one signature, one audit event), a protocol step is ticked once, a plan item makes one transition;
the losers are refused with who and when, and a route answers them 409."""
import json

import pytest

from portal.models import AuditEvent, PlanItem, StepTick, Visit, VisitAddendum
from portal.services import Conflict, ServiceError
from portal.services import catalogue as cat
from portal.services import chart_plans as plans
from portal.services import chart_visits as visits
from tests.chart_samples import scaling_procedure
from tests.clock import clinic_today
from tests.conftest import sign_in
from tests.races import race

NOTES = visits.VisitNotes(chief_complaint="右下后牙冷热敏感两周", diagnosis="46 深龋")


def _split(results, errors):
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    conflicts = [str(r.message) for r in results if isinstance(r, Conflict)]
    errors = errors + [repr(r) for r in results if isinstance(r, ServiceError) and not isinstance(r, Conflict)]
    return wins, conflicts, errors


@pytest.fixture()
def draft(app, staff, make_patient):
    with app.app_context():
        visit = visits.open_visit(make_patient(name="赵一"), staff["doctor"], clinic_today())
        visits.update_notes(visit, NOTES, staff["doctor"])
        return Visit.get_by_id(visit.id)


def _sign_events(visit):
    return [e for e in AuditEvent.select().where(AuditEvent.object_type == "visit", AuditEvent.object_ref == visit.code)
            if e.detail and json.loads(e.detail).get("signed")]


def test_sixteen_signs_make_one_signature(app, staff, draft):
    results, errors = race(app, 16, lambda i, v: visits.sign(v, staff["doctor"]) and i,
                           prepare=lambda i: Visit.get_by_id(draft.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("already signed by Demo doctor at" in c for c in conflicts)
    assert len(_sign_events(draft)) == 1 and Visit.get_by_id(draft.id).status == "signed"


def test_signing_a_signed_visit_names_who_and_when(app, staff, draft):
    stale = Visit.get_by_id(draft.id)
    visits.sign(draft, staff["doctor"])
    with pytest.raises(Conflict, match="already signed by Demo doctor at"):
        visits.sign(stale, staff["doctor"])
    with pytest.raises(Conflict, match="already signed by Demo doctor at"):
        visits.sign(Visit.get_by_id(draft.id), staff["doctor"])
    assert len(_sign_events(draft)) == 1


def test_sixteen_sign_clicks_through_the_route(app, staff, draft):
    clients = [sign_in(app.test_client(), staff["doctor"]) for _ in range(16)]
    results, errors = race(app, 16, lambda i: clients[i].post(f"/visits/{draft.code}/sign").status_code)
    assert errors == [] and sorted(results) == [303] + [409] * 15
    again = clients[0].post(f"/visits/{draft.code}/sign")
    assert again.status_code == 409 and "already signed by Demo doctor" in again.get_data(as_text=True)
    assert len(_sign_events(draft)) == 1


def test_addendum_waits_for_the_signature_decided_inside(app, staff, draft):
    stale_draft = Visit.get_by_id(draft.id)
    with pytest.raises(ServiceError):
        visits.add_addendum(stale_draft, "补充", staff["doctor"])
    visits.sign(draft, staff["doctor"])
    signed = Visit.get_by_id(draft.id)
    results, errors = race(app, 16, lambda i: visits.add_addendum(signed, f"补充{i}", staff["doctor"]) and i)
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 16 and VisitAddendum.select().count() == 16


def test_addendum_on_a_visit_that_was_unsigned_when_loaded_but_is_signed_now(app, staff, draft):
    stale = Visit.get_by_id(draft.id)
    visits.sign(draft, staff["doctor"])
    visits.add_addendum(stale, "补充：患者诉服用阿司匹林", staff["doctor"])   # decided on the row as it is now
    assert VisitAddendum.select().count() == 1


def test_double_submitted_addendum_is_added_once(app, staff, draft):
    visits.sign(draft, staff["doctor"])
    client = sign_in(app.test_client(), staff["doctor"])
    key = "ab" * 16
    results, errors = race(app, 16, lambda i: client.post(
        f"/visits/{draft.code}/addenda", data={"text": "补充说明", "form_key": key}).status_code)
    assert errors == [] and VisitAddendum.select().count() == 1


@pytest.fixture()
def run(app, staff, draft):
    with app.app_context():
        return cat.start(draft, scaling_procedure(), staff["nurse"])


def test_sixteen_ticks_of_one_step_tick_it_once(app, staff, run):
    results, errors = race(app, 16, lambda i, r: cat.tick(r, 3, staff["nurse"]) and i,
                           prepare=lambda i: type(run).get_by_id(run.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("Step 3 was already ticked by Demo nurse at" in c for c in conflicts)
    events = AuditEvent.select().where(AuditEvent.object_type == "protocol", AuditEvent.object_ref == run.code)
    assert events.count() == 2   # started, one tick


def test_ticks_of_the_last_steps_complete_the_run_once(app, staff, run):
    for n in range(1, 10):
        cat.tick(run, n, staff["nurse"])
    results, errors = race(app, 16, lambda i: cat.tick(type(run).get_by_id(run.id), 10 + i % 2, staff["nurse"]) and i)
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 2 and len(conflicts) == 14
    assert type(run).get_by_id(run.id).status == "completed"
    assert StepTick.select().where(StepTick.run == run.id, StepTick.state == "pending").count() == 0


def test_second_tick_through_the_route_is_409_naming_who(app, staff, run):
    nurse = sign_in(app.test_client(), staff["nurse"])
    assert nurse.post(f"/protocols/{run.code}/steps/1").status_code == 303
    again = nurse.post(f"/protocols/{run.code}/steps/1")
    assert again.status_code == 409 and "already ticked by Demo nurse" in again.get_data(as_text=True)
    htmx = nurse.post(f"/protocols/{run.code}/steps/1", headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and "already ticked by Demo nurse" in htmx.get_data(as_text=True)


@pytest.fixture()
def item(app, staff, make_patient):
    with app.app_context():
        return plans.add_item(make_patient(name="钱二"), scaling_procedure(), staff["consultant"])


@pytest.mark.parametrize("target", ["accepted", "declined"])
def test_sixteen_plan_transitions_one_wins(app, staff, item, target):
    results, errors = race(app, 16, lambda i, it: plans.set_status(it, target, staff["consultant"], reason="贵") and i,
                           prepare=lambda i: PlanItem.get_by_id(item.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("by Demo consultant at" in c for c in conflicts)
    events = AuditEvent.select().where(AuditEvent.object_type == "plan_item", AuditEvent.object_ref == item.code)
    assert events.count() == 2 and PlanItem.get_by_id(item.id).status == target


def test_mixed_plan_clicks_one_transition(app, staff, item):
    """Half the desks accept, half decline, all from the page showing 'proposed'."""
    targets = ["accepted", "declined"] * 8
    results, errors = race(app, 16, lambda i, it: plans.set_status(it, targets[i], staff["consultant"], reason="贵") and i,
                           prepare=lambda i: PlanItem.get_by_id(item.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert AuditEvent.select().where(AuditEvent.object_type == "plan_item").count() == 2


def test_stale_plan_page_is_refused_through_the_route(app, staff, item):
    client = sign_in(app.test_client(), staff["consultant"])
    assert client.post(f"/plan-items/{item.code}/status", data={"status": "accepted", "seen": "proposed"}).status_code == 303
    # a second desk still showing 'proposed' declines: the item moved on, nothing changes
    resp = client.post(f"/plan-items/{item.code}/status", data={"status": "declined", "reason": "贵", "seen": "proposed"})
    assert resp.status_code == 409 and "by Demo consultant at" in resp.get_data(as_text=True)
    assert PlanItem.get_by_id(item.id).status == "accepted"
    bad = client.post(f"/plan-items/{item.code}/status", data={"status": "proposed", "seen": "accepted"})
    assert bad.status_code == 422


def test_sixteen_plan_clicks_through_the_route(app, staff, item):
    clients = [sign_in(app.test_client(), staff["consultant"]) for _ in range(16)]
    results, errors = race(app, 16, lambda i: clients[i].post(
        f"/plan-items/{item.code}/status", data={"status": "accepted", "seen": "proposed"}).status_code)
    assert errors == [] and sorted(results) == [303] + [409] * 15
