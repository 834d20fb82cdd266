"""Consent forms 知情同意书 (issue 14): templates, filling, signing with strokes, the hash of the text
signed (page and `portal check`), minors and guardians, locking, races, access and audit."""
import json
from datetime import date

import pytest

from portal.checks import check_consent_hashes
from portal.models import AuditEvent
from portal.models.consent import CONSENT_KINDS, ConsentForm, ConsentTemplate
from portal.services import Conflict, ServiceError
from portal.services import consent as consents
from tests.chart_samples import scaling_procedure
from tests.clock import clinic_today
from tests.races import race

STROKES = json.dumps([[{"x": 10, "y": 10, "time": 1}, {"x": 60, "y": 40, "time": 2}, {"x": 90, "y": 20, "time": 3}]])


@pytest.fixture()
def seeded(app):
    with app.app_context():
        consents.seed()


def _form(app, staff, patient, kind="extraction", lang="zh_CN", **kw):
    with app.app_context():
        return consents.create(patient, kind, staff["doctor"], lang, tooth="38", **kw)


def _sign_data(**kw):
    data = {"signer_kind": "patient", "signer_name": "", "relationship": "", "patient_strokes": STROKES,
            "doctor_strokes": STROKES}
    data.update(kw)
    return data


def test_seeded_templates_cover_every_kind(app, seeded):
    with app.app_context():
        kinds = [t.kind for t in consents.current_templates()]
    assert kinds == list(CONSENT_KINDS)
    assert consents.seed() == 0  # idempotent


def test_doctor_fills_reads_and_signs(app, staff, seeded, as_role, make_patient):
    patient = make_patient(name="王拔牙")
    doctor = as_role("doctor")
    resp = doctor.post(f"/patients/{patient.code}/consent-forms", data={"kind": "extraction", "tooth": "48", "plan_item": ""})
    assert resp.status_code == 303
    form = ConsentForm.get(ConsentForm.patient == patient)
    assert "王拔牙" in form.text and "48" in form.text and "dry socket" in form.text
    assert form.text_hash == consents.digest(form.text) and form.status == "draft"
    page = doctor.get(f"/consent-forms/{form.code}")
    assert page.status_code == 200 and "dry socket" in page.get_data(as_text=True)
    assert 'data-signature="patient_strokes"' in page.get_data(as_text=True)
    resp = doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data())
    assert resp.status_code == 303, resp.get_data(as_text=True)
    form = ConsentForm.get_by_id(form.id)
    assert form.status == "signed" and form.signer_name == "王拔牙" and form.doctor_id == staff["doctor"].id
    assert form.patient_signed_at is not None and form.doctor_signed_at is not None
    assert json.loads(form.patient_strokes)[0][1] == {"x": 60.0, "y": 40.0, "t": 2}
    page = doctor.get(f"/consent-forms/{form.code}").get_data(as_text=True)
    assert "<path d=" in page and form.text_hash in page
    listing = doctor.get(f"/patients/{patient.code}/consent-forms").get_data(as_text=True)
    assert form.code in listing
    pdf = doctor.get(f"/consent-forms/{form.code}/consent.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    events = {(e.action, e.object_type) for e in AuditEvent.select().where(AuditEvent.patient_id == patient.id)}
    assert {("create", "consent"), ("update", "consent"), ("read", "consent"), ("print", "consent")} <= events


def test_empty_signature_is_refused(app, staff, seeded, as_role, make_patient):
    form = _form(app, staff, make_patient())
    resp = as_role("doctor").post(f"/consent-forms/{form.code}/sign", data=_sign_data(doctor_strokes="[]"))
    assert resp.status_code == 422
    assert ConsentForm.get_by_id(form.id).status == "draft"


def test_altered_text_no_longer_matches_its_hash(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    form = _form(app, staff, patient)
    doctor = as_role("doctor")
    assert doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 303
    with app.app_context():
        assert check_consent_hashes()[0] is True
    # someone edits the stored text outside the portal
    ConsentForm.update(text=form.text.replace("拔除", "保留")).where(ConsentForm.id == form.id).execute()
    with app.app_context():
        ok, detail, fix = check_consent_hashes()
        assert not consents.hash_matches(ConsentForm.get_by_id(form.id))
    assert ok is False and form.code in detail and fix
    page = doctor.get(f"/consent-forms/{form.code}").get_data(as_text=True)
    assert "no longer matches what was signed" in page
    assert "Text altered" in doctor.get(f"/patients/{patient.code}/consent-forms").get_data(as_text=True)


def test_an_altered_draft_cannot_be_signed(app, staff, seeded, make_patient):
    form = _form(app, staff, make_patient())
    ConsentForm.update(text=form.text + "x").where(ConsentForm.id == form.id).execute()
    with app.app_context(), pytest.raises(ServiceError):
        consents.sign(ConsentForm.get_by_id(form.id), staff["doctor"], clinic_today(), "patient", "", "",
                      STROKES, STROKES)


def test_a_minor_needs_a_guardian_with_relationship(app, staff, seeded, as_role, make_patient):
    today = clinic_today()
    child = make_patient(name="李小宝", birth_date=date(today.year - 9, 1, 1))
    form = _form(app, staff, child, kind="minor")
    doctor = as_role("doctor")
    page = doctor.get(f"/consent-forms/{form.code}").get_data(as_text=True)
    assert "Under 18: a guardian signs" in page
    resp = doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data())
    assert resp.status_code == 422 and "guardian signs" in resp.get_data(as_text=True)
    resp = doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data(signer_kind="guardian", signer_name="李大宝"))
    assert resp.status_code == 422 and "related" in resp.get_data(as_text=True)
    assert ConsentForm.get_by_id(form.id).status == "draft"
    resp = doctor.post(f"/consent-forms/{form.code}/sign",
                       data=_sign_data(signer_kind="guardian", signer_name="李大宝", relationship="father"))
    assert resp.status_code == 303
    signed = ConsentForm.get_by_id(form.id)
    assert (signed.signer_kind, signed.signer_name, signed.relationship) == ("guardian", "李大宝", "father")


