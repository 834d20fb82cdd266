"""Prescriptions (issue 14): allergy, child-weight and pregnancy checks; signed means unchangeable;
void and reissue; the PDF in Chinese with an embedded CJK font; who may see them; the audit trail."""
import shutil
import subprocess
from datetime import date

import pytest

from portal.models import AuditEvent, PatientTag, Tag
from portal.models.prescription import Prescription, PrescriptionLine
from portal.services import Conflict, ServiceError
from portal.services import chart_visits as visits
from portal.services import prescriptions as rxs
from tests.clock import clinic_today
from tests.prescription_samples import ensure_drugs, line


@pytest.fixture()
def drugs(app):
    return ensure_drugs()


@pytest.fixture()
def adult(make_patient):
    return make_patient(name="王青霉", sex="F", birth_date=date(1985, 3, 1), allergies="青霉素过敏（皮疹）")


@pytest.fixture()
def child(make_patient):
    return make_patient(name="李小童", sex="M", birth_date=date(clinic_today().year - 6, 1, 1))


def _visit(patient, staff):
    return visits.open_visit(patient, staff["doctor"], clinic_today())


def _draft(*lines, **kw):
    return rxs.Draft(lines=list(lines), diagnosis=kw.pop("diagnosis", "冠周炎"), **kw)


def test_penicillin_allergy_blocks_amoxicillin_without_a_reason(staff, drugs, adult):
    visit = _visit(adult, staff)
    with pytest.raises(ServiceError) as err:
        rxs.write(visit, _draft(line("AMOX", 500)), staff["doctor"], clinic_today())
    assert err.value.field == "override_reason"
    assert not Prescription.select().exists()
    rx = rxs.write(visit, _draft(line("AMOX", 500), override_reason="皮试阴性，已与患者确认"), staff["doctor"],
                   clinic_today())
    assert rx.override_reason and "AMOX" not in rx.warnings and rx.warnings
    event = AuditEvent.get(AuditEvent.object_type == "prescription", AuditEvent.action == "create")
    assert "皮试阴性" in event.detail


def test_allergy_class_from_a_clinical_alert_tag(staff, drugs, make_patient):
    patient = make_patient(name="赵布洛")
    tag = Tag.create(name="NSAID过敏", clinical_alert=True)
    PatientTag.create(patient=patient, tag=tag)
    assert "nsaid" in rxs.allergy_classes(patient)
    with pytest.raises(ServiceError):
        rxs.write(_visit(patient, staff), _draft(line("IBUP", 300, "bid")), staff["doctor"], clinic_today())
    # another class is not blocked
    rxs.write(_visit(patient, staff), _draft(line("PARA", 500, "tid")), staff["doctor"], clinic_today())


def test_child_needs_a_weight_and_a_dose_within_the_per_kg_limit(staff, drugs, child):
    visit = _visit(child, staff)
    with pytest.raises(ServiceError) as err:
        rxs.write(visit, _draft(line("AMOX", 250)), staff["doctor"], clinic_today())
    assert err.value.field == "weight_kg"
    # 20 kg × 90 mg/kg/day = 1800 mg a day; 750 mg three times a day is 2250: refused, even with a reason
    with pytest.raises(ServiceError) as err:
        rxs.write(visit, _draft(line("AMOX", 750), weight_kg="20", override_reason="想多给点"), staff["doctor"],
                  clinic_today())
    assert "2250" in str(err.value.message) and "1800" in str(err.value.message)
    rx = rxs.write(visit, _draft(line("AMOX", 500), weight_kg="20"), staff["doctor"], clinic_today())
    assert rx.status == "draft" and float(rx.weight_kg) == 20


def test_adult_maximum_a_day_is_refused(staff, drugs, make_patient):
    visit = _visit(make_patient(name="成年人"), staff)
    with pytest.raises(ServiceError):
        rxs.write(visit, _draft(line("IBUP", 900, "bid")), staff["doctor"], clinic_today())


def test_pregnancy_warning_needs_a_reason(staff, drugs, make_patient):
    visit = _visit(make_patient(name="孕妇", sex="F", birth_date=date(1992, 1, 1)), staff)
    with pytest.raises(ServiceError) as err:
        rxs.write(visit, _draft(line("METR", 400), pregnant=True), staff["doctor"], clinic_today())
    assert err.value.field == "override_reason"
    rxs.write(visit, _draft(line("METR", 400), pregnant=False), staff["doctor"], clinic_today())
    rxs.write(visit, _draft(line("METR", 400), pregnant=True, override_reason="孕中期，急性感染，已会诊"),
              staff["doctor"], clinic_today())


