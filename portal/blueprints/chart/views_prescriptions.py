"""Prescriptions (处方): written from a visit, checked, signed, voided and reissued, printed; the drug
catalogue the manager keeps. Rules live in services/prescriptions.py."""
from flask import abort, current_app, g, make_response, request, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import audit
from portal.access import PUBLIC, allow
from portal.blueprints.chart.loaders import _owned, load_patient, load_visit
from portal.blueprints.chart.views import bp
from portal.config import LANGUAGES
from portal.models.prescription import Drug, Prescription
from portal.reports import printouts
from portal.reports.prescription_pdf import prescription as prescription_pdf
from portal.services import Conflict, ServiceError
from portal.services import prescriptions as rxs
from portal.web import local_today, refuse, render, see_other

LINE_FIELDS = ("drug", "dose", "frequency", "days", "quantity", "note")


class RxForm(FlaskForm):
    """CSRF only: the lines and fields are read from the request (rows drug_1 … drug_5)."""


def load_rx(code: str) -> Prescription:
    rx = Prescription.get_or_none(Prescription.code == code) or abort(404)
    return _owned(rx, rx.patient_id, "prescription")


def load_drug(code: str) -> Drug:
    return Drug.get_or_none(Drug.code == code) or abort(404)


def _draft_from_request() -> rxs.Draft:
    f = request.form
    lines = [rxs.Line(*(f.get(f"{name}_{n}", "").strip()[:100] for name in LINE_FIELDS))
             for n in range(1, rxs.MAX_LINES + 1)]
    return rxs.Draft(lines=lines, diagnosis=f.get("diagnosis", "")[:2000], weight_kg=f.get("weight_kg", "")[:10],
                     pregnant=f.get("pregnant") == "y", override_reason=f.get("override_reason", "")[:rxs.MAX_REASON])


def _page_context(patient, draft=None, error=None, warnings=()):
    child = rxs.is_child(patient, local_today())
    return dict(patient=patient, draft=draft, error=error, drugs=rxs.catalogue(), child=child,
                allergies=rxs.allergy_classes(patient), warnings=warnings, freq=rxs.FREQUENCY_LABELS,
                max_lines=rxs.MAX_LINES, form=RxForm())


def _check_warnings(patient, draft):
    try:
        return rxs.check(patient, draft, local_today())[1]
    except ServiceError:
        return []


@bp.route("/patients/<code>/prescriptions")
@allow("prescription.read")
def rx_list(code):
    patient = load_patient(code, "prescriptions")
    items = rxs.of_patient(patient)
    return render("chart/prescriptions.html", patient=patient, items=items, names=rxs.drugs_named(items),
                  status_labels=rxs.STATUS_LABELS)


@bp.route("/visits/<code>/prescriptions/new")
@allow("prescription.write")
def rx_new(code, draft=None, error=None, status=200):
    visit = load_visit(code)
    replaces = None
    if request.args.get("reissue"):
        replaces = load_rx(request.args["reissue"])
        if replaces.visit_id != visit.id or replaces.status != "void":
            abort(404)
        draft = draft or rxs.draft_from(replaces)
    draft = draft or rxs.Draft(diagnosis=visit.diagnosis, lines=[
        rxs.Line("", "", "", "", "") for _ in range(rxs.MAX_LINES)])
    ctx = _page_context(visit.patient, draft, error, _check_warnings(visit.patient, draft) if error else ())
    return render("chart/prescription_form.html", visit=visit, replaces=replaces,
                  action=url_for("chart.rx_create", code=visit.code, reissue=replaces.code if replaces else None),
                  **ctx), status


@bp.route("/visits/<code>/prescriptions", methods=["POST"])
@allow("prescription.write")
def rx_create(code):
    visit = load_visit(code)
    form, draft = RxForm(), _draft_from_request()
    if not form.validate_on_submit():
        abort(400)
    replaces = None
    if request.args.get("reissue"):
        replaces = load_rx(request.args["reissue"])
        if replaces.visit_id != visit.id or replaces.status != "void":
            abort(404)
    try:
        rx = rxs.write(visit, draft, current_user, local_today(), replaces=replaces)
    except ServiceError as err:
        return rx_new(code, draft=draft, error=err.message, status=422)
    return see_other(url_for("chart.rx_show", code=rx.code), _("Prescription written: check it and sign."))


@bp.route("/prescriptions/<code>")
@allow("prescription.read")
def rx_show(code, draft=None, error=None, status=200):
    rx = load_rx(code)
    patient = rx.patient
    lines = rxs.lines_of(rx)
    if draft is None and rx.status == "draft":
        draft = rxs.draft_from(rx)
        draft.lines += [rxs.Line("", "", "", "", "") for _ in range(rxs.MAX_LINES - len(draft.lines))]
    ctx = _page_context(patient, draft, error, _check_warnings(patient, draft) if error else ())
    return render("chart/prescription.html", rx=rx, lines=lines, status_labels=rxs.STATUS_LABELS,
                  reissues=list(rx.reissues), action=url_for("chart.rx_update", code=rx.code),
                  **ctx), status


@bp.route("/prescriptions/<code>", methods=["POST"])
@allow("prescription.write")
def rx_update(code):
    rx = load_rx(code)
    form, draft = RxForm(), _draft_from_request()
    if not form.validate_on_submit():
        abort(400)
    if rx.status != "draft":
        return refuse(rxs._moved_on(rx, current_app.config), back=url_for("chart.rx_show", code=code))
    try:
        rxs.update(rx, draft, current_user, local_today())
    except ServiceError as err:
        if isinstance(err, Conflict):
            return refuse(err, back=url_for("chart.rx_show", code=code))
        return rx_show(code, draft=draft, error=err.message, status=422)
    return see_other(url_for("chart.rx_show", code=code), _("Prescription saved."))


