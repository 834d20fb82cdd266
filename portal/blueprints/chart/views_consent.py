"""Consent forms 知情同意书 (issue 14): the record's tab, filling a form, reading and signing it on
the tablet (finger or stylus, static/js/consent.js), the PDF, the manager's templates and the
patient link's copy. Rules live in services/consent.py."""
from flask import abort, current_app, g, make_response, request, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from portal import audit
from portal.access import PUBLIC, allow
from portal.blueprints.chart.loaders import _owned, load_patient
from portal.blueprints.chart.views import bp
from portal.forms import BaseForm
from portal.models import PlanItem, Procedure
from portal.models.consent import CONSENT_KINDS, ConsentForm
from portal.reports.render import render_pdf
from portal.services import Conflict, ServiceError
from portal.services import consent as consents
from portal.services.identity import age_on
from portal.web import local_today, refuse, render, see_other


class NewConsentForm(BaseForm):
    kind = SelectField(_l("Kind of consent"), choices=[])
    plan_item = SelectField(_l("Plan item"), choices=[], validate_choice=False)
    tooth = StringField(_l("Tooth (optional)"), validators=[Optional(), Length(max=40)])


class SignConsentForm(BaseForm):
    signer_kind = SelectField(_l("Who signs"), choices=[("patient", _l("The patient")), ("guardian", _l("A guardian"))])
    signer_name = StringField(_l("Guardian's name"), validators=[Optional(), Length(max=60)])
    relationship = SelectField(_l("Relationship to the patient"), choices=[], validate_choice=False)
    patient_strokes = HiddenField()
    doctor_strokes = HiddenField()


class DiscardConsentForm(BaseForm):
    reason = StringField(_l("Why it is discarded"), validators=[Length(max=200)])


class TemplateForm(BaseForm):
    title_zh = StringField(_l("Title (Chinese)"), validators=[Length(max=80)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=120)])
    body_zh = TextAreaField(_l("What is done and its risks (Chinese)"), validators=[Length(max=4000)])
    body_en = TextAreaField(_l("What is done and its risks (English)"), validators=[Length(max=6000)])
    alternatives_zh = TextAreaField(_l("Alternatives (Chinese)"), validators=[Length(max=2000)])
    alternatives_en = TextAreaField(_l("Alternatives (English)"), validators=[Length(max=3000)])
    cost_zh = TextAreaField(_l("Cost (Chinese)"), validators=[Length(max=2000)])
    cost_en = TextAreaField(_l("Cost (English)"), validators=[Length(max=3000)])
    procedures = StringField(_l("Procedures that need it (catalogue codes, comma separated)"),
                             validators=[Length(max=200)])


def _lang() -> str:
    from portal.reports.printouts import current_lang
    return current_lang()


def _template_title(tpl) -> str:
    return tpl.title_zh if _lang() == "zh_CN" else tpl.title_en


def load_consent(code: str) -> ConsentForm:
    form = ConsentForm.get_or_none(ConsentForm.code == code) or abort(404)
    return _owned(form, form.patient_id, "consent")


def _new_form(patient, form=None):
    form = form or NewConsentForm()
    form.kind.choices = [(k, str(consents.KIND_LABELS[k])) for k in CONSENT_KINDS]
    items = (PlanItem.select(PlanItem, Procedure).join(Procedure)
             .where(PlanItem.patient == patient, PlanItem.status.in_(("proposed", "accepted", "scheduled")))
             .order_by(PlanItem.id))
    zh = _lang() == "zh_CN"
    form.plan_item.choices = [("", _("None"))] + [
        (i.code, f"{i.procedure.name_zh if zh else i.procedure.name_en}{' · ' + str(i.tooth) if i.tooth else ''}")
        for i in items]
    return form


@bp.route("/patients/<code>/consent-forms")
@allow("consent.read")
def consent_list(code, form=None, status=200):
    patient = load_patient(code, "consents")
    return render("chart/consent_list.html", patient=patient, forms=consents.forms_of(patient),
                  form=_new_form(patient, form), kinds=consents.KIND_LABELS, hash_matches=consents.hash_matches,
                  title=_template_title), status


