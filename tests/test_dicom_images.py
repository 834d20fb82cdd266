"""DICOM files beside the X-rays and photos (issue 14), and before/after photos side by side.
The DICOM files are made here with pydicom: a 16-bit grey X-ray, a compressed one, a damaged one."""
import io
from datetime import date, timedelta

import pytest
from PIL import Image

from portal.models import AuditEvent, ClinicalImage
from portal.services import chart_images as images
from portal.services import patient_links as links
from tests.chart_samples import tiny_png


def make_dicom(patient_id="", patient_name="", modality="IO", study="20261130", rows=4, cols=6, bits=16,
               compressed=False, photometric="MONOCHROME2") -> bytes:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.3"  # digital intra-oral X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit if compressed else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName, ds.Modality, ds.StudyDate = patient_id, patient_name, modality, study
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, cols, 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    if compressed:
        from pydicom.encaps import encapsulate
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xe0" + b"\x00" * 30])  # stands in for a JPEG stream
        ds["PixelData"].VR = "OB"
    else:
        step = 4000 // (rows * cols) if bits == 16 else 10
        values = [i * step for i in range(rows * cols)]
        ds.PixelData = b"".join(v.to_bytes(bits // 8, "little") for v in values)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="张三", birth_date=date(1980, 5, 5))


def _upload(client, patient, name, data, kind="periapical", teeth=""):
    return client.post(f"/patients/{patient.code}/images", content_type="multipart/form-data",
                       data={"kind": kind, "teeth": teeth, "file": (io.BytesIO(data), name)})


def test_dicom_upload_reads_metadata_and_draws_a_preview(app, as_role, patient):
    doctor = as_role("doctor")
    data = make_dicom(patient_id=patient.chart_no, patient_name="ZHANG^SAN")
    resp = _upload(doctor, patient, "IMG0001", data)  # DICOM files often have no extension
    assert resp.status_code == 303
    image = ClinicalImage.get()
    assert image.content_type == "application/dicom" and image.size == len(data)  # kept byte for byte
    page = doctor.get(resp.headers["Location"]).get_data(as_text=True)
    assert "DICOM" in page and "Intraoral X-ray" in page and "not this chart" not in page and "names the patient" not in page
    preview = doctor.get(f"/images/{image.code}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    png = Image.open(io.BytesIO(preview.data))
    assert png.size == (6, 4) and png.mode == "L" and png.getextrema() == (0, 255)  # 16-bit grey scaled to 8
    download = doctor.get(f"/images/{image.code}?download=1")
    assert download.data == data and "attachment" in download.headers["Content-Disposition"]
    assert AuditEvent.select().where(AuditEvent.object_type == "image", AuditEvent.action == "create").count() == 1


def test_dicom_of_another_patient_warns(app, as_role, patient):
    doctor = as_role("doctor")
    data = make_dicom(patient_id="C999999", patient_name="LI^SI")
    resp = _upload(doctor, patient, "scan.dcm", data)
    assert resp.status_code == 303  # kept (a wrong ID is often a typing slip at the sensor), but said loudly
    page = doctor.get(resp.headers["Location"]).get_data(as_text=True)
    assert "C999999" in page and "is not this chart" in page and "LI^SI" in page


def test_chinese_name_and_pinyin_both_match(app, patient):
    from portal.services.dicom_images import DicomMeta, check_patient
    assert check_patient(DicomMeta(patient_name="张三"), patient) == []
    assert check_patient(DicomMeta(patient_name="SAN^ZHANG"), patient) == [] or patient.name_pinyin == ""
    assert check_patient(DicomMeta(patient_name="WANG^WU"), patient) != []


def test_compressed_dicom_shows_its_metadata_without_a_preview(app, as_role, patient):
    doctor = as_role("doctor")
    assert _upload(doctor, patient, "pano.dcm", make_dicom(modality="PX", compressed=True, bits=8),
                   kind="panoramic").status_code == 303
    image = ClinicalImage.get()
    assert doctor.get(f"/images/{image.code}/preview").status_code == 404
    page = doctor.get(f"/patients/{patient.code}/images").get_data(as_text=True)
    assert "Panoramic X-ray" in page and "DICOM file without a preview" in page


@pytest.mark.parametrize("name, data, kind, message", [
    ("broken.dcm", b"\x00" * 128 + b"DICM" + b"\x02\x00garbage", "periapical", "damaged"),
    ("photo.png", None, "periapical", "ends in .png"),
    ("scan.dcm", None, "intraoral", "choose its kind"),
])
def test_bad_dicom_uploads_are_refused(app, as_role, patient, name, data, kind, message):
    resp = _upload(as_role("doctor"), patient, name, data or make_dicom(), kind=kind)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert ClinicalImage.select().count() == 0


def test_dicom_is_never_released_and_front_desk_sees_none(app, as_role, patient):
    doctor = as_role("doctor")
    _upload(doctor, patient, "x.dcm", make_dicom())
    image = ClinicalImage.get()
    resp = doctor.post(f"/images/{image.code}/release", data={"released": "y"})
    assert resp.status_code == 422 and not ClinicalImage.get().released
    desk = as_role("frontdesk")
    assert desk.get(f"/images/{image.code}/preview").status_code == 403
    assert desk.get(f"/patients/{patient.code}/images/compare").status_code == 403


def test_before_and_after_side_by_side(app, as_role, patient, staff, clock):
    doctor = as_role("doctor")
    _upload(doctor, patient, "b.png", tiny_png(), kind="before", teeth="11")
    _upload(doctor, patient, "other.png", tiny_png(), kind="before", teeth="36")
    clock.set(clock.now() + timedelta(days=30))
    from portal.blueprints.chart.loaders import image_root
    images.store(patient, "a.png", tiny_png(), "after", staff["doctor"], image_root(app), teeth="11, 21")
    doctor = as_role("doctor")  # a month on: a fresh sign-in
    before = ClinicalImage.get(ClinicalImage.original_name == "b.png")
    after = ClinicalImage.get(ClinicalImage.original_name == "a.png")
    assert [(b.code, a.code) for b, a in images.before_after_pairs(images.images_of(patient))] == [(before.code, after.code)]
    page = doctor.get(f"/patients/{patient.code}/images/compare").get_data(as_text=True)
    assert before.code in page and after.code in page
    assert "Before and after (1)" in doctor.get(f"/patients/{patient.code}/images").get_data(as_text=True)
    # the patient's link shows the pair only when both photos are released
    provider = next(p for key, _, _, p in links.SECTIONS if key == "before_after")
    assert provider(patient, app.config, None) is None
    images.set_released(before, True, staff["doctor"])
    assert provider(patient, app.config, None) is None
    images.set_released(after, True, staff["doctor"])
    assert provider(patient, app.config, None)["pairs"][0][1].code == after.code