def test_a_signed_prescription_cannot_change(staff, drugs, make_patient, as_role):
    patient = make_patient(name="签名后")
    visit = _visit(patient, staff)
    rx = rxs.write(visit, _draft(line("PARA", 500)), staff["doctor"], clinic_today())
    rxs.sign(rx, staff["doctor"])
    with pytest.raises(Conflict):
        rxs.update(rx, _draft(line("IBUP", 300, "bid")), staff["doctor"], clinic_today())
    with pytest.raises(Conflict):
        rxs.sign(rx, staff["doctor"])
    client = as_role("doctor")
    resp = client.post(f"/prescriptions/{rx.code}", data={"drug_1": "IBUP", "dose_1": "300", "frequency_1": "bid",
                                                          "days_1": "3", "quantity_1": "1", "diagnosis": "改"})
    assert resp.status_code == 409
    assert [ln.drug.code for ln in rxs.lines_of(rx)] == ["PARA"]
    assert Prescription.get_by_id(rx.id).diagnosis == "冠周炎"
    assert "edit the draft" not in client.get(f"/prescriptions/{rx.code}").get_data(as_text=True).lower()
    # the correction: void with a reason, then reissue from the voided one
    assert client.post(f"/prescriptions/{rx.code}/void", data={"reason": ""}).status_code == 422
    assert client.post(f"/prescriptions/{rx.code}/void", data={"reason": "剂量写错"}).status_code == 303
    page = client.get(f"/visits/{visit.code}/prescriptions/new?reissue={rx.code}")
    assert page.status_code == 200 and 'value="PARA" selected' in page.get_data(as_text=True)
    resp = client.post(f"/visits/{visit.code}/prescriptions?reissue={rx.code}",
                       data={"drug_1": "PARA", "dose_1": "500", "frequency_1": "prn", "days_1": "3", "quantity_1": "1",
                             "diagnosis": "冠周炎"})
    assert resp.status_code == 303
    new = Prescription.get(Prescription.replaces == rx)
    assert new.status == "draft" and Prescription.get_by_id(rx.id).status == "void"


def test_route_writes_signs_and_shows(staff, drugs, make_patient, as_role):
    patient = make_patient(name="走流程")
    visit = _visit(patient, staff)
    client = as_role("doctor")
    assert "New prescription" in client.get(f"/visits/{visit.code}").get_data(as_text=True)
    page = client.get(f"/visits/{visit.code}/prescriptions/new")
    assert page.status_code == 200
    resp = client.post(f"/visits/{visit.code}/prescriptions", data={"drug_1": "AMOX", "dose_1": "abc"})
    assert resp.status_code == 422
    resp = client.post(f"/visits/{visit.code}/prescriptions",
                       data={"drug_1": "AMOX", "dose_1": "500", "frequency_1": "tid", "days_1": "5", "quantity_1": "2",
                             "diagnosis": "38 冠周炎"})
    assert resp.status_code == 303
    rx = Prescription.get(Prescription.visit == visit)
    assert client.post(f"/prescriptions/{rx.code}/sign").status_code == 303
    assert client.post(f"/prescriptions/{rx.code}/sign").status_code == 409
    listing = client.get(f"/patients/{patient.code}/prescriptions").get_data(as_text=True)
    assert rx.code in listing and "Amoxicillin" in listing
    assert PrescriptionLine.select().where(PrescriptionLine.prescription == rx).count() == 1


def test_only_a_doctor_writes(staff, drugs, adult):
    with pytest.raises(ServiceError):
        rxs.write(_visit(adult, staff), _draft(line("PARA", 500)), staff["nurse"], clinic_today())


def _rx(staff, patient, sign=True):
    rx = rxs.write(_visit(patient, staff), _draft(line("AMOX", 500), line("CHXM", 15, "bid", 7, 1, "饭后含漱"),
                                                  override_reason="已皮试"), staff["doctor"], clinic_today())
    return rxs.sign(rx, staff["doctor"]) if sign else rx


@pytest.mark.parametrize("role,status", [("doctor", 200), ("nurse", 200), ("manager", 200), ("frontdesk", 403),
                                         ("consultant", 403)])
