"""Records of the follow-ups area for the route walk: (URL prefix, code) pairs, most specific first."""
from datetime import timedelta

from portal.models import Complaint, DoctorTask, Followup, Survey, new_code, utcnow
from portal.services import followups


def followup_samples(app, staff, patient):
    followups.ensure_default_rules()
    rule = followups.rules()[0]
    f = Followup.create(code=new_code(), patient=patient, doctor=staff["doctor"], event="first_visit", kind="call",
                        topic="sample", questions="pain,swelling", due_date=utcnow().date(), source_key="sample",
                        assigned_to=staff["consultant"])
    task = DoctorTask.create(code=new_code(), patient=patient, doctor=staff["doctor"], followup=f, reason="swelling")
    survey = Survey.create(code=new_code(), patient=patient, source="visit", source_key="sample",
                           due_date=utcnow().date())
    complaint = Complaint.create(code=new_code(), patient=patient, channel="phone", category="process", severity="minor",
                                 summary="sample", received_at=utcnow(), reply_due_at=utcnow() + timedelta(hours=24),
                                 resolve_due=utcnow().date() + timedelta(days=5),
                                 # resolved, not yet closed: the page offers both more entries and closing
                                 status="resolved", resolved_at=utcnow(), first_reply_at=utcnow(), outcome="sample")
    return [("/followups/tasks", task.code), ("/followups/rules", rule.code), ("/followups/surveys", survey.code),
            ("/followups", f.code), ("/complaints", complaint.code)]
