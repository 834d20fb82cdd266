"""Clinical images: allow-listed by content (magic bytes), size-limited, stored outside static under
random names, metadata (EXIF, text chunks) stripped, served only as the image type they are.

JPEG, PNG and WebP are accepted, and DICOM files (issue 14, services/dicom_images.py): read whole
by pydicom, kept byte for byte (they are the record), never released to the patient's link, shown
through a PNG preview drawn from their pixel data. PDF is not accepted.
"""
import hashlib
import secrets
import struct
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import ClinicalImage, Patient, Staff, Visit, new_code
from portal.models.chart import IMAGE_KINDS
from portal.services import ServiceError
from portal.services.chart_teeth import valid_tooth
from portal.services import dicom_images as dicom

TYPES = {"image/jpeg": ("jpg", (".jpg", ".jpeg")), "image/png": ("png", (".png",)),
         "image/webp": ("webp", (".webp",)), dicom.CONTENT_TYPE: ("dcm", (".dcm", ".dicom", ""))}
DICOM_KINDS = ("periapical", "bitewing", "panoramic", "cbct", "other")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def sniff(data: bytes) -> str | None:
    """The content type from the file's first bytes, or None when it is not an allowed image."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if dicom.is_dicom(data):
        return dicom.CONTENT_TYPE
    return None


def _strip_jpeg(data: bytes) -> bytes:
    """Drop APPn (EXIF, XMP, …) and COM segments; keep APP0 (JFIF) and the image itself."""
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[i:]
            return bytes(out)
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if length < 2 or i + 2 + length > len(data):
            raise ValueError("bad length")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i:i + 2 + length]
        i += 2 + length
    raise ValueError("no image data")


def _strip_png(data: bytes) -> bytes:
    out, i, ended = bytearray(data[:8]), 8, False
    while i + 12 <= len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        kind = data[i + 4:i + 8]
        if i + 12 + length > len(data):
            raise ValueError("bad chunk")
        if kind not in (b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            out += data[i:i + 12 + length]
        i += 12 + length
        if kind == b"IEND":
            ended = True
            break
    if not ended:
        raise ValueError("no IEND")
    return bytes(out)  # anything after IEND (an appended script, say) is dropped


def _strip_webp(data: bytes) -> bytes:
    size = struct.unpack("<I", data[4:8])[0]
    if size + 8 > len(data) or size < 12:
        raise ValueError("bad RIFF")
    out, i = bytearray(), 12
    while i + 8 <= size + 8:
        kind, length = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        chunk = data[i:i + 8 + length + (length & 1)]
        if kind not in (b"EXIF", b"XMP "):
            out += chunk
        i += 8 + length + (length & 1)
    return b"RIFF" + struct.pack("<I", len(out) + 4) + b"WEBP" + bytes(out)


STRIP = {"image/jpeg": _strip_jpeg, "image/png": _strip_png, "image/webp": _strip_webp,
         dicom.CONTENT_TYPE: dicom.validate}


def image_root(app=None) -> Path:
    """Uploads live in the instance folder (or IMAGE_ROOT), never under static/."""
    app = app or current_app
    return Path(app.config.get("IMAGE_ROOT") or Path(app.instance_path) / "uploads" / "images")


def safe_display_name(name: str) -> str:
    """The uploaded name for display only: the last path part, printable, short."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*;').strip(" .")
    return base[:100] or "image"


