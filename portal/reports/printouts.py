"""One function per printout: gather the data (reports.content), render the print template
(reports.render) and return the PDF bytes. Views and the worker both call these; auditing is
the caller's job (one "print" row per printout)."""
import json
from datetime import date, datetime

from flask import current_app, request, url_for
from flask_babel import get_locale

from portal.models import Appointment, Chair, Patient, Procedure, Staff, Visit, VisitProcedure, utcnow
from portal.reports import content
from portal.reports.render import odontogram_svg, qr_svg, render_pdf
from portal.services import chart_plans as plans
from portal.services import patient_links
from portal.services.clock import to_local


def _common(today: date, printed_by: str = "") -> dict:
    return {"printed_at": utcnow(), "printed_by": printed_by, "today": today, "proc_name": content.proc_name,
            "priority_labels": plans.PRIORITY_LABELS, "plan_status_labels": plans.PLAN_STATUS_LABELS,
            "stage_labels": plans.STAGE_LABELS, "config": current_app.config,
            "locale": "zh_CN" if content.is_zh() else "en"}


def public_link(token: str) -> str:
    """The patient link as the patient's phone will open it (PUBLIC_BASE_URL when behind a proxy)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("portal.open_link", token=token)
    if base:
        return base.rstrip("/") + path
    return request.url_root.rstrip("/") + path


def first_visit(patient: Patient, today: date, actor: Staff | None, with_qr: bool = True) -> bytes:
    chart_svg, view = odontogram_svg(patient, today)
    report = content.first_visit(patient, view, today)
    qr = None
    if with_qr:
        issued = patient_links.issue(patient, "patient", actor, current_app.config, purpose="print")
        qr = qr_svg(public_link(issued.token))
    tz = current_app.config["PORTAL_TZ"]
    next_start = to_local(report.next_appointment.start_at, tz) if report.next_appointment else None
    return render_pdf("print/first_visit.html", patient=patient, r=report, chart_svg=chart_svg, qr=qr,
                      next_start=next_start, **_common(today, actor.display_name if actor else ""))


def instructions(patient: Patient, today: date, actor: Staff | None, procedure: str | None = None,
                 version: str | None = None) -> bytes:
    items = content.instructions(patient, today, procedure, version)
    return render_pdf("print/instructions.html", patient=patient, items=items,
                      **_common(today, actor.display_name if actor else ""))


def quote(patient: Patient, today: date, actor: Staff | None) -> bytes:
    phases, total = content.quote(patient)
    doctor = Staff.get_by_id(patient.attending_doctor_id) if patient.attending_doctor_id else (
        actor if actor is not None and actor.role == "doctor" else None)
    return render_pdf("print/quote.html", patient=patient, phases=phases, total=total, doctor=doctor,
                      **_common(today, actor.display_name if actor else ""))


def _procedures_by_visit(visit_ids) -> dict:
    out = {}
    for vp in (VisitProcedure.select(VisitProcedure, Procedure).join(Procedure)
               .where(VisitProcedure.visit.in_(list(visit_ids)))):
        out.setdefault(vp.visit_id, []).append(vp)
    return out


def visit_summary(visit: Visit, today: date, actor: Staff | None) -> bytes:
    procedures = _procedures_by_visit([visit.id]).get(visit.id, [])
    return render_pdf("print/visit.html", patient=visit.patient, visit=visit, procedures=procedures,
                      **_common(today, actor.display_name if actor else ""))


def _card(appt: Appointment) -> dict:
    tz = current_app.config["PORTAL_TZ"]
    return {"patient": appt.patient, "start": to_local(appt.start_at, tz), "end": to_local(appt.end_at, tz),
            "doctor": appt.doctor.display_name}


def cards(appointments: list[Appointment], today: date, actor: Staff | None) -> bytes:
    return render_pdf("print/card.html", cards=[_card(a) for a in appointments],
                      **_common(today, actor.display_name if actor else ""))


def history(patient: Patient, today: date, actor: Staff | None, progress=None) -> bytes:
    visits = list(Visit.select(Visit, Staff).join(Staff, on=(Visit.doctor == Staff.id))
                  .where(Visit.patient == patient).order_by(Visit.visit_date, Visit.id))
    procs = _procedures_by_visit(v.id for v in visits)
    if progress:
        progress(0, len(visits) + 1)
    pdf = render_pdf("print/bundle.html", patient=patient, visits=[(v, procs.get(v.id, [])) for v in visits],
                     **_common(today, actor.display_name if actor else ""))
    if progress:
        progress(len(visits) + 1, len(visits) + 1)
    return pdf


def day_appointments(day: date) -> list[Appointment]:
    from portal.services.clock import day_bounds_utc
    start, end = day_bounds_utc(day, current_app.config["PORTAL_TZ"])
    return list(Appointment.select(Appointment, Patient, Staff).join(Patient).switch(Appointment)
                .join(Staff, on=(Appointment.doctor == Staff.id))
                .where(Appointment.start_at >= start, Appointment.start_at < end, Appointment.status == "booked",
                       Patient.restricted == False)  # noqa: E712
                .order_by(Appointment.start_at))


def render_job(job, progress) -> tuple[bytes, str, list[int]]:
    """(pdf, download name, patient ids printed) for a background job."""
    params = json.loads(job.params or "{}")
    today = date.fromisoformat(params["today"]) if params.get("today") else date.today()
    if job.kind == "history":
        patient = Patient.get_by_id(job.patient_id)
        return history(patient, today, job.requested_by, progress), f"history-{patient.chart_no}.pdf", [patient.id]
    if job.kind == "day_cards":
        day = date.fromisoformat(params["day"])
        appts = day_appointments(day)
        progress(0, len(appts))
        pdf = cards(appts, today, job.requested_by)
        progress(len(appts), len(appts))
        return pdf, f"cards-{day.isoformat()}.pdf", sorted({a.patient_id for a in appts})
    raise ValueError(job.kind)


def current_lang() -> str:
    loc = get_locale()
    return "zh_CN" if loc is None or loc.language == "zh" else "en"
