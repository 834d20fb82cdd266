"""Printouts (issue 5): the first-visit report in Chinese and English, the other printouts, the
static-only URL fetcher, background jobs, auditing."""
import shutil
import subprocess

import pytest

from portal.models import AuditEvent, PatientLink
from portal.models.portal_link import PrintJob
from portal.reports.render import FetchRefused, STATIC_ROOT, fetch_static
from tests.report_fixtures import demo_adult, demo_child
from tests.clock import clinic_today

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")


def _pdf_tool(tool, data, tmp_path, *args):
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, check=True).stdout


def _pages(data, tmp_path):
    info = _pdf_tool("pdfinfo", data, tmp_path)
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@needs_poppler
@pytest.mark.parametrize("who", ["child", "adult"])
def test_first_visit_report_in_chinese(app, staff, as_role, tmp_path, who):
    patient = demo_child(staff) if who == "child" else demo_adult(staff)
    resp = as_role("doctor").get(f"/patients/{patient.code}/reports/first-visit.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    text = _pdf_tool("pdftotext", resp.data, tmp_path)
    assert patient.name in text and "安心口腔诊所" in text
    assert ("窝沟封闭" if who == "child" else "全瓷冠") in text   # the plan, by its Chinese name
    fonts = _pdf_tool("pdffonts", resp.data, tmp_path)
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes yes " in line for line in cjk), fonts   # embedded and subset
    assert 1 <= _pages(resp.data, tmp_path) <= 2


@needs_poppler
def test_first_visit_report_in_english_and_staff_locale(app, staff, as_role, tmp_path):
    adult = demo_adult(staff)
    client = as_role("consultant")
    text = _pdf_tool("pdftotext", client.get(f"/patients/{adult.code}/reports/first-visit.pdf?lang=en").data, tmp_path)
    assert "First-visit oral health report" in text and "Zirconia crown" in text and "Cracked or broken tooth" in text
    assert "Page 1 / 2" in text or "Page 1 / 1" in text
    # without ?lang= the staff member's language is used (the test app runs in English)
    assert "Zirconia crown" in _pdf_tool("pdftotext", client.get(f"/patients/{adult.code}/reports/first-visit.pdf").data,
                                         tmp_path)


def test_report_groups_findings_by_urgency(app, staff, as_role, tmp_path):
    from datetime import date

    from portal.reports import content
    from portal.services import chart as charts
    adult = demo_adult(staff)
    with app.test_request_context():
        groups = content.findings(charts.build(adult, clinic_today()))
    by = {u: [f.tooth for f in items] for u, _t, _h, items in groups}
    assert 21 in by[1] and 47 in by[1]            # fracture, mobility grade 2: soon
    assert 11 in by[2]                            # planned caries treatment
    assert 16 in by[4] and 36 in by[4]            # crowns, root canal: done work


def test_report_carries_a_qr_link_that_is_stored_hashed(app, staff, as_role):
    adult = demo_adult(staff)
    as_role("doctor").get(f"/patients/{adult.code}/reports/first-visit.pdf")
    link = PatientLink.get(PatientLink.patient == adult)
    assert link.purpose == "print" and len(link.token_hash) == 64


def test_every_printout_is_audited_as_print(app, staff, as_role, make_patient):
    from datetime import timedelta

    from portal.models import Appointment, Chair, Visit, new_code, utcnow
    adult = demo_adult(staff)
    visit = Visit.get(Visit.patient == adult)
    chair = Chair.create(code=new_code(6), name="1号椅")
    appt = Appointment.create(code=new_code(), patient=adult, doctor=staff["doctor"], chair=chair,
                              start_at=utcnow() + timedelta(days=2), end_at=utcnow() + timedelta(days=2, minutes=30),
                              visit_type="revisit")
    doctor = as_role("doctor")
    urls = {"first_visit_report": f"/patients/{adult.code}/reports/first-visit.pdf",
            "plan_quote": f"/patients/{adult.code}/reports/quote.pdf",
            "instructions": f"/patients/{adult.code}/reports/instructions.pdf?procedure=RES-CR",
            "visit_summary": f"/visits/{visit.code}/summary.pdf",
            "appointment_card": f"/appointments/{appt.code}/card.pdf"}
    for what, url in urls.items():
        resp = doctor.get(url)
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF"), url
        row = AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == what).get()
        assert row.patient_id == adult.id and row.actor_label == "doctor"


@needs_poppler
def test_instructions_child_and_adult_versions(app, staff, as_role, tmp_path):
    child, adult = demo_child(staff), demo_adult(staff)
    nurse = as_role("nurse")
    child_text = _pdf_tool("pdftotext", nurse.get(f"/patients/{child.code}/reports/instructions.pdf?procedure=RES-CR").data, tmp_path)
    adult_text = _pdf_tool("pdftotext", nurse.get(f"/patients/{adult.code}/reports/instructions.pdf?procedure=RES-CR").data, tmp_path)
    assert "家长" in child_text and "家长" not in adult_text


