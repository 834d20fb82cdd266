"""The patient's read-only link (/p/<token>) and personal centre (个人中心).

Flow: GET /p/<token> shows one button and changes nothing (link scanners open links); its POST
exchanges a live token for a short-lived session cookie and redirects to /p/check, a URL
without the token; the knowledge check (birth date or last 4 phone digits, throttled) unlocks
/p/home. Unknown, expired and revoked links all get the same answer. Every response carries
no-referrer / noindex / no-store, and every view of health data is audited as patient access.
"""
import logging
import re

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale, gettext as _

from portal import audit
from portal.access import PUBLIC, allow
from portal.config import LANGUAGES
from portal.models import ClinicalImage, utcnow
from portal.reports import content, printouts
from portal.reports.render import odontogram_svg
from portal.services import chart_plans as plans
from portal.services import patient_links as links
from portal.services.chart_visits import visits_of
from portal.services.schedule_board import patient_appointments
from portal.web import client_ip, local_today

bp = Blueprint("portal", __name__)
TOKEN_IN_PATH = re.compile(r"/p/[A-Za-z0-9_-]{20,}")


class RedactLinkTokens(logging.Filter):
    """Access logs and the console message channel never show a link's token."""

    def filter(self, record):
        if isinstance(record.msg, str) and "/p/" in record.msg:
            record.msg = TOKEN_IN_PATH.sub("/p/[token]", record.msg)
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(TOKEN_IN_PATH.sub("/p/[token]", a) if isinstance(a, str) else a for a in record.args)
        return True


