"""Discarding an unsigned consent form (issue 14): a form the patient will not sign stops waiting
on the doctor's home; the reason and the text's hash stay in the audit trail; a signed form is
never discarded; sixteen discards make one."""
import json

from portal.models import AuditEvent
from portal.models.consent import ConsentForm
from portal.services import Conflict, ServiceError
from portal.services import consent as consents
from tests.races import race
from tests.test_consent import _form, _sign_data, seeded  # noqa: F401


def _discard_url(patient, form):
    return f"/consent-forms/{form.code}/discard"


def _discards(form):
    return list(AuditEvent.select().where(AuditEvent.object_type == "consent", AuditEvent.object_ref == form.code,
                                          AuditEvent.action == "delete"))


def test_nurse_discards_an_unsigned_form_with_a_reason(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)
    nurse = as_role("nurse")
    assert "Discard this unsigned form" in nurse.get(f"/consent-forms/{form.code}").get_data(as_text=True)
    resp = nurse.post(_discard_url(patient, form), data={"reason": "计划改为根管治疗"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/patients/{patient.code}/consent-forms")
    assert ConsentForm.get_or_none(ConsentForm.id == form.id) is None
    [event] = _discards(form)
    detail = json.loads(event.detail)
    assert detail["reason"] == "计划改为根管治疗" and detail["hash"] == form.text_hash and detail["kind"] == "extraction"
    assert event.patient_id == patient.id
    # the repeat lands on the patient's forms with the reason it was refused, and writes nothing
    again = nurse.post(_discard_url(patient, form), data={"reason": "再点一次", "patient": patient.code})
    assert again.status_code == 409 and "already discarded" in again.get_data(as_text=True)
    assert len(_discards(form)) == 1


def test_no_reason_no_discard(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)
    resp = as_role("doctor").post(_discard_url(patient, form), data={"reason": "   "})
    assert resp.status_code == 422 and "Say why the form is discarded." in resp.get_data(as_text=True)
    assert ConsentForm.get_or_none(ConsentForm.id == form.id) is not None and _discards(form) == []


def test_a_signed_form_is_never_discarded(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)
    doctor = as_role("doctor")
    assert doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 303
    assert "Discard this unsigned form" not in doctor.get(f"/consent-forms/{form.code}").get_data(as_text=True)
    resp = doctor.post(_discard_url(patient, form), data={"reason": "试试"})
    assert resp.status_code == 409 and ConsentForm.get_by_id(form.id).status == "signed"


def test_who_may_discard(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)
    for role in ("frontdesk", "consultant", "manager"):
        assert as_role(role).post(_discard_url(patient, form), data={"reason": "x"}).status_code == 403, role
    assert ConsentForm.get_or_none(ConsentForm.id == form.id) is not None


def test_discarded_form_leaves_the_doctors_home(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)  # filled by the doctor: theirs to sign
    doctor = as_role("doctor")
    assert form.code in doctor.get("/").get_data(as_text=True)
    assert doctor.post(_discard_url(patient, form), data={"reason": "填错了"}).status_code == 303
    assert form.code not in doctor.get("/").get_data(as_text=True)


def test_sixteen_discards_make_one(app, staff, seeded, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)

    def work(i):
        return consents.discard(patient, form.code, staff["nurse"], f"原因 {i}")

    results, errors = race(app, 16, work)
    assert errors == []
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(lost) == 15 and all(isinstance(r, ServiceError) for r in lost)
    assert len(_discards(form)) == 1 and ConsentForm.get_or_none(ConsentForm.id == form.id) is None