@bp.route("/patients/<code>/consent-forms", methods=["POST"])
@allow("consent.prepare")
def consent_create(code):
    patient = load_patient(code, "consents")
    form = _new_form(patient)
    if form.validate_on_submit():
        item = PlanItem.get_or_none(PlanItem.code == form.plan_item.data, PlanItem.patient == patient) \
            if form.plan_item.data else None
        try:
            made = consents.create(patient, form.kind.data, current_user, _lang(), tooth=form.tooth.data or "",
                                   plan_item=item)
        except ServiceError as err:
            form.form_errors.append(err.message)
        else:
            return see_other(url_for("chart.consent_show", code=made.code), _("Consent form ready to read and sign."))
    return consent_list(code, form=form, status=422)


def _sign_form(form=None):
    form = form or SignConsentForm()
    form.relationship.choices = [("", "—")] + [(k, str(v)) for k, v in consents.RELATIONSHIPS.items()]
    return form


@bp.route("/consent-forms/<code>")
@allow("consent.read")
def consent_show(code, form=None, status=200):
    consent = load_consent(code)
    patient = consent.patient
    minor = consents.is_minor(patient, local_today())
    sign_form = _sign_form(form)
    if form is None and minor:
        sign_form.signer_kind.data = "guardian"
    return render("chart/consent_form.html", patient=patient, consent=consent, form=sign_form, minor=minor,
                  discard_form=DiscardConsentForm(),
                  age=age_on(patient.birth_date, local_today()) if patient.birth_date else None,
                  intact=consents.hash_matches(consent), relationships=consents.RELATIONSHIPS,
                  kinds=consents.KIND_LABELS,
                  patient_svg=Markup(consents.strokes_svg(consent.patient_strokes)),
                  doctor_svg=Markup(consents.strokes_svg(consent.doctor_strokes))), status


@bp.route("/consent-forms/<code>/sign", methods=["POST"])
@allow("consent.sign")
def consent_sign(code):
    consent = load_consent(code)
    form = _sign_form()
    if not form.validate_on_submit():
        return consent_show(code, form=form, status=422)
    try:
        consents.sign(consent, current_user, local_today(), form.signer_kind.data, form.signer_name.data,
                      form.relationship.data, form.patient_strokes.data, form.doctor_strokes.data,
                      current_app.config)
    except ServiceError as err:
        if err.field and getattr(form, err.field, None) is not None and err.field not in (
                "patient_strokes", "doctor_strokes"):
            getattr(form, err.field).errors = list(getattr(form, err.field).errors) + [err.message]
            return consent_show(code, form=form, status=422)
        return refuse(err, back=url_for("chart.consent_show", code=code))
    return see_other(url_for("chart.consent_show", code=code), _("Consent signed and locked."))


@bp.route("/consent-forms/<code>/discard", methods=["POST"])
@allow("consent.prepare")
def consent_discard(code):
    consent = ConsentForm.get_or_none(ConsentForm.code == code)
    if consent is None:  # discarded meanwhile (another desk, a repeat): say so on the patient's forms
        patient = load_patient(request.form.get("patient", ""), "consents")
        return refuse(Conflict(_("This form was already discarded.")),
                      back=url_for("chart.consent_list", code=patient.code))
    consent = _owned(consent, consent.patient_id, "consent")
    patient = consent.patient
    form = DiscardConsentForm()
    if not form.validate_on_submit():
        return refuse(ServiceError(_("Check the reason.")), back=url_for("chart.consent_show", code=code))
    try:
        consents.discard(patient, code, current_user, form.reason.data)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.consent_show", code=code))
    return see_other(url_for("chart.consent_list", code=patient.code), _("Unsigned consent form discarded."))