@bp.record_once
def _redact_logs(state):
    for name in ("werkzeug", "gunicorn.access", "portal.notify"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(RedactLinkTokens())


@bp.after_request
def _patient_link_headers(resp):
    if request.path.startswith("/p/") or request.path == "/p":
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Robots-Tag"] = "noindex, nofollow"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
    return resp


def _page(template: str, status: int = 200, **context):
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        with force_locale(lang):
            return render_template(template, **context), status
    return render_template(template, **context), status


def _not_valid():
    """The one answer for unknown, expired, revoked and tampered links."""
    return _page("portal/invalid.html", 404)


def _session(verified: bool = True):
    session = links.session_for(request.cookies.get(links.COOKIE))
    if session is None or (verified and session.verified_at is None):
        return None
    g.patient_data = True
    return session


def _ended():
    return _page("portal/ended.html", 200)


def _seen(patient_id, what: str, ref=None):
    audit.record("read", patient=patient_id, object_type=f"portal:{what}", object_ref=ref,
                 actor_label="patient-link", detail={"ip": client_ip()})


@bp.route("/p/<token>")
@allow(PUBLIC)
def open_link(token):
    # Changes nothing and looks nothing up: a scanner learns nothing, not even whether the token is live.
    return _page("portal/open.html", token=token)


@bp.route("/p/<token>", methods=["POST"])
@allow(PUBLIC)
def exchange(token):
    result = links.exchange(token, current_app.config, client_ip())
    if result is None:
        return _not_valid()
    session, secret = result
    resp = redirect(url_for("portal.check"), 303)
    resp.set_cookie(links.COOKIE, secret, max_age=links.setting(current_app.config, "PATIENT_LINK_SESSION_MINUTES") * 60,
                    path="/p", httponly=True, samesite="Strict", secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return resp


@bp.route("/p/check")
@allow(PUBLIC)
def check():
    session = _session(verified=False)
    if session is None:
        return _ended()
    if session.verified_at is not None:
        return redirect(url_for("portal.home"), 303)
    return _page("portal/check.html")


@bp.route("/p/check", methods=["POST"])
@allow(PUBLIC)
def check_answer():
    session = _session(verified=False)
    if session is None:
        return _ended()
    outcome = links.verify(session, request.form.get("answer", ""), current_app.config, client_ip())
    if outcome == "ok":
        return redirect(url_for("portal.home"), 303)
    if outcome == "throttled":
        return _page("portal/check.html", 429, error=_("Too many attempts. Please wait 15 minutes, or call the clinic."))
    return _page("portal/check.html", 200, error=_("That does not match our records. Please try again."))


@bp.route("/p/logout", methods=["POST"])
@allow(PUBLIC)
def logout():
    links.end_session(request.cookies.get(links.COOKIE))
    resp = redirect(url_for("portal.goodbye"), 303)
    resp.delete_cookie(links.COOKIE, path="/p")
    return resp


@bp.route("/p/bye")
@allow(PUBLIC)
def goodbye():
    return _page("portal/ended.html", signed_out=True)


def _builtin_sections(patient, today):
    config = current_app.config
    now = utcnow()
    appts = [a for a in patient_appointments(patient, config, limit=20)
             if a["appt"].status == "booked" and a["appt"].start_at >= now]
    visits = [v for v in visits_of(patient) if v.status == "signed"][:30]
    chart_svg, _view = odontogram_svg(patient, today)
    images = list(ClinicalImage.select().where(ClinicalImage.patient == patient, ClinicalImage.released == True)  # noqa
                  .order_by(ClinicalImage.uploaded_at.desc()).limit(24))
    plan = [i for i in plans.plan_of(patient) if i.status in ("proposed", "accepted", "scheduled")]
    return {"appointments": list(reversed(appts)), "visits": visits, "chart_svg": chart_svg, "images": images,
            "plan": plan, "plan_total": sum(i.price_fen for i in plan if i.alternative_to_id is None),
            "instructions": content.instructions(patient, today)}


def _extra_sections(patient, today):
    """Sections other areas registered (bills, membership, points); a failing one is left out."""
    out = []
    for key, title, template, provider in links.SECTIONS:
        try:
            data = provider(patient, current_app.config, today)
        except Exception:  # another area's section must never take the patient's page down
            current_app.logger.exception("personal centre section %s failed", key)
            continue
        if data is not None:
            out.append({"key": key, "title": title, "template": template, "data": data})
    return out


def _centre(session, patient):
    today = local_today()
    members = links.covered_patients(session.link)
    data = _builtin_sections(patient, today)
    _seen(patient.id, "centre", patient.chart_no)
    return _page("portal/centre.html", patient=patient, members=members, today=today, link=session.link,
                 extras=_extra_sections(patient, today), proc_name=content.proc_name,
                 priority_labels=plans.PRIORITY_LABELS, stage=plans.STAGE_LABELS[content.stage_of(patient, today)],
                 **data)


@bp.route("/p/home")
@allow(PUBLIC)
def home():
    session = _session()
    if session is None:
        return _ended() if links.session_for(request.cookies.get(links.COOKIE)) is None else redirect(url_for("portal.check"), 303)
    return _centre(session, links.covered_patients(session.link)[0])


def _member(code):
    session = _session()
    if session is None:
        return None, None
    patient = links.covered(session.link, code)
    if patient is None:
        abort(404)  # another patient's code: not found, as if it did not exist
    return session, patient


@bp.route("/p/people/<code>")
@allow(PUBLIC)
def person(code):
    session, patient = _member(code)
    if session is None:
        return _ended()
    return _centre(session, patient)


def _pdf(data, name):
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@bp.route("/p/people/<code>/report.pdf")
@allow(PUBLIC)
def report_pdf(code):
    session, patient = _member(code)
    if session is None:
        return _ended()
    pdf = printouts.first_visit(patient, local_today(), None, with_qr=False)
    audit.record("print", patient=patient.id, object_type="first_visit_report", object_ref=patient.chart_no,
                 actor_label="patient-link", detail={"lang": printouts.current_lang(), "via": "patient link"})
    return _pdf(pdf, f"oral-health-report-{local_today().isoformat()}.pdf")


@bp.route("/p/people/<code>/instructions.pdf")
@allow(PUBLIC)
def instructions_pdf(code):
    session, patient = _member(code)
    if session is None:
        return _ended()
    pdf = printouts.instructions(patient, local_today(), None)
    audit.record("print", patient=patient.id, object_type="instructions", object_ref=patient.chart_no,
                 actor_label="patient-link", detail={"via": "patient link"})
    return _pdf(pdf, "instructions.pdf")


@bp.route("/p/images/<code>")
@allow(PUBLIC)
def image(code):
    session = _session()
    if session is None:
        abort(404)
    img = ClinicalImage.get_or_none(ClinicalImage.code == code, ClinicalImage.released == True)  # noqa: E712
    if img is None or all(p.id != img.patient_id for p in links.covered_patients(session.link)):
        abort(404)
    from portal.blueprints.chart.loaders import image_root
    from portal.services.chart_images import path_of
    path = path_of(img, image_root())
    if not path.is_file():
        abort(404)
    _seen(img.patient_id, "image", img.code)
    resp = send_file(path, mimetype=img.content_type, max_age=0, conditional=False)
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


from portal.blueprints.portal import staff  # noqa: E402,F401  (the desk's side: issue, send, revoke)