@bp.route("/prescriptions/<code>/sign", methods=["POST"])
@allow("prescription.write")
def rx_sign(code):
    rx = load_rx(code)
    if not RxForm().validate_on_submit():
        abort(400)
    try:
        rxs.sign(rx, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.rx_show", code=code))
    return see_other(url_for("chart.rx_show", code=code), _("Prescription signed."))


@bp.route("/prescriptions/<code>/void", methods=["POST"])
@allow("prescription.write")
def rx_void(code):
    rx = load_rx(code)
    if not RxForm().validate_on_submit():
        abort(400)
    try:
        rxs.void(rx, request.form.get("reason", ""), current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.rx_show", code=code))
    return see_other(url_for("chart.rx_show", code=code), _("Prescription voided."))


def _lang() -> str:
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES else printouts.current_lang()


def rx_pdf_response(rx: Prescription, name_prefix: str = "prescription"):
    lang = _lang()
    with force_locale(lang):
        pdf = prescription_pdf(rx, local_today(), current_user if current_user.is_authenticated else None)
    audit.record("print", patient=rx.patient_id, object_type="prescription", object_ref=rx.code,
                 detail={"lang": lang})
    resp = make_response(pdf)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{name_prefix}-{rx.code}.pdf"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route("/prescriptions/<code>/print.pdf")
@allow("prescription.print")
def rx_pdf(code):
    rx = load_rx(code)
    g.patient_data = True
    return rx_pdf_response(rx)


# --- the drug catalogue ------------------------------------------------------------------------

def _drug_context(**extra):
    return dict(forms=rxs.FORM_LABELS, routes=rxs.ROUTE_LABELS, freq=rxs.FREQUENCY_LABELS, units=rxs.UNIT_LABELS,
                classes=rxs.ALLERGY_CLASS_LABELS, form=RxForm(), **extra)


@bp.route("/drugs")
@allow("drug.read")
def drug_list(error=None, values=None, status=200):
    return render("chart/prescription_drugs.html", drugs=rxs.catalogue(active_only=False), error=error,
                  values=values or {}, **_drug_context()), status


@bp.route("/drugs", methods=["POST"])
@allow("drug.manage")
def drug_add():
    if not RxForm().validate_on_submit():
        abort(400)
    values = request.form.to_dict()
    try:
        rxs.save_drug(values, current_user)
    except ServiceError as err:
        return drug_list(error=err.message, values=values, status=422)
    return see_other(url_for("chart.drug_list"), _("Drug added."))


@bp.route("/drugs/<code>")
@allow("drug.read")
def drug_edit(code, error=None, values=None, status=200):
    drug = load_drug(code)
    if values is None:
        values = {f: getattr(drug, f) for f in ("name_zh", "name_en", "form", "strength", "dose_unit", "default_dose",
                                              "route", "frequency", "days", "max_daily", "child_mg_per_kg_day",
                                              "pregnancy_warning", "allergy_class", "package_unit", "active")}
        values = {k: (rxs._num(v) if k in ("default_dose", "max_daily", "child_mg_per_kg_day") and v is not None
                      else ("" if v is None else v)) for k, v in values.items()}
    return render("chart/prescription_drug.html", drug=drug, error=error, values=values, **_drug_context()), status


@bp.route("/drugs/<code>", methods=["POST"])
@allow("drug.manage")
def drug_save(code):
    drug = load_drug(code)
    if not RxForm().validate_on_submit():
        abort(400)
    values = request.form.to_dict()
    values["active"] = values.get("active") == "y"
    try:
        rxs.save_drug(values, current_user, drug)
    except ServiceError as err:
        return drug_edit(code, error=err.message, values=values, status=422)
    return see_other(url_for("chart.drug_list"), _("Drug saved."))


@bp.app_template_global()
def visit_prescriptions(visit) -> list:
    return rxs.of_visit(visit)


@bp.app_template_global()
def rx_status_label(status: str) -> str:
    return rxs.STATUS_LABELS.get(status, status)


# --- the patient link: signed prescriptions, read-only ----------------------------------------

def _link_section(patient, config, today):
    signed = rxs.of_patient(patient, signed_only=True)[:30]
    return {"rxs": signed, "names": rxs.drugs_named(signed)} if signed else None


@bp.record_once
def _register_link_section(state):
    from portal.services import patient_links
    patient_links.register_section("prescriptions", _l("Prescriptions"), "chart/prescription_link_section.html",
                                   _link_section)


from portal.blueprints.portal.views import _ended, _member, bp as portal_bp  # noqa: E402


@portal_bp.route("/p/prescriptions/<code>.pdf")
@allow(PUBLIC)
def link_rx_pdf(code):
    rx = Prescription.get_or_none(Prescription.code == code, Prescription.status == "signed") or abort(404)
    session, patient = _member(rx.patient.code)
    if session is None:
        return _ended()
    g.patient_data = True
    lang = printouts.current_lang()
    pdf = prescription_pdf(rx, local_today(), None)
    audit.record("print", patient=patient.id, object_type="prescription", object_ref=rx.code,
                 actor_label="patient-link", detail={"lang": lang, "via": "patient link"})
    resp = make_response(pdf)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'attachment; filename="prescription-{rx.code}.pdf"'
    return resp


@bp.app_template_global()
def rx_drug_names(rx) -> str:
    return rxs.drugs_named([rx]).get(rx.id, "")
