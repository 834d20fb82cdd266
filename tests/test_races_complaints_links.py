"""Complaints, doctor tasks and patient links under races and double clicks (issue 12): the change is
decided on the row re-read inside its unit of work; of 16 desks exactly one moves the record on, with
one audit event (and one survey), and the others are refused with who did it and when (409 on a route)."""
import pytest

from portal.models import AuditEvent, Complaint, ComplaintAction, DoctorTask, PatientLink, Survey, new_code
from portal.services import Conflict, ServiceError
from portal.services import complaints
from portal.services import followup_calls as calls
from portal.services import patient_links as links
from tests.races import race
from tests.report_fixtures import demo_adult

N = 16


def _split(results, errors):
    wins = [r for r in results if not isinstance(r, ServiceError)]
    conflicts = [str(r.message) for r in results if isinstance(r, Conflict)]
    errors = errors + [repr(r) for r in results if isinstance(r, ServiceError) and not isinstance(r, Conflict)]
    return wins, conflicts, errors


def _events(object_type, ref):
    return AuditEvent.select().where(AuditEvent.object_type == object_type, AuditEvent.object_ref == ref).count()


def _complaint(app, staff, patient, upto="resolved"):
    with app.app_context():
        c = complaints.receive(complaints.ComplaintData("phone", "attitude", "minor", "Kept waiting.", patient=patient),
                               staff["consultant"], app.config)
        if upto in ("replied", "resolved"):
            complaints.add_action(Complaint.get_by_id(c.id), staff["consultant"], "reply", "Apologised.")
        if upto == "resolved":
            complaints.add_action(Complaint.get_by_id(c.id), staff["consultant"], "resolve", "Delays announced.")
    return Complaint.get_by_id(c.id)


