"""Uploads: a corpus of bad files, none accepted and none served inline as markup."""
import io
from datetime import date

import pytest

from portal.models import ClinicalImage
from tests.chart_samples import tiny_jpeg, tiny_png

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>fetch('/patients')</script></body></html>"

BAD = [
    ("script.jpg", b"<script>alert(document.cookie)</script>", "checked by content"),
    ("photo.jpg", HTML, "checked by content"),
    ("image.svg", SVG, "checked by content"),
    ("image.png", SVG, "checked by content"),
    ("x.gif", b"GIF89a" + b"\x00" * 20, "checked by content"),
    ("scan.pdf", b"%PDF-1.4\n1 0 obj", "checked by content"),
    ("photo.html", tiny_png(), "ends in .html"),
    ("photo.jpg", tiny_png(), "ends in .jpg"),
    ("photo", tiny_png(), "ends in (nothing)"),
    ("../../../../etc/passwd", tiny_png(), "ends in"),
    ("..\\..\\static\\evil.svg", tiny_png(), "ends in .svg"),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>", "damaged"),
    ("empty.png", b"", "empty"),
    ("big.png", tiny_png() + b"\x00" * (2 * 1024 * 1024), "larger than"),
]


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="影像", birth_date=date(1990, 1, 1))


def _upload(client, patient, name, data, kind="intraoral"):
    return client.post(f"/patients/{patient.code}/images", content_type="multipart/form-data",
                       data={"kind": kind, "file": (io.BytesIO(data), name)})


@pytest.mark.parametrize("name, data, message", BAD, ids=[b[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_files_are_refused(app, as_role, patient, name, data, message):
    app.config["IMAGE_MAX_BYTES"] = 1024 * 1024
    resp = _upload(as_role("doctor"), patient, name, data)
    assert resp.status_code == 422, resp.status_code
    assert message in resp.get_data(as_text=True)
    assert ClinicalImage.select().count() == 0


def test_good_images_are_stored_outside_static_without_metadata_and_served_as_images(app, as_role, patient):
    from portal.blueprints.chart.loaders import image_root
    client = as_role("nurse")
    evil_tail = b"<script>alert(1)</script>"
    assert _upload(client, patient, "..\\..\\口内照.png", tiny_png(extra=evil_tail)).status_code == 303
    assert _upload(client, patient, "pa.JPEG", tiny_jpeg(), "periapical").status_code == 303
    png, jpg = ClinicalImage.select().order_by(ClinicalImage.id)
    assert png.original_name == "口内照.png" and "/" not in png.stored_name and ".." not in png.stored_name
    assert png.stored_name != "口内照.png" and len(png.stored_name) == 36
    root = image_root(app)
    assert "static" not in str(root) and (root / png.stored_name[:2] / png.stored_name).is_file()
    stored = (root / png.stored_name[:2] / png.stored_name).read_bytes()
    assert b"patient name here" not in stored and evil_tail not in stored     # text chunk and tail stripped
    assert b"GPS" not in (root / jpg.stored_name[:2] / jpg.stored_name).read_bytes()  # EXIF stripped
    for image, ctype in ((png, "image/png"), (jpg, "image/jpeg")):
        resp = client.get(f"/images/{image.code}")
        assert resp.status_code == 200 and resp.mimetype == ctype
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Disposition"].startswith("inline; filename=\"" + image.code)
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Cache-Control"] == "no-store"
    down = client.get(f"/images/{png.code}?download=1")
    assert down.headers["Content-Disposition"].startswith("attachment")


def test_images_roles_and_release(as_role, patient):
    assert _upload(as_role("doctor"), patient, "a.png", tiny_png()).status_code == 303
    image = ClinicalImage.get()
    assert as_role("frontdesk").get(f"/images/{image.code}").status_code == 403
    assert as_role("consultant").get(f"/patients/{patient.code}/images").status_code == 403
    assert _upload(as_role("frontdesk"), patient, "a.png", tiny_png()).status_code == 403
    assert as_role("nurse").post(f"/images/{image.code}/release", data={"released": "y"}).status_code == 403
    assert as_role("doctor").post(f"/images/{image.code}/release", data={"released": "y"}).status_code == 303
    assert ClinicalImage.get().released
    assert as_role("doctor").post(f"/images/{image.code}/release", data={}).status_code == 303
    assert not ClinicalImage.get().released