def test_printouts_follow_the_matrix_and_record_rules(app, staff, as_role):
    adult = demo_adult(staff)
    assert as_role("frontdesk").get(f"/patients/{adult.code}/reports/first-visit.pdf").status_code == 403
    assert as_role("nurse").get(f"/patients/{adult.code}/reports/quote.pdf").status_code == 403
    adult.restricted, adult.attending_doctor = True, staff["manager"]
    adult.save()
    assert as_role("doctor").get(f"/patients/{adult.code}/reports/first-visit.pdf").status_code == 403


# --- the URL fetcher --------------------------------------------------------------------------

def test_fetcher_serves_static_files_only():
    body, mime = fetch_static((STATIC_ROOT / "css" / "print.css").as_uri())
    assert b"@page" in body and mime == "text/css"
    assert fetch_static("/static/css/print.css")[0] == body
    for url in ("http://example.com/x.css", "https://127.0.0.1/", "ftp://example.com/x",
                "file:///etc/passwd", (STATIC_ROOT / ".." / "config.py").resolve().as_uri(),
                STATIC_ROOT.as_uri() + "/../config.py", "file://evil.example/static/css/print.css",
                "/static/../config.py", "static/css/print.css", "//example.com/x.css"):
        with pytest.raises(FetchRefused):
            fetch_static(url)


def test_fetcher_refusal_keeps_network_out_of_a_pdf(app, monkeypatch):
    import socket

    from portal.reports.render import html_to_pdf

    def no_network(*a, **k):
        raise AssertionError("a printout tried to use the network")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with app.test_request_context():
        pdf = html_to_pdf('<link rel="stylesheet" href="http://example.com/x.css"><img src="https://example.com/a.png">'
                          '<img src="file:///etc/hostname"><p>中文 text</p>')
    assert pdf.startswith(b"%PDF")


# --- background printouts ---------------------------------------------------------------------

def test_history_job_runs_in_the_worker_and_downloads(app, staff, as_role):
    adult = demo_adult(staff)
    doctor = as_role("doctor")
    resp = doctor.post(f"/patients/{adult.code}/reports/history")
    assert resp.status_code == 303
    job = PrintJob.get()
    assert job.status == "done" and job.total >= 2 and job.done_count == job.total   # Huey is immediate in tests
    from portal.reports.jobs import path_of
    with app.app_context():
        stored = path_of(job)
    assert stored.is_file() and str(stored).startswith(app.instance_path) and "static" not in str(stored)
    assert len(job.stored_name) >= 32 and adult.chart_no not in job.stored_name
    page = doctor.get(resp.headers["Location"])
    assert b"Download PDF" in page.data and b"every 1s" not in page.data
    pdf = doctor.get(f"/reports/jobs/{job.code}/download")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == "printout:history").exists()
    # only the person who asked sees the job
    assert as_role("manager").get(f"/reports/jobs/{job.code}").status_code == 404


def test_progress_fragment_polls_while_running(app, staff, as_role):
    from portal.reports import jobs
    adult = demo_adult(staff)
    job = jobs.create("history", staff["doctor"], "en", adult)
    resp = as_role("doctor").get(f"/reports/jobs/{job.code}", headers={"HX-Request": "true", "HX-Target": "job-status"})
    assert b'hx-trigger="every 1s"' in as_role("doctor").get(f"/reports/jobs/{job.code}").data
    assert resp.status_code == 200 and b"<html" not in resp.data and b"progress" in resp.data


def test_day_cards_batch(app, staff, as_role, make_patient):
    from datetime import date, datetime, time, timedelta

    from portal.models import Appointment, Chair, new_code
    from portal.services.clock import to_utc
    chair = Chair.create(code=new_code(6), name="2号椅")
    day = clinic_today() + timedelta(days=1)
    for hour in (9, 10, 11):
        start = to_utc(datetime.combine(day, time(hour)), app.config["PORTAL_TZ"])
        Appointment.create(code=new_code(), patient=make_patient(name=f"张{'一二三'[hour - 9]}"), doctor=staff["doctor"],
                           chair=chair, start_at=start, end_at=start + timedelta(minutes=30), visit_type="revisit")
    resp = as_role("frontdesk").post("/reports/cards", data={"day": day.isoformat()})
    assert resp.status_code == 303
    job = PrintJob.get()
    assert job.status == "done" and job.total == 3
    assert AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == "printout:day_cards").count() == 3