def test_sixteen_closes_close_once_with_one_event_and_one_survey(app, staff, make_patient):
    c = _complaint(app, staff, make_patient())
    before = _events("complaint", c.code)
    config = dict(app.config)
    results, errors = race(app, N, lambda i, loaded: complaints.close(loaded, staff["manager"], "Phone call", config) or i,
                           prepare=lambda i: Complaint.get_by_id(c.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == N - 1
    assert all("already closed by Demo manager at" in m for m in conflicts)
    assert ComplaintAction.select().where(ComplaintAction.complaint == c.id, ComplaintAction.kind == "close").count() == 1
    assert _events("complaint", c.code) == before + 1
    assert Survey.select().where(Survey.complaint == c.id).count() <= 1


def test_sixteen_first_replies_record_one(app, staff, make_patient):
    c = _complaint(app, staff, make_patient(), upto="open")
    results, errors = race(app, N, lambda i, loaded: complaints.add_action(loaded, staff["consultant"], "reply", "Sorry.") or i,
                           prepare=lambda i: Complaint.get_by_id(c.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == N - 1
    assert all("first reply was already recorded by Demo consultant at" in m for m in conflicts)
    assert ComplaintAction.select().where(ComplaintAction.complaint == c.id, ComplaintAction.kind == "reply").count() == 1
    assert Complaint.get_by_id(c.id).status == "replied"


def test_sixteen_resolves_record_one_outcome(app, staff, make_patient):
    c = _complaint(app, staff, make_patient(), upto="replied")
    results, errors = race(app, N, lambda i, loaded: complaints.add_action(loaded, staff["consultant"], "resolve", f"Outcome {i}") or i,
                           prepare=lambda i: Complaint.get_by_id(c.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == N - 1
    assert all("already resolved by Demo consultant at" in m for m in conflicts)
    assert ComplaintAction.select().where(ComplaintAction.complaint == c.id, ComplaintAction.kind == "resolve").count() == 1
    assert Complaint.get_by_id(c.id).outcome == f"Outcome {wins[0]}"


def test_entry_on_a_complaint_closed_meanwhile_is_refused(app, staff, make_patient):
    c = _complaint(app, staff, make_patient())
    stale = Complaint.get_by_id(c.id)
    with app.app_context():
        complaints.close(Complaint.get_by_id(c.id), staff["manager"], "Phone call", app.config)
        with pytest.raises(Conflict, match="already closed by Demo manager at"):
            complaints.add_action(stale, staff["consultant"], "action", "Called again.")
        with pytest.raises(Conflict, match="already closed by Demo manager at"):
            complaints.set_owner(stale, staff["consultant"], staff["consultant"])
    assert ComplaintAction.select().where(ComplaintAction.complaint == c.id, ComplaintAction.kind == "action").count() == 0


def test_second_close_through_the_route_answers_409(app, staff, make_patient, as_role):
    c = _complaint(app, staff, make_patient())
    consultant = as_role("consultant")
    assert consultant.post(f"/complaints/{c.code}/close", data={"told_how": "Phone call"}).status_code == 303
    again = consultant.post(f"/complaints/{c.code}/close", data={"told_how": "Phone call"})
    assert again.status_code == 409 and "already closed by Demo consultant" in again.get_data(as_text=True)
    entry = consultant.post(f"/complaints/{c.code}/entries", data={"kind": "action", "text": "More."})
    assert entry.status_code == 409
    assert Survey.select().where(Survey.complaint == c.id).count() == 1


def _task(app, staff, patient):
    with app.app_context():
        return DoctorTask.create(code=new_code(), patient=patient, doctor=staff["doctor"], reason="Swelling",
                                 created_by=staff["consultant"])


def test_sixteen_doctors_handle_one_task_once(app, staff, make_patient):
    t = _task(app, staff, make_patient())
    results, errors = race(app, N, lambda i, loaded: calls.handle_task(loaded, staff["doctor"], "Called back") or i,
                           prepare=lambda i: DoctorTask.get_by_id(t.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == N - 1
    assert all("already handled by" in m and staff["doctor"].display_name in m for m in conflicts)
    assert _events("escalation", t.code) == 1


def test_second_done_on_a_task_answers_409(app, staff, make_patient, as_role):
    t = _task(app, staff, make_patient())
    doctor = as_role("doctor")
    assert doctor.post(f"/followups/tasks/{t.code}/handle", data={"handling": "Called"}).status_code == 303
    again = doctor.post(f"/followups/tasks/{t.code}/handle", data={"handling": "Called"})
    assert again.status_code == 409 and "already handled by" in again.get_data(as_text=True)


def test_sixteen_reissues_leave_one_live_link(app, staff):
    patient = demo_adult(staff)
    with app.test_request_context():
        first = links.issue(patient, "patient", staff["frontdesk"], app.config)
    config = dict(app.config)

    def work(i, loaded):
        with app.test_request_context():
            return links.reissue(loaded, staff["frontdesk"], config).link.id

    results, errors = race(app, N, work, prepare=lambda i: PatientLink.get_by_id(first.link.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == N - 1
    assert all("already revoked by" in m for m in conflicts)
    live = [k for k in PatientLink.select().where(PatientLink.patient == patient, PatientLink.scope == "patient")
            if links.is_live(k)]
    assert [k.id for k in live] == wins
    assert PatientLink.get_by_id(first.link.id).replaced_by_id == wins[0]


def test_revoking_a_revoked_link_answers_409_naming_who(app, staff, as_role):
    patient = demo_adult(staff)
    with app.test_request_context():
        issued = links.issue(patient, "patient", staff["frontdesk"], app.config)
    desk = as_role("frontdesk")
    assert desk.post(f"/links/{issued.link.code}/revoke").status_code == 200
    again = desk.post(f"/links/{issued.link.code}/revoke")
    assert again.status_code == 409 and "already revoked by" in again.get_data(as_text=True)
    assert desk.post(f"/links/{issued.link.code}/reissue").status_code == 409
    assert _events("patient_link", issued.link.code) == 2  # created, revoked once