@pytest.mark.clock("2026-06-10 10:00")
def test_an_adult_turning_18_today_signs_alone(app, staff, seeded, make_patient):
    """Eighteen today is an adult; eighteen tomorrow is still a minor (pinned: the suite also runs
    on 31 December, where a month-end birthday must not decide the answer)."""
    today = clinic_today()
    adult = make_patient(birth_date=date(2008, 6, 10))
    almost = make_patient(name="明天满十八", birth_date=date(2008, 6, 11), phone="13900000311")
    _form(app, staff, adult)
    with app.app_context():
        assert consents.is_minor(adult, today) is False
        assert consents.is_minor(almost, today) is True


def test_a_signed_form_is_locked(app, staff, seeded, as_role, make_patient):
    form = _form(app, staff, make_patient())
    doctor = as_role("doctor")
    assert doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 303
    before = ConsentForm.get_by_id(form.id)
    other = json.dumps([[{"x": 1, "y": 1}, {"x": 2, "y": 9}]])
    resp = doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data(patient_strokes=other, doctor_strokes=other))
    assert resp.status_code == 409 and "Already signed by" in resp.get_data(as_text=True)
    after = ConsentForm.get_by_id(form.id)
    assert (after.patient_strokes, after.doctor_strokes, after.text, after.patient_signed_at) == (
        before.patient_strokes, before.doctor_strokes, before.text, before.patient_signed_at)
    assert 'data-signature' not in doctor.get(f"/consent-forms/{form.code}").get_data(as_text=True)


