"""Test data for the dental record: a catalogue procedure with a protocol, visits, entries, images."""
import struct
import zlib
from datetime import date

from portal.models import Procedure
from portal.services import catalogue as cat
from portal.services import chart as charts
from portal.services import chart_images as images
from portal.services import chart_plans as plans
from portal.services import chart_visits as visits
from tests.clock import clinic_today

SCALING = [(f"第{n}步", f"Step {n}") for n in range(1, 12)]


def tiny_png(width: int = 2, height: int = 2, extra: bytes = b"") -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\x00patient name here") + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"") + extra)


def tiny_jpeg() -> bytes:
    """Markers only (SOI, APP0, APP1 with EXIF, SOS, EOI): enough for the structure check."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    exif = b"Exif\x00\x00GPS 31.2N 121.5E"
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return b"\xff\xd8" + app0 + app1 + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12\x34" + b"\xff\xd9"


def scaling_procedure(code="PER-SC", steps=SCALING) -> Procedure:
    return Procedure.get_or_none(Procedure.code == code) or cat.save_procedure(cat.ProcedureData(
        code=code, name_zh="超声波洁治", name_en="Ultrasonic scaling", department="periodontal",
        duration_minutes=45, price_fen=28800, steps=list(steps)), None)


def chart_samples(app, staff, patient):
    """(prefix codes, other URL parameters) for the route walk."""
    from portal.blueprints.chart.loaders import image_root
    doctor = staff["doctor"]
    proc = scaling_procedure()
    visit = visits.open_visit(patient, doctor, clinic_today())
    run = cat.start(visit, proc, doctor, alerts_seen=True)
    entry = charts.record(patient, charts.EntryData(36, "caries", "existing", "O"), doctor, clinic_today(), visit)
    item = plans.add_item(patient, proc, doctor)
    image = images.store(patient, "x.png", tiny_png(), "intraoral", doctor, image_root(app))
    codes = [("/visits", visit.code), ("/protocols", run.code), ("/catalogue", proc.code),
             ("/plan-items", item.code), ("/images", image.code)]
    arrived_today(app, staff, patient)  # the check-in board and the doctor's day offer "Start visit"
    return codes, {"tooth": "36", "entry": entry.code, "position": "1"}


def arrived_today(app, staff, patient):
    """An appointment of the clinic's today, the patient arrived, no visit yet (issue 13), half an
    hour before or after now, whichever stays on today (the walk's other appointment starts now)."""
    from datetime import timedelta
    from portal.models import Appointment, Chair, new_code, utcnow
    from portal.services.clock import to_local
    tz = app.config["PORTAL_TZ"]
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(minutes=60)
    if to_local(start, tz).date() != clinic_today():
        start = now + timedelta(minutes=30)
    chair = Chair.create(code=new_code(6), name="2号椅")
    return Appointment.create(code=new_code(), patient=patient, doctor=staff["doctor"], chair=chair, start_at=start,
                              end_at=start + timedelta(minutes=30), visit_type="revisit", status="arrived",
                              arrived_at=now)
