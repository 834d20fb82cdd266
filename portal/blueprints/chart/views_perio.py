"""Perio charts (牙周检查表): the exams of a patient, the entry grid (a keypad on top of it with
JavaScript, a plain form without), confirming, comparing two exams, the printout."""
from flask import abort, current_app, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user

from portal import audit
from portal.access import PUBLIC, allow, can
from portal.blueprints.chart.loaders import _owned, load_patient
from portal.blueprints.chart.views import bp
from portal.models import Visit
from portal.models.perio import PerioExam
from portal.services import ServiceError
from portal.services import perio
from portal.web import local_today, refuse, render, see_other, wants_fragment


def load_exam(code: str) -> PerioExam:
    exam = PerioExam.get_or_none(PerioExam.code == code) or abort(404)
    return _owned(exam, exam.patient_id, "perio_exam")


def _page_context(exam: PerioExam) -> dict:
    readings = perio.readings_of(exam)
    return {"exam": exam, "patient": exam.patient, "readings": readings, "figures": perio.summary(readings),
            "upper": perio.upper_teeth(exam.teeth), "lower": perio.lower_teeth(exam.teeth),
            "drawn_sites": perio.drawn_sites, "field_name": perio.field_name, "site_labels": perio.SITE_LABELS,
            "order": " ".join(f"{t}:{s}" for t, s in perio.entry_order(exam.teeth)),
            "editable": exam.status == "draft" and can(current_user, "perio.record", exam.patient),
            "previous": perio.previous_exam(exam, lean=True)}


@bp.route("/patients/<code>/perio")
@allow("perio.read")
def perio_list(code, status=200, message=None):
    patient = load_patient(code, "perio")
    visits = list(Visit.select(Visit.code, Visit.visit_date).where(Visit.patient == patient)
                  .order_by(Visit.visit_date.desc(), Visit.id.desc()).limit(20))
    return render("chart/perio_list.html", patient=patient, exams=perio.exams_of(patient), visits=visits,
                  summary_of=perio.summary_of, message=message), status


@bp.route("/patients/<code>/perio", methods=["POST"])
@allow("perio.record")
def perio_open(code):
    patient = load_patient(code, "perio")
    ref = (request.form.get("visit") or "").strip().upper()
    visit = Visit.get_or_none(Visit.code == ref, Visit.patient == patient) if ref else None
    try:
        if ref and visit is None:
            raise ServiceError(_("No visit of this patient has that code."))
        teeth = 32 if request.form.get("teeth") == "32" else 28
        exam = perio.open_exam(patient, current_user, local_today(), teeth, visit)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.perio_list", code=code))
    return see_other(url_for("chart.perio_exam", code=exam.code), _("Perio exam opened."))


@bp.route("/perio/<code>")
@allow("perio.read")
def perio_exam(code):
    exam = load_exam(code)
    return render("chart/perio_exam.html", **_page_context(exam))


@bp.route("/perio/<code>", methods=["POST"])
@allow("perio.record")
def perio_save(code):
    exam = load_exam(code)
    version = request.form.get("version", "")
    try:
        if not version.isdigit():  # every grid carries the version it was drawn at; a bare post changes nothing
            raise ServiceError(_("Reload the perio chart and enter the readings again."))
        exam = perio.save_readings(exam, request.form, current_user, int(version), current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.perio_exam", code=code))
    if wants_fragment():
        return render("chart/perio_exam.html", saved=True, **_page_context(exam))
    return see_other(url_for("chart.perio_exam", code=code), _("Readings saved."))


@bp.route("/perio/<code>/confirm", methods=["POST"])
@allow("perio.confirm")
def perio_confirm(code):
    exam = load_exam(code)
    try:
        perio.confirm(exam, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.perio_exam", code=code))
    return see_other(url_for("chart.perio_exam", code=code), _("Perio exam confirmed."))


@bp.route("/perio/<code>/compare")
@allow("perio.read")
def perio_compare(code):
    newer = load_exam(code)
    other = request.args.get("with", "")
    older = (PerioExam.get_or_none(PerioExam.code == other, PerioExam.patient == newer.patient_id) if other
             else perio.previous_exam(newer))
    if older is None:
        abort(404)
    if (older.exam_date, older.id) > (newer.exam_date, newer.id):  # a later exam picked: still old → new
        older, newer = newer, older
    return render("chart/perio_compare.html", patient=newer.patient, newer=newer, older=older,
                  result=perio.compare(older, newer), upper=perio.upper_teeth(max(older.teeth, newer.teeth)),
                  lower=perio.lower_teeth(max(older.teeth, newer.teeth)), drawn_sites=perio.drawn_sites,
                  figures_old=perio.summary_of(older), figures_new=perio.summary_of(newer),
                  site_labels=perio.SITE_LABELS, exams=perio.exams_of(newer.patient, limit=60))


@bp.route("/perio/<code>/print.pdf")
@allow("print.perio")
def perio_pdf(code):
    from portal.blueprints.reports.views import _lang, _pdf
    from portal.reports.printouts import _common
    from portal.reports.render import render_pdf
    exam = load_exam(code)
    lang = _lang()
    with force_locale(lang):
        ctx = _page_context(exam)
        ctx["editable"] = False
        pdf = render_pdf("print/perio.html", **ctx, **_common(local_today(), current_user.display_name))
    audit.record("print", patient=exam.patient_id, object_type="perio_exam", object_ref=exam.code,
                 detail={"lang": lang})
    return _pdf(pdf, f"perio-{exam.exam_date.isoformat()}.pdf")



# --- the patient link: confirmed exams in plain words, read-only ---------------------------------

def _link_section(patient, config, today):
    confirmed = [e for e in perio.exams_of(patient, limit=12) if e.status == "confirmed"][:6]
    return {"exams": confirmed, "summary_of": perio.summary_of} if confirmed else None


@bp.record_once
def _register_link_section(state):
    from flask_babel import lazy_gettext as _l
    from portal.services import patient_links
    patient_links.register_section("perio", _l("Gum check (perio chart)"), "chart/perio_link_section.html",
                                   _link_section)


from portal.blueprints.portal.views import _ended, _member, bp as portal_bp  # noqa: E402


@portal_bp.route("/p/perio/<code>.pdf")
@allow(PUBLIC)
def link_perio_pdf(code):
    from flask import g, make_response
    from portal.reports import printouts
    from portal.reports.render import render_pdf
    exam = PerioExam.get_or_none(PerioExam.code == code, PerioExam.status == "confirmed") or abort(404)
    session, patient = _member(exam.patient.code)
    if session is None:
        return _ended()
    g.patient_data = True
    ctx = {**_page_context(exam), "editable": False}
    pdf = render_pdf("print/perio.html", **ctx, **printouts._common(local_today(), ""))
    audit.record("print", patient=patient.id, object_type="perio_exam", object_ref=exam.code,
                 actor_label="patient-link", detail={"lang": printouts.current_lang(), "via": "patient link"})
    resp = make_response(pdf)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'attachment; filename="perio-{exam.exam_date.isoformat()}.pdf"'
    return resp