def test_sixteen_doctors_sign_one_form_once(app, staff, seeded, make_patient):
    form = _form(app, staff, make_patient())

    def work(i):
        return consents.sign(ConsentForm.get_by_id(form.id), staff["doctor"], clinic_today(), "patient", "", "",
                             json.dumps([[{"x": i, "y": 0}, {"x": i + 5, "y": 5}]]), STROKES)

    results, errors = race(app, 16, work)
    assert errors == []
    won = [r for r in results if isinstance(r, ConsentForm)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 15
    assert all("Already signed" in str(r.message) for r in lost)
    signed = ConsentForm.get_by_id(form.id)
    assert signed.patient_strokes == won[0].patient_strokes
    assert AuditEvent.select().where(AuditEvent.object_type == "consent", AuditEvent.object_ref == form.code,
                                     AuditEvent.action == "update").count() == 1


@pytest.mark.parametrize("role", ["frontdesk", "consultant"])
def test_front_desk_and_consultant_see_no_consent(app, staff, seeded, as_role, make_patient, role):
    patient = make_patient()
    form = _form(app, staff, patient)
    client = as_role(role)
    for url in (f"/patients/{patient.code}/consent-forms", f"/consent-forms/{form.code}", f"/consent-forms/{form.code}/consent.pdf",
                "/consent-templates"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 403
    assert client.post(f"/patients/{patient.code}/consent-forms", data={"kind": "extraction"}).status_code == 403


def test_nurse_prepares_but_does_not_sign(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    nurse = as_role("nurse")
    assert nurse.post(f"/patients/{patient.code}/consent-forms", data={"kind": "implant", "plan_item": ""}).status_code == 303
    form = ConsentForm.get(ConsentForm.patient == patient)
    assert form.doctor_id is None
    assert nurse.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 403
    assert as_role("doctor").post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 303


def test_manager_edits_a_template_as_a_new_version(app, staff, seeded, as_role, make_patient):
    patient = make_patient()
    old_form = _form(app, staff, patient, kind="whitening")
    manager = as_role("manager")
    assert "Consent templates" in manager.get("/consent-templates").get_data(as_text=True)
    with app.app_context():
        tpl = consents.template_for("whitening")
    data = {f"whitening-{f}": getattr(tpl, f) for f in consents.FIELDS}
    data["whitening-body_zh"] = "新的风险说明：牙齿敏感。"
    resp = manager.post("/consent-templates/whitening", data=data)
    assert resp.status_code == 303
    with app.app_context():
        new = consents.template_for("whitening")
    assert new.version == tpl.version + 1 and new.body_zh == "新的风险说明：牙齿敏感。"
    assert ConsentTemplate.select().where(ConsentTemplate.kind == "whitening").count() == 2
    assert "新的风险说明" not in ConsentForm.get_by_id(old_form.id).text  # a filled form keeps its text
    new_form = _form(app, staff, patient, kind="whitening")
    assert "新的风险说明" in new_form.text
    data["whitening-title_en"] = ""
    assert manager.post("/consent-templates/whitening", data=data).status_code == 422


def test_english_form_reads_english(app, staff, seeded, make_patient):
    form = _form(app, staff, make_patient(), kind="implant", lang="en")
    assert "Consent to dental implant surgery" in form.text and "种植" not in form.text.split("\n", 3)[-1]


# --- starting a procedure that needs consent -------------------------------------------------

def _visit_with_extraction(app, staff, patient):
    from portal.services import chart_visits as visits
    with app.app_context():
        scaling_procedure("SUR-EXT", [("局部麻醉", "Local anaesthesia")])
        return visits.open_visit(patient, staff["doctor"], clinic_today())


def test_starting_an_extraction_without_consent_warns_and_needs_a_reason(app, staff, seeded, as_role, make_patient):
    from portal.models import VisitProcedure
    patient = make_patient()
    visit = _visit_with_extraction(app, staff, patient)
    doctor = as_role("doctor")
    resp = doctor.post(f"/visits/{visit.code}/procedures", data={"procedure": "SUR-EXT", "tooth": "38"})
    assert resp.status_code == 409
    assert "No signed consent for this procedure" in resp.get_data(as_text=True)
    assert VisitProcedure.select().where(VisitProcedure.visit == visit.id).count() == 0
    resp = doctor.post(f"/visits/{visit.code}/procedures", data={"procedure": "SUR-EXT", "tooth": "38",
                                                                 "consent_override_sent": "1", "consent_override": " "})
    assert resp.status_code == 409 and "Give the reason." in resp.get_data(as_text=True)
    resp = doctor.post(f"/visits/{visit.code}/procedures", data={"procedure": "SUR-EXT", "tooth": "38",
                                                                 "consent_override": "急诊，患者口头同意"})
    assert resp.status_code == 303
    assert VisitProcedure.select().where(VisitProcedure.visit == visit.id).count() == 1
    override = AuditEvent.get(AuditEvent.object_type == "consent_override")
    assert override.patient_id == patient.id and "急诊" in override.detail and "SUR-EXT" in override.detail


def test_a_signed_consent_lets_the_procedure_start(app, staff, seeded, as_role, make_patient):
    from portal.models import VisitProcedure
    patient = make_patient()
    visit = _visit_with_extraction(app, staff, patient)
    form = _form(app, staff, patient)
    doctor = as_role("doctor")
    assert doctor.post(f"/consent-forms/{form.code}/sign", data=_sign_data()).status_code == 303
    resp = doctor.post(f"/visits/{visit.code}/procedures", data={"procedure": "SUR-EXT", "tooth": "38"})
    assert resp.status_code == 303
    assert VisitProcedure.select().where(VisitProcedure.visit == visit.id).count() == 1
    assert AuditEvent.select().where(AuditEvent.object_type == "consent_override").count() == 0


def test_strokes_draw_as_svg_paths(app):
    svg = consents.strokes_svg(STROKES)
    assert svg.startswith("<svg") and svg.count("<path") == 1
    assert consents.strokes_svg("") .count("<path") == 0


def test_the_patient_link_lists_signed_forms_with_their_pdf(app, staff, seeded, as_role, make_patient):
    from portal.services import patient_links as links
    patient = make_patient(name="链接同意")
    other = make_patient(name="别人同意")
    signed = _form(app, staff, patient)
    draft = _form(app, staff, patient, kind="implant")
    theirs = _form(app, staff, other)
    doctor = as_role("doctor")
    for f in (signed, theirs):
        assert doctor.post(f"/consent-forms/{f.code}/sign", data=_sign_data()).status_code == 303
    with app.app_context():
        issued = links.issue(patient, "patient", None, app.config)
    client = app.test_client()
    client.post(f"/p/{issued.token}")
    assert client.post("/p/check", data={"answer": patient.birth_date.isoformat()}).status_code == 303
    html = client.get("/p/home").get_data(as_text=True)
    assert f"/p/consent-forms/{signed.code}.pdf" in html and draft.code not in html
    pdf = client.get(f"/p/consent-forms/{signed.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/p/consent-forms/{draft.code}.pdf").status_code == 404
    assert client.get(f"/p/consent-forms/{theirs.code}.pdf").status_code == 404
    assert AuditEvent.select().where(AuditEvent.actor_label == "patient-link", AuditEvent.action == "print",
                                     AuditEvent.object_type == "consent").count() == 1
    assert not app.test_client().get(f"/p/consent-forms/{signed.code}.pdf").data.startswith(b"%PDF")


def test_the_manager_finds_the_templates_from_the_catalogue(app, staff, seeded, as_role):
    assert "/consent-templates" in as_role("manager").get("/catalogue").get_data(as_text=True)
    assert "/consent-templates" not in as_role("doctor").get("/catalogue").get_data(as_text=True)