def store(patient: Patient, filename: str, data: bytes, kind: str, actor: Staff, root: Path,
          max_bytes: int = DEFAULT_MAX_BYTES, visit: Visit | None = None, teeth: str = "",
          note: str = "") -> ClinicalImage:
    if kind not in IMAGE_KINDS:
        raise ServiceError(_l("Choose what kind of image this is."), field="kind")
    if not data:
        raise ServiceError(_l("The file is empty."), field="file")
    if len(data) > max_bytes:
        raise ServiceError(_l("The file is larger than %(mb)d MB.", mb=max_bytes // (1024 * 1024)), field="file")
    content_type = sniff(data)
    if content_type is None:
        raise ServiceError(_l("Only JPEG, PNG and WebP images and DICOM files are accepted (checked by content, "
                              "not by name)."), field="file")
    if content_type == dicom.CONTENT_TYPE and kind not in DICOM_KINDS:
        raise ServiceError(_l("A DICOM file is an X-ray or a scan: choose its kind."), field="file")
    display = safe_display_name(filename)
    ext = "." + display.rsplit(".", 1)[-1].lower() if "." in display else ""
    if content_type == dicom.CONTENT_TYPE and not any(ext in names for _, names in TYPES.values()):
        ext = ""  # DICOM files come named anyhow (IMG0001, 1.2.840…); the content decides
    if ext not in TYPES[content_type][1]:
        raise ServiceError(_l("The file name ends in %(ext)s but the file is a %(type)s image.",
                              ext=ext or "(nothing)", type=TYPES[content_type][0].upper()), field="file")
    try:
        clean = STRIP[content_type](data)
    except (ValueError, struct.error):
        raise ServiceError(_l("The image is damaged or not what it claims to be."), field="file")
    if visit is not None and visit.patient_id != patient.id:
        raise ServiceError(_l("That visit belongs to another patient."), field="visit")
    tooth_list = ",".join(str(valid_tooth(t)) for t in (teeth or "").replace(" ", ",").split(",") if t)
    stored = f"{secrets.token_hex(16)}.{TYPES[content_type][0]}"
    folder = root / stored[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored
    path.write_bytes(clean)
    try:
        with unit_of_work():
            image = ClinicalImage.create(code=new_code(), patient=patient, visit=visit, kind=kind, teeth=tooth_list,
                                         content_type=content_type, size=len(clean),
                                         sha256=hashlib.sha256(clean).hexdigest(), stored_name=stored,
                                         original_name=display, note=(note or "").strip()[:200], uploaded_by=actor)
            audit.record("create", patient=patient, object_type="image", object_ref=image.code, actor=actor,
                         detail={"kind": kind, "size": len(clean)})
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return image


def path_of(image: ClinicalImage, root: Path) -> Path:
    return root / image.stored_name[:2] / image.stored_name


def set_released(image: ClinicalImage, released: bool, actor: Staff) -> None:
    if released and image.content_type == dicom.CONTENT_TYPE:
        raise ServiceError(_l("A DICOM file is not shown on the patient's link."))
    with unit_of_work():
        image.released = released
        image.save()
        audit.record("update", patient=image.patient_id, object_type="image", object_ref=image.code, actor=actor,
                     detail={"released": released})


def images_of(patient: Patient) -> list[ClinicalImage]:
    return list(ClinicalImage.select().where(ClinicalImage.patient == patient)
                .order_by(ClinicalImage.uploaded_at.desc()))


def is_dicom(image: ClinicalImage) -> bool:
    return image.content_type == dicom.CONTENT_TYPE


def dicom_meta(image: ClinicalImage, root: Path) -> "dicom.DicomMeta":
    return dicom.read_meta(path_of(image, root), image.patient)


def preview_of(image: ClinicalImage, root: Path) -> Path | None:
    """The PNG preview of a DICOM file, drawn once and kept beside it; None when it cannot be drawn."""
    target = path_of(image, root).with_suffix(".png")
    if not target.is_file():
        png = dicom.preview_png(path_of(image, root))
        if png is None:
            return None
        target.write_bytes(png)
    return target


def before_after_pairs(images: list[ClinicalImage]) -> list[tuple[ClinicalImage, ClinicalImage]]:
    """Each after photo with the latest before photo taken earlier of a tooth they share (or of the
    whole mouth when either names no tooth), newest pair first."""
    befores = sorted((i for i in images if i.kind == "before"), key=lambda i: (i.uploaded_at, i.id))
    pairs = []
    for after in sorted((i for i in images if i.kind == "after"), key=lambda i: (i.uploaded_at, i.id), reverse=True):
        teeth = set(filter(None, after.teeth.split(",")))
        match = None
        for before in befores:
            if (before.uploaded_at, before.id) > (after.uploaded_at, after.id):
                break
            own = set(filter(None, before.teeth.split(",")))
            if not teeth or not own or teeth & own:
                match = before
        if match is not None:
            pairs.append((match, after))
    return pairs
