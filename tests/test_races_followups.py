"""Follow-up calls under races and double clicks (issue 12): one call recorded per accepted change,
the attempts counter equals the no-answer calls recorded, and nothing is recorded once closed."""

import pytest

from portal.models import Followup, FollowupCall, OutboxMessage
from portal.services import Conflict, ServiceError
from portal.services import followup_calls as calls
from portal.services.followups import followup_settings
from tests.races import race
from tests.followup_helpers import complete_visit, local_today


def _due_call(app, staff, patient):
    complete_visit(app, staff, patient, "first")
    f = Followup.get(Followup.patient == patient, Followup.kind == "call")
    Followup.update(due_date=local_today(app)).where(Followup.id == f.id).execute()
    return Followup.get_by_id(f.id)


def _race(app, followup_id, actor, outcome="no_answer", n=16):
    """n consultants record the same call at once, each from the page they had open (tests/races.py);
    returns (wins, conflicts, errors)."""
    config = dict(app.config)
    results, errors = race(app, n, lambda i, loaded: calls.record_call(loaded, actor, outcome, config) or i,
                           prepare=lambda i: Followup.get_by_id(followup_id))
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    errors += [repr(r) for r in results if isinstance(r, ServiceError) and not isinstance(r, Conflict)]
    return wins, [str(r.message) for r in results if isinstance(r, Conflict)], errors


def _calls(f):
    return FollowupCall.select().where(FollowupCall.followup == f.id).count()


def test_sixteen_no_answer_clicks_record_one_call(app, staff, make_patient):
    with app.app_context():
        f = _due_call(app, staff, make_patient(consents={"reminders": True}))
    wins, conflicts, errors = _race(app, f.id, staff["consultant"])
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("already recorded by Demo consultant" in c for c in conflicts)
    row = Followup.get_by_id(f.id)
    assert _calls(f) == 1 and row.attempts == 1 and row.status == "open"


def test_last_attempt_race_closes_once_and_records_nothing_after(app, staff, make_patient):
    with app.app_context():
        f = _due_call(app, staff, make_patient(consents={"reminders": True}))
        limit = int(followup_settings(app.config)["max_attempts"])
        for _ in range(limit - 1):
            calls.record_call(Followup.get_by_id(f.id), staff["consultant"], "no_answer", app.config)
    wins, conflicts, errors = _race(app, f.id, staff["consultant"])
    assert errors == [] and len(wins) == 1
    row = Followup.get_by_id(f.id)
    assert row.status == "unreached" and row.attempts == limit == _calls(f)
    assert OutboxMessage.select().where(OutboxMessage.template == "followup_unreached").count() == 1
    with app.app_context(), pytest.raises(Conflict, match="already closed"):
        calls.record_call(row, staff["consultant"], "reached", app.config)
    assert _calls(f) == limit


def test_stale_page_after_a_call_is_refused(app, staff, make_patient):
    """Two consultants opened the same follow-up; the second one's 'no answer' is the same call."""
    with app.app_context():
        f = _due_call(app, staff, make_patient())
        first, second = Followup.get_by_id(f.id), Followup.get_by_id(f.id)
        calls.record_call(first, staff["consultant"], "no_answer", app.config)
        with pytest.raises(Conflict, match="A call was already recorded by Demo consultant at"):
            calls.record_call(second, staff["manager"], "no_answer", app.config)
    assert _calls(f) == 1 and Followup.get_by_id(f.id).attempts == 1


def test_sixteen_call_back_clicks_record_one_call(app, staff, make_patient):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
    wins, conflicts, errors = _race(app, f.id, staff["consultant"], outcome="call_back")
    assert errors == [] and len(wins) == 1 and _calls(f) == 1


def test_second_click_on_the_call_form_answers_409(app, staff, make_patient, as_role):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
    consultant = as_role("consultant")
    page = consultant.get(f"/followups/{f.code}").get_data(as_text=True)
    assert 'name="seen_calls" value="0"' in page
    form = {"outcome": "no_answer", "seen_calls": "0"}
    assert consultant.post(f"/followups/{f.code}", data=form).status_code == 303
    again = consultant.post(f"/followups/{f.code}", data=form)
    assert again.status_code == 409 and "already recorded" in again.get_data(as_text=True)
    assert _calls(f) == 1 and Followup.get_by_id(f.id).attempts == 1


def test_call_on_a_closed_followup_answers_409(app, staff, make_patient, as_role):
    with app.app_context():
        f = _due_call(app, staff, make_patient())
    consultant = as_role("consultant")
    assert consultant.post(f"/followups/{f.code}", data={"outcome": "reached"}).status_code == 303
    resp = consultant.post(f"/followups/{f.code}", data={"outcome": "no_answer"})
    assert resp.status_code == 409 and "already closed" in resp.get_data(as_text=True)
    assert _calls(f) == 1