def _pdf_bytes(consent, lang):
    with force_locale(lang):
        return render_pdf("print/consent.html", patient=consent.patient, consent=consent, tpl=consent.template,
                          kinds=consents.KIND_LABELS, relationships=consents.RELATIONSHIPS,
                          intact=consents.hash_matches(consent),
                          patient_svg=Markup(consents.strokes_svg(consent.patient_strokes)),
                          doctor_svg=Markup(consents.strokes_svg(consent.doctor_strokes)))


def _pdf(data: bytes, name: str, disposition: str = "inline"):
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route("/consent-forms/<code>/consent.pdf")
@allow("consent.print")
def consent_pdf(code):
    consent = load_consent(code)
    pdf = _pdf_bytes(consent, consent.lang)
    audit.record("print", patient=consent.patient_id, object_type="consent", object_ref=consent.code,
                 detail={"lang": consent.lang})
    return _pdf(pdf, f"consent-{consent.code}.pdf")


@bp.route("/consent-templates")
@allow("consent.templates")
def consent_templates(forms=None, status=200):
    templates = consents.current_templates()
    forms = forms or {}
    for tpl in templates:
        if tpl.kind not in forms:
            forms[tpl.kind] = TemplateForm(obj=tpl, prefix=tpl.kind)
    return render("chart/consent_templates.html", templates=templates, forms=forms,
                  kinds=consents.KIND_LABELS), status


@bp.route("/consent-templates/<code>", methods=["POST"])
@allow("consent.templates")
def consent_template_save(code):
    kind = code
    if kind not in CONSENT_KINDS:
        abort(404)
    form = TemplateForm(prefix=kind)
    if form.validate_on_submit():
        try:
            tpl = consents.save_template(kind, {f: getattr(form, f).data for f in consents.FIELDS}, current_user)
        except ServiceError as err:
            form.form_errors.append(err.message)
        else:
            return see_other(url_for("chart.consent_templates") + f"#tpl-{kind}",
                             _("Saved as version %(n)d.", n=tpl.version))
    return consent_templates(forms={kind: form}, status=422)


# --- the patient link: signed forms, read-only --------------------------------------------------

def _link_section(patient, config, today):
    signed = consents.signed_forms_of(patient)
    return {"forms": signed, "kinds": consents.KIND_LABELS} if signed else None


@bp.record_once
def _register_link_section(state):
    from portal.services import patient_links
    patient_links.register_section("consents", _l("Consent forms"), "chart/consent_link_section.html",
                                   _link_section)


from portal.blueprints.portal.views import _member, _ended, bp as portal_bp  # noqa: E402


@portal_bp.route("/p/consent-forms/<code>.pdf")
@allow(PUBLIC)
def link_consent_pdf(code):
    consent = ConsentForm.get_or_none(ConsentForm.code == code, ConsentForm.status == "signed") or abort(404)
    session, patient = _member(consent.patient.code)
    if session is None:
        return _ended()
    g.patient_data = True
    pdf = _pdf_bytes(consent, consent.lang)
    audit.record("print", patient=patient.id, object_type="consent", object_ref=consent.code,
                 actor_label="patient-link", detail={"lang": consent.lang, "via": "patient link"})
    return _pdf(pdf, f"consent-{consent.code}.pdf", "attachment")


# --- starting a procedure that needs consent -------------------------------------------------

def consent_gate(visit, procedure, start_form):
    """(response, after) for views_visits.start_procedure: without a signed form of the kind the
    procedure needs, the doctor is warned (409, a page that repeats the start with a reason field);
    with a reason, `after()` audits the override once the procedure has started."""
    kind = consents.missing_for(visit.patient, procedure)
    if kind is None:
        return None, lambda: None
    reason = (request.form.get("consent_override") or "").strip()[:200]
    if reason:
        def after():
            consents.record_override(visit, procedure, kind, reason, current_user)
        return None, after
    page = render("chart/consent_override.html", visit=visit, patient=visit.patient, procedure=procedure,
                  kind=consents.KIND_LABELS[kind], start_form=start_form,
                  error=bool(request.form.get("consent_override_sent")))
    return (page, 409), None
