"""Printouts that take a while (a patient's whole visit history, a day's appointment cards) run in
the Huey worker: a PrintJob row tracks progress, the PDF lands under instance/printouts/ with a
random name (never under static/), and the person who asked downloads it when it is ready."""
import json
import secrets
from pathlib import Path

from flask import current_app

from portal import audit
from portal.db import unit_of_work
from portal.models import Patient, Staff, utcnow
from portal.models.portal_link import PrintJob

KINDS = ("history", "day_cards")


def root(app=None) -> Path:
    app = app or current_app
    return Path(app.config.get("PRINTOUT_ROOT") or Path(app.instance_path) / "printouts")


def path_of(job: PrintJob, app=None) -> Path:
    return root(app) / job.stored_name


def create(kind: str, actor: Staff, locale: str, patient: Patient | None = None, params: dict | None = None) -> PrintJob:
    assert kind in KINDS, kind
    with unit_of_work():
        return PrintJob.create(code=secrets.token_urlsafe(12)[:16], kind=kind, patient=patient, locale=locale,
                               params=json.dumps(params or {}), requested_by=actor)


def enqueue(job: PrintJob) -> None:
    """After commit: hand the job to the worker (in tests Huey runs it at once)."""
    import tasks
    tasks.render_print_job(job.id)


def _progress(job: PrintJob, done: int, total: int) -> None:
    PrintJob.update(done_count=done, total=total).where(PrintJob.id == job.id).execute()


def run(job_id: int) -> str:
    """Render one job (called by the worker inside an app and request context)."""
    from flask_babel import force_locale

    from portal.reports import printouts
    job = PrintJob.get_or_none(PrintJob.id == job_id)
    if job is None or job.status not in ("queued", "running"):
        return "gone"
    PrintJob.update(status="running").where(PrintJob.id == job.id).execute()
    try:
        with force_locale(job.locale):
            pdf, filename, patient_ids = printouts.render_job(job, lambda d, t: _progress(job, d, t))
    except Exception as exc:  # the person sees "failed" and can try again; details go to the log
        current_app.logger.exception("print job %s failed", job.code)
        PrintJob.update(status="failed", error=type(exc).__name__[:200], finished_at=utcnow()).where(
            PrintJob.id == job.id).execute()
        return "failed"
    directory = root()
    directory.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(16) + ".pdf"
    (directory / stored).write_bytes(pdf)
    with unit_of_work():
        PrintJob.update(status="done", stored_name=stored, filename=filename, size=len(pdf),
                        finished_at=utcnow()).where(PrintJob.id == job.id).execute()
        for pid in patient_ids:
            audit.record("print", patient=pid, object_type=f"printout:{job.kind}", object_ref=job.code,
                         actor=job.requested_by, detail={"lang": job.locale, "background": True})
    return "done"
