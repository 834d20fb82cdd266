"""Complaint pages: the front desk logs, the consultant works it through, deadlines and flags are visible."""
import re
from datetime import datetime, timedelta

from portal.models import Complaint, Survey
from portal.services import complaints
from portal.services.clock import to_utc
from tests.clock import clinic_now


def test_front_desk_logs_consultant_closes_and_a_survey_follows(app, staff, make_patient, as_role):
    patient = make_patient()
    desk = as_role("frontdesk")
    resp = desk.post("/complaints/new", data={"patient": patient.chart_no, "channel": "phone", "category": "attitude",
                                              "severity": "minor", "doctor": "0", "summary": "Nobody told me about the delay."})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/complaints")
    c = Complaint.get(Complaint.patient == patient)
    assert "Nobody told me" not in desk.get("/complaints").get_data(as_text=True)  # the desk sees status, not detail
    assert desk.get(f"/complaints/{c.code}").status_code == 403
    consultant = as_role("consultant")
    listing = consultant.get("/complaints").get_data(as_text=True)
    assert f"/complaints/{c.code}" in listing and patient.name in listing
    for kind, text in (("reply", "Apologised by phone."), ("resolve", "Delays are now announced.")):
        assert consultant.post(f"/complaints/{c.code}/entries", data={"kind": kind, "text": text}).status_code == 303
    assert consultant.post(f"/complaints/{c.code}/close", data={"told_how": "Phone call"}).status_code == 303
    assert Complaint.get_by_id(c.id).status == "closed"
    assert Survey.select().where(Survey.complaint == c.id, Survey.status == "pending").count() == 1
    assert f"/complaints/{c.code}" in consultant.get("/complaints?status=closed").get_data(as_text=True)


def test_overdue_flags_are_visible_on_the_list(app, staff, make_patient, as_role):
    with app.app_context():
        c = complaints.receive(complaints.ComplaintData("wechat", "clinical", "severe", "Filling fell out.",
                                                        patient=make_patient()), staff["consultant"], app.config,
                               received_at=to_utc(datetime(2025, 9, 30, 10), "Asia/Shanghai"))
    page = as_role("manager").get("/complaints").get_data(as_text=True)
    row = re.search(rf'<tr class="overdue-row">.*?/complaints/{c.code}.*?</tr>', page, re.S)
    assert row and "first reply late" in row.group(0) and "resolution late" in row.group(0)
    assert "27 Oct 2025" in row.group(0) or "2025" in row.group(0)


def test_bad_patient_reference_is_shown_on_the_field(app, staff, as_role):
    resp = as_role("consultant").post("/complaints/new", data={"patient": "NOPE", "channel": "phone",
                                                               "category": "process", "severity": "minor",
                                                               "doctor": "0", "summary": "x"})
    assert resp.status_code == 422 and "No patient matches “NOPE”" in resp.get_data(as_text=True)


def test_roles(app, staff, as_role):
    assert as_role("nurse").get("/complaints").status_code == 403
    assert as_role("doctor").get("/complaints/new").status_code == 403
    assert as_role("frontdesk").get("/complaints/new").status_code == 200
    assert as_role("manager").get("/complaints").status_code == 200
    assert (clinic_now() - timedelta(days=1)) < clinic_now()
