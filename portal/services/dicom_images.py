"""DICOM files kept beside the X-rays and photos (issue 14): read with pydicom for what the clinic
needs (modality, study date, the patient named in the file, checked against the chart), and a
PNG preview drawn from uncompressed grey or colour pixel data (Pillow, no numpy). A compressed
file keeps its data and shows its metadata instead of a preview."""
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flask_babel import lazy_gettext as _l

CONTENT_TYPE = "application/dicom"
UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}  # implicit and explicit VR little endian
PREVIEW_MAX = 1600  # px, the longer side
MODALITY_LABELS = {"IO": _l("Intraoral X-ray"), "PX": _l("Panoramic X-ray"), "DX": _l("Digital X-ray"),
                   "CT": _l("CT / CBCT"), "XC": _l("Photograph"), "CR": _l("Computed radiography"),
                   "OT": _l("Other")}


def is_dicom(data: bytes) -> bool:
    """The Part 10 file format: a 128-byte preamble, then DICM."""
    return len(data) > 132 and data[128:132] == b"DICM"


@dataclass
class DicomMeta:
    modality: str = ""
    study_date: date | None = None
    patient_id: str = ""
    patient_name: str = ""
    rows: int = 0
    columns: int = 0
    transfer_syntax: str = ""
    warnings: list = field(default_factory=list)

    @property
    def modality_label(self):
        return MODALITY_LABELS.get(self.modality, self.modality or "–")


def _dataset(source, pixels: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError
    try:
        return pydicom.dcmread(source, stop_before_pixels=not pixels)
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, AttributeError, OSError) as err:
        raise ValueError(str(err)) from err


def validate(data: bytes) -> bytes:
    """A DICOM file that pydicom reads whole; kept byte for byte (the clinical record)."""
    ds = _dataset(io.BytesIO(data), pixels=True)
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise ValueError("no image in the file")
    return data


def _study_date(value) -> date | None:
    text = str(value or "")
    if re.fullmatch(r"\d{8}", text):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


def _letters(text: str) -> str:
    return re.sub(r"[\W_]+", "", text or "").lower()


def check_patient(meta: DicomMeta, patient) -> list:
    """Warnings when the file names another patient than the chart it is uploaded to."""
    warnings = []
    if meta.patient_id and meta.patient_id.strip() not in (patient.chart_no, patient.code):
        warnings.append(_l("The file's patient ID (%(id)s) is not this chart's number (%(no)s).",
                           id=meta.patient_id.strip(), no=patient.chart_no))
    if meta.patient_name:
        parts = [p for p in re.split(r"[\^\s,]+", meta.patient_name) if p]
        written = {_letters(meta.patient_name), _letters("".join(reversed(parts)))}
        known = {_letters(patient.name), _letters(getattr(patient, "name_pinyin", "") or "")}
        if not written & known:
            warnings.append(_l("The file names the patient %(name)s, not %(chart)s.", name=meta.patient_name,
                               chart=patient.name))
    return warnings


def read_meta(path: Path, patient=None) -> DicomMeta:
    try:
        ds = _dataset(str(path), pixels=False)
    except (ValueError, FileNotFoundError):
        return DicomMeta(warnings=[_l("The file could not be read.")])
    meta = DicomMeta(modality=str(ds.get("Modality", "") or ""), study_date=_study_date(ds.get("StudyDate")),
                     patient_id=str(ds.get("PatientID", "") or ""), patient_name=str(ds.get("PatientName", "") or ""),
                     rows=int(ds.get("Rows", 0) or 0), columns=int(ds.get("Columns", 0) or 0),
                     transfer_syntax=str(getattr(ds.file_meta, "TransferSyntaxUID", "") or ""))
    if patient is not None:
        meta.warnings = check_patient(meta, patient)
    return meta


def preview_png(path: Path) -> bytes | None:
    """A PNG of the first frame, or None when the pixel data is compressed or of a kind not drawn here."""
    from PIL import Image, ImageOps
    try:
        ds = _dataset(str(path), pixels=True)
    except (ValueError, FileNotFoundError):
        return None
    if str(getattr(ds.file_meta, "TransferSyntaxUID", "")) not in UNCOMPRESSED or "PixelData" not in ds:
        return None
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    bits, samples = int(ds.get("BitsAllocated", 0) or 0), int(ds.get("SamplesPerPixel", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "") or "")
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    data = bytes(ds.PixelData)
    frame = rows * cols * samples * (bits // 8)
    if not rows or not cols or bits not in (8, 16) or len(data) < frame:
        return None
    data = data[:frame]
    try:
        if samples == 3 and bits == 8 and photometric == "RGB" and int(ds.get("PlanarConfiguration", 0) or 0) == 0:
            image = Image.frombytes("RGB", (cols, rows), data)
        elif samples == 1 and photometric in ("MONOCHROME1", "MONOCHROME2"):
            if bits == 8:
                image = Image.frombytes("L", (cols, rows), data)
            else:
                image = Image.frombytes("I", (cols, rows), data, "raw", "I;16S" if signed else "I;16")
                low, high = image.getextrema()
                scale = 255.0 / (high - low) if high > low else 0.0
                image = image.point(lambda v: v * scale - low * scale + 0.5).convert("L")
            if photometric == "MONOCHROME1":
                image = ImageOps.invert(image)
        else:
            return None
    except (ValueError, OSError):
        return None
    image.thumbnail((PREVIEW_MAX, PREVIEW_MAX))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
