"""The desk's side of patient links: issue (URL + QR, optionally sent by the outbox), revoke,
reissue. A token is shown once, in the response to the POST that made it; only its hash is kept."""
from flask import abort, current_app, g, request
from flask_login import current_user

from portal.access import allow, can, deny, load_or_404
from portal.models import Patient, utcnow
from portal.models.portal_link import PatientLink
from portal.notify import outbox
from portal.reports.printouts import public_link
from portal.reports.render import qr_svg
from portal.services import ServiceError
from portal.services import patient_links as links
from portal.services.clock import to_local
from portal.blueprints.portal.views import bp
from portal.web import refuse, render


def _patient(code) -> Patient:
    patient = load_or_404(Patient, "patient.read", code=code)
    g.patient_data = True
    return patient


def _link(code) -> PatientLink:
    link = PatientLink.get_or_none(PatientLink.code == code) or abort(404)
    patient = Patient.get_by_id(link.patient_id)
    if not can(current_user, "patient.read", patient):
        deny("record", patient=patient)
    g.patient_data = True
    return link


def _page(patient, issued=None, sent=None, error=None, status=200):
    url = public_link(issued.token) if issued else None
    return render("portal/links.html", patient=patient, links=links.links_of(patient), issued=issued, url=url,
                  qr=qr_svg(url, scale=4) if url else None, sent=sent, error=error, now=utcnow(),
                  scope_labels=links.SCOPE_LABELS), status


def _send(issued, url) -> str:
    """Queue the link to the holder through the outbox; the text carries no health details."""
    config = current_app.config
    link = issued.link
    expires = to_local(link.expires_at, config["PORTAL_TZ"]).date().isoformat()
    message_id = outbox.queue(link.holder, "patient_link", utcnow(), f"plink:{link.code}", config,
                              context={"url": url, "expires": expires})
    outbox.dispatch([message_id] if message_id else [])
    return "queued" if message_id else "not_sent"


@bp.route("/patients/<code>/links")
@allow("patient_link.manage")
def links_page(code):
    return _page(_patient(code))


@bp.route("/patients/<code>/links", methods=["POST"])
@allow("patient_link.manage")
def issue_link(code):
    patient = _patient(code)
    try:
        issued = links.issue(patient, request.form.get("scope", "patient"), current_user, current_app.config)
    except ServiceError as err:
        return _page(patient, error=err.message, status=400)
    sent = _send(issued, public_link(issued.token)) if request.form.get("send") == "1" else None
    return _page(patient, issued=issued, sent=sent)


@bp.route("/links/<code>/revoke", methods=["POST"])
@allow("patient_link.manage")
def revoke_link(code):
    link = _link(code)
    try:
        links.revoke(link, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err)
    return _page(Patient.get_by_id(link.patient_id))


@bp.route("/links/<code>/reissue", methods=["POST"])
@allow("patient_link.manage")
def reissue_link(code):
    link = _link(code)
    try:
        issued = links.reissue(link, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err)
    sent = _send(issued, public_link(issued.token)) if request.form.get("send") == "1" else None
    return _page(Patient.get_by_id(link.patient_id), issued=issued, sent=sent)


