"""Visits: written by the doctor, signed, locked, amended by addenda; chair-side protocols."""
from datetime import date

import pytest

from portal.models import AuditEvent, StepTick, Tag, PatientTag, Visit, VisitAddendum
from portal.services import ServiceError
from portal.services import catalogue as cat
from portal.services import chart_visits as visits
from tests.chart_samples import scaling_procedure

NOTES = visits.VisitNotes(chief_complaint="右下后牙冷热敏感两周", examination="46 深龋", diagnosis="46 深龋",
                          treatment="树脂充填", advice="避免咬硬物")


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="赵一", birth_date=date(1985, 5, 5))


@pytest.fixture()
def visit(patient, staff):
    return visits.open_visit(patient, staff["doctor"], date(2026, 1, 5))


def test_only_a_doctor_opens_writes_and_signs(patient, visit, staff):
    for role in ("nurse", "frontdesk", "consultant", "manager"):
        with pytest.raises(ServiceError):
            visits.open_visit(patient, staff[role], date(2026, 1, 5))
        with pytest.raises(ServiceError):
            visits.update_notes(visit, NOTES, staff[role])
        with pytest.raises(ServiceError):
            visits.sign(visit, staff[role])


def test_signing_needs_complaint_and_diagnosis_then_locks(visit, staff):
    doc = staff["doctor"]
    with pytest.raises(ServiceError):
        visits.sign(visit, doc)
    assert visits.update_notes(visit, NOTES, doc) == ["chief_complaint", "examination", "diagnosis", "treatment", "advice"]
    signed = visits.sign(visit, doc)
    assert signed.status == "signed" and signed.signed_by_id == doc.id and signed.signed_at
    with pytest.raises(ServiceError) as err:
        visits.update_notes(signed, visits.VisitNotes(chief_complaint="changed"), doc)
    assert "addendum" in str(err.value.message)
    with pytest.raises(ServiceError):
        visits.sign(signed, doc)
    assert Visit.get_by_id(visit.id).chief_complaint == NOTES.chief_complaint
    visits.add_addendum(signed, "补充：患者诉服用阿司匹林", doc)
    assert VisitAddendum.select().count() == 1


def test_a_stale_copy_cannot_edit_a_visit_signed_meanwhile(visit, staff):
    doc = staff["doctor"]
    visits.update_notes(visit, NOTES, doc)
    stale = Visit.get_by_id(visit.id)
    visits.sign(visit, doc)
    with pytest.raises(ServiceError):
        visits.update_notes(stale, visits.VisitNotes(chief_complaint="late edit"), doc)
    assert Visit.get_by_id(visit.id).chief_complaint == NOTES.chief_complaint


def test_addendum_only_on_signed_visits(visit, staff):
    with pytest.raises(ServiceError):
        visits.add_addendum(visit, "text", staff["doctor"])


def test_visit_routes_lock_after_signing(as_role, visit, staff):
    client = as_role("doctor")
    form = {k: getattr(NOTES, k) for k in visits.NOTE_FIELDS}
    assert client.post(f"/visits/{visit.code}/notes", data=form).status_code == 303
    assert client.post(f"/visits/{visit.code}/sign").status_code == 303
    resp = client.post(f"/visits/{visit.code}/notes", data={**form, "diagnosis": "rewritten"})
    assert resp.status_code == 422 and "addendum" in resp.get_data(as_text=True)
    assert Visit.get_by_id(visit.id).diagnosis == NOTES.diagnosis
    assert client.post(f"/visits/{visit.code}/addenda", data={"text": "补充说明"}).status_code == 303
    page = client.get(f"/visits/{visit.code}").get_data(as_text=True)
    assert "补充说明" in page and "Signed by" in page and 'name="chief_complaint"' not in page


def test_roles_on_visit_routes(as_role, visit):
    assert as_role("frontdesk").get(f"/visits/{visit.code}").status_code == 403
    assert as_role("consultant").get(f"/visits/{visit.code}").status_code == 403
    nurse = as_role("nurse")
    page = nurse.get(f"/visits/{visit.code}")
    assert page.status_code == 200 and 'name="diagnosis"' not in page.get_data(as_text=True)
    assert nurse.post(f"/visits/{visit.code}/notes", data={"diagnosis": "x"}).status_code == 403
    assert nurse.post(f"/visits/{visit.code}/sign").status_code == 403
    assert nurse.post(f"/patients/{visit.patient.code}/chart/teeth/36/entries",
                      data={"kind": "caries", "status": "existing", "surface": "O"}).status_code == 403


