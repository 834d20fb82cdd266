"""Staff printouts (issue 5): first-visit report, post-treatment instructions, plan quote, visit
summary, appointment card; large and batch printouts run in the worker with a progress fragment.
Every printout is audited as "print" (a disclosure)."""
from datetime import date

from flask import Blueprint, abort, g, make_response, request, send_file, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, can, deny, load_or_404
from portal.config import LANGUAGES
from portal.models import Appointment, Patient, Visit
from portal.models.portal_link import PrintJob
from portal.reports import jobs, printouts
from portal.web import local_today, render, see_other

bp = Blueprint("reports", __name__)


def _patient(code: str) -> Patient:
    patient = load_or_404(Patient, "patient.read", code=code)
    g.patient_data = True
    return patient


def _owned_patient(patient_id: int) -> Patient:
    patient = Patient.get_by_id(patient_id)
    if not can(current_user, "patient.read", patient):
        deny("record", patient=patient)
    g.patient_data = True
    return patient


def _lang() -> str:
    chosen = request.args.get("lang") or request.form.get("lang")
    return chosen if chosen in LANGUAGES else printouts.current_lang()


def _pdf(data: bytes, name: str, download: bool = False):
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    disposition = "attachment" if download or request.args.get("download") == "1" else "inline"
    resp.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _print(patient_id: int, what: str, ref: str, lang: str, **detail):
    audit.record("print", patient=patient_id, object_type=what, object_ref=ref, detail={"lang": lang, **detail})


@bp.route("/patients/<code>/reports/first-visit.pdf")
@allow("print.report")
def first_visit(code):
    patient = _patient(code)
    lang = _lang()
    with force_locale(lang):
        pdf = printouts.first_visit(patient, local_today(), current_user)
    _print(patient.id, "first_visit_report", patient.chart_no, lang)
    return _pdf(pdf, f"first-visit-{patient.chart_no}-{lang}.pdf")


@bp.route("/patients/<code>/reports/instructions.pdf")
@allow("print.instructions")
def instructions(code):
    patient = _patient(code)
    lang = _lang()
    procedure = (request.args.get("procedure") or "")[:20] or None
    version = request.args.get("version")
    with force_locale(lang):
        pdf = printouts.instructions(patient, local_today(), current_user, procedure, version)
    _print(patient.id, "instructions", patient.chart_no, lang, procedure=procedure, version=version)
    return _pdf(pdf, f"instructions-{patient.chart_no}.pdf")


@bp.route("/patients/<code>/reports/quote.pdf")
@allow("print.quote")
def quote(code):
    patient = _patient(code)
    lang = _lang()
    with force_locale(lang):
        pdf = printouts.quote(patient, local_today(), current_user)
    _print(patient.id, "plan_quote", patient.chart_no, lang)
    return _pdf(pdf, f"quote-{patient.chart_no}.pdf")


@bp.route("/visits/<code>/summary.pdf")
@allow("print.visit")
def visit_summary(code):
    visit = Visit.get_or_none(Visit.code == code) or abort(404)
    _owned_patient(visit.patient_id)
    lang = _lang()
    with force_locale(lang):
        pdf = printouts.visit_summary(visit, local_today(), current_user)
    _print(visit.patient_id, "visit_summary", visit.code, lang)
    return _pdf(pdf, f"visit-{visit.visit_date.isoformat()}.pdf")


@bp.route("/appointments/<code>/card.pdf")
@allow("print.card")
def appointment_card(code):
    appt = Appointment.get_or_none(Appointment.code == code) or abort(404)
    _owned_patient(appt.patient_id)
    lang = _lang()
    with force_locale(lang):
        pdf = printouts.cards([appt], local_today(), current_user)
    _print(appt.patient_id, "appointment_card", appt.code, lang)
    return _pdf(pdf, f"appointment-{appt.code}.pdf")


# --- background printouts ----------------------------------------------------------------------

def _job_view(job):
    return render("reports/job.html", job=job)


@bp.route("/patients/<code>/reports/history", methods=["POST"])
@allow("print.visit")
def history_job(code):
    patient = _patient(code)
    job = jobs.create("history", current_user, _lang(), patient, {"today": local_today().isoformat()})
    jobs.enqueue(job)
    return see_other(url_for("reports.job", code=job.code))


@bp.route("/reports/cards", methods=["POST"])
@allow("print.card")
def cards_job():
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        day = local_today()
    job = jobs.create("day_cards", current_user, _lang(), None,
                      {"day": day.isoformat(), "today": local_today().isoformat()})
    jobs.enqueue(job)
    return see_other(url_for("reports.job", code=job.code))


def _load_job(code: str) -> PrintJob:
    job = PrintJob.get_or_none(PrintJob.code == code) or abort(404)
    if job.requested_by_id != current_user.id:  # a printout is for the person who asked for it
        abort(404)
    if job.patient_id:
        _owned_patient(job.patient_id)
    return job


@bp.route("/reports/jobs/<code>")
@allow("print.job")
def job(code):
    return _job_view(_load_job(code))


@bp.route("/reports/jobs/<code>/download")
@allow("print.job")
def job_download(code):
    job = _load_job(code)
    if job.status != "done" or not job.stored_name:
        abort(404)
    path = jobs.path_of(job)
    if not path.is_file():
        abort(404)
    audit.record("export", patient=job.patient_id, object_type=f"printout:{job.kind}", object_ref=job.code)
    resp = send_file(path, mimetype="application/pdf", as_attachment=True, download_name=job.filename,
                     max_age=0, conditional=False)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/reports")
@allow("print.card")
def index():
    recent = list(PrintJob.select().where(PrintJob.requested_by == current_user.id)
                  .order_by(PrintJob.created_at.desc()).limit(10))
    return render("reports/index.html", recent=recent, today=local_today(), title=_("Printouts"))