def test_who_sees_prescriptions(staff, drugs, adult, as_role, role, status):
    rx = _rx(staff, adult)
    client = as_role(role)
    assert client.get(f"/patients/{adult.code}/prescriptions").status_code == status
    assert client.get(f"/prescriptions/{rx.code}").status_code == status
    assert client.get(f"/prescriptions/{rx.code}/print.pdf").status_code == status
    assert client.get("/drugs").status_code == (403 if role in ("frontdesk", "consultant") else 200)


def test_reads_and_prints_are_audited(staff, drugs, adult, as_role):
    rx = _rx(staff, adult)
    client = as_role("nurse")
    client.get(f"/prescriptions/{rx.code}")
    client.get(f"/prescriptions/{rx.code}/print.pdf")
    kinds = {(e.action, e.object_type) for e in AuditEvent.select().where(AuditEvent.object_ref == rx.code,
                                                                            AuditEvent.role == "nurse")}
    assert ("read", "prescription") in kinds and ("print", "prescription") in kinds


@pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdffonts"), reason="poppler-utils missing")
def test_pdf_has_chinese_text_and_an_embedded_cjk_font(staff, drugs, adult, as_role, tmp_path):
    rx = _rx(staff, adult)
    resp = as_role("doctor").get(f"/prescriptions/{rx.code}/print.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "rx.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for words in ("处方", "阿莫西林", "王青霉", "审核", "调配", "核对", "Rp", "已皮试"):
        assert words in text, words
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [ln for ln in fonts.splitlines() if "CJK" in ln]
    assert cjk and all(" yes " in ln for ln in cjk), fonts


def test_manager_keeps_the_catalogue(staff, drugs, as_role):
    client = as_role("manager")
    resp = client.post("/drugs", data={"name_zh": "替硝唑片", "name_en": "Tinidazole", "form": "tablet",
                                       "strength": "0.5 g", "dose_unit": "mg", "default_dose": "500", "route": "oral",
                                       "frequency": "qd", "days": "3", "max_daily": "2000",
                                       "allergy_class": "nitroimidazole", "package_unit": "box"})
    assert resp.status_code == 303
    assert client.post("/drugs", data={"name_zh": "", "default_dose": "1"}).status_code == 422
    drug = drugs["PARA"]
    resp = client.post(f"/drugs/{drug.code}", data={"name_zh": drug.name_zh, "name_en": drug.name_en, "form": "tablet",
                                                    "default_dose": "500", "route": "oral", "frequency": "prn",
                                                    "days": "3", "package_unit": "box"})
    assert resp.status_code == 303
    assert not type(drug).get_by_id(drug.id).active  # the box was not ticked: retired
    assert as_role("doctor").post("/drugs", data={"name_zh": "x"}).status_code == 403


def test_patient_link_lists_signed_prescriptions_with_their_pdf(app, staff, drugs, adult, make_patient):
    from portal.services import patient_links as links
    signed = _rx(staff, adult)
    draft = _rx(staff, adult, sign=False)
    other = _rx(staff, make_patient(name="别人家"))
    with app.test_request_context():
        issued = links.issue(adult, "patient", None, app.config)
    client = app.test_client()
    client.post(f"/p/{issued.token}")
    assert client.post("/p/check", data={"answer": adult.birth_date.isoformat()}).status_code == 303
    html = client.get("/p/home").get_data(as_text=True)
    assert f"/p/prescriptions/{signed.code}.pdf" in html and draft.code not in html
    pdf = client.get(f"/p/prescriptions/{signed.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/p/prescriptions/{draft.code}.pdf").status_code == 404
    assert client.get(f"/p/prescriptions/{other.code}.pdf").status_code == 404
    assert AuditEvent.select().where(AuditEvent.actor_label == "patient-link", AuditEvent.action == "print",
                                     AuditEvent.object_ref == signed.code).exists()
    assert app.test_client().get(f"/p/prescriptions/{signed.code}.pdf").status_code in (200, 404) and \
        not app.test_client().get(f"/p/prescriptions/{signed.code}.pdf").data.startswith(b"%PDF")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_visit_summary_lists_the_signed_prescriptions(staff, drugs, adult, as_role, tmp_path):
    rx = _rx(staff, adult)
    resp = as_role("doctor").get(f"/visits/{rx.visit.code}/summary.pdf?lang=zh_CN")
    assert resp.status_code == 200
    path = tmp_path / "visit.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "处方" in text and rx.code in text and "阿莫西林" in text