# --- protocols ------------------------------------------------------------------------------

def test_alerts_must_be_acknowledged_before_starting(patient, visit, staff):
    tag = Tag.create(name="牙齿敏感", clinical_alert=True)
    PatientTag.create(patient=patient, tag=tag)
    patient.allergies = "青霉素"
    patient.save()
    assert any("牙齿敏感" in a for a in cat.alerts(patient)) and any("青霉素" in a for a in cat.alerts(patient))
    with pytest.raises(ServiceError) as err:
        cat.start(visit, scaling_procedure(), staff["nurse"])
    assert err.value.field == "alerts_seen"
    run = cat.start(visit, scaling_procedure(), staff["nurse"], alerts_seen=True)
    assert run.alerts_seen_by_id == staff["nurse"].id


def test_nurse_ticks_eleven_steps_with_who_and_when_and_skip_reasons(visit, staff):
    nurse = staff["nurse"]
    run = cat.start(visit, scaling_procedure(), nurse)
    assert StepTick.select().where(StepTick.run == run).count() == 11
    for n in range(1, 11):
        step = cat.tick(run, n, nurse)
        assert step.state == "done" and step.by_id == nurse.id and step.at is not None
    with pytest.raises(ServiceError) as err:
        cat.tick(run, 11, nurse, skip_reason="  ")
    assert err.value.field == "reason"
    with pytest.raises(ServiceError):
        cat.tick(run, 3, nurse)          # once only
    with pytest.raises(ServiceError):
        cat.tick(run, 12, nurse)         # no such step
    cat.tick(run, 11, nurse, skip_reason="患者赶时间，下次补做宣教")
    (_, steps), = cat.runs_of(visit)
    assert cat.completion(steps) == (11, 11)
    assert run.__class__.get_by_id(run.id).status == "completed"
    assert AuditEvent.select().where(AuditEvent.object_type == "protocol").count() == 12


def test_signing_waits_for_the_protocol_and_locks_it(visit, staff):
    doc, nurse = staff["doctor"], staff["nurse"]
    run = cat.start(visit, scaling_procedure(), nurse)
    visits.update_notes(visit, NOTES, doc)
    with pytest.raises(ServiceError):
        visits.sign(visit, doc)
    for n in range(1, 12):
        cat.tick(run, n, nurse)
    signed = visits.sign(visit, doc)
    with pytest.raises(ServiceError):
        cat.start(signed, scaling_procedure(), nurse)


def test_catalogue_edits_do_not_rewrite_a_started_protocol(visit, staff):
    proc = scaling_procedure()
    run = cat.start(visit, proc, staff["nurse"])
    data = cat.ProcedureData(code=proc.code, name_zh=proc.name_zh, name_en=proc.name_en, department=proc.department,
                             duration_minutes=45, price_fen=30000, steps=[("新步骤", "New step")])
    cat.save_procedure(data, staff["manager"], proc)
    assert StepTick.select().where(StepTick.run == run).count() == 11


def test_tablet_ticking_over_htmx_swaps_the_protocol(as_role, visit, staff):
    run = cat.start(visit, scaling_procedure(), staff["nurse"])
    nurse = as_role("nurse")
    hx = {"HX-Request": "true", "HX-Target": "protocols"}
    resp = nurse.post(f"/protocols/{run.code}/steps/1", headers=hx)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body and "1 of 11 steps" in body
    resp = nurse.post(f"/protocols/{run.code}/steps/2", data={"skip": "1", "reason": ""}, headers=hx)
    assert "Say why step 2 is skipped" in resp.get_data(as_text=True)
    resp = nurse.post(f"/protocols/{run.code}/steps/2", data={"skip": "1", "reason": "不适用"}, headers=hx)
    assert "2 of 11 steps" in resp.get_data(as_text=True) and "不适用" in resp.get_data(as_text=True)
    assert as_role("frontdesk").post(f"/protocols/{run.code}/steps/3").status_code == 403
