"""Lab cases (技工单): a patient's cases, ordering one, moving it on, the overdue list, the labs list."""
from flask import abort, g, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from portal import audit
from portal.access import allow
from portal.blueprints.chart.loaders import _owned, load_patient, price_fen
from portal.blueprints.chart.views import bp
from portal.config import LANGUAGES
from portal.forms import BaseForm
from portal.labels import localized
from portal.models import PlanItem, Visit
from portal.models.lab_cases import Lab, LabCase
from portal.reports.lab_case_pdf import lab_sheet
from portal.services import ServiceError
from portal.services import lab_cases as labs
from portal.web import apply_service_error, local_today, refuse, render, see_other


class LabCaseForm(BaseForm):
    work_type = SelectField(_l("Work"), choices=list(labs.WORK_LABELS.items()))
    lab = SelectField(_l("Lab"), choices=[])
    teeth = StringField(_l("Teeth (e.g. 36, 37)"), validators=[Optional(), Length(max=60)])
    shade = StringField(_l("Shade"), validators=[Optional(), Length(max=20)])
    material = StringField(_l("Material"), validators=[Optional(), Length(max=60)])
    sent_on = DateField(_l("Sent"), validators=[Optional()])
    due_on = DateField(_l("Due back"), validators=[InputRequired()])
    lab_fee = StringField(_l("Lab fee (¥)"), validators=[Optional(), Length(max=12)])
    price = StringField(_l("Price to the patient (¥)"), validators=[Optional(), Length(max=12)])
    plan_item = SelectField(_l("From the plan item"), choices=[])
    visit = SelectField(_l("From the visit"), choices=[])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class LabStatusForm(BaseForm):
    status = SelectField(_l("Status"), choices=list(labs.STATUS_LABELS.items()))
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class LabForm(BaseForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=80)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=40)])
    active = SelectField(_l("In use"), choices=[("1", _l("Yes")), ("0", _l("No"))], default="1")


def _case_form(patient):
    form = LabCaseForm()
    form.lab.choices = [(lab.code, lab.name) for lab in labs.labs(active_only=True)]
    items = (PlanItem.select().where(PlanItem.patient == patient, PlanItem.status != "declined")
             .order_by(PlanItem.id.desc()).limit(30))
    form.plan_item.choices = [("", "–")] + [
        (i.code, f"{localized(i.procedure)}{' ' + str(i.tooth) if i.tooth else ''} · {_('No. %(code)s', code=i.code)}")
        for i in items]
    visits = Visit.select().where(Visit.patient == patient).order_by(Visit.id.desc()).limit(20)
    form.visit.choices = [("", "–")] + [(v.code, f"{v.visit_date.isoformat()} · {_('No. %(code)s', code=v.code)}")
                                        for v in visits]
    if request.method == "GET":
        if request.args.get("plan_item"):
            form.plan_item.data = request.args["plan_item"][:12]
        if request.args.get("visit"):
            form.visit.data = request.args["visit"][:12]
    return form


def load_lab_case(code: str) -> LabCase:
    case = LabCase.get_or_none(LabCase.code == code) or abort(404)
    return _owned(case, case.patient_id, "lab_case")


@bp.route("/patients/<code>/lab-cases")
@allow("lab.read")
def lab_cases(code, form=None, status=200):
    patient = load_patient(code, "lab_cases")
    return render("chart/lab_cases.html", patient=patient, cases=labs.cases_of(patient),
                  form=form or _case_form(patient), status_form=LabStatusForm(), labels=labs.STATUS_LABELS,
                  works=labs.WORK_LABELS, transitions=labs.TRANSITIONS, today=local_today(),
                  open_states=labs.OPEN, clinical=labs.CLINICAL), status


@bp.route("/patients/<code>/lab-cases", methods=["POST"])
@allow("lab.order")
def lab_order(code):
    patient = load_patient(code, "lab_cases")
    form = _case_form(patient)
    if form.validate_on_submit():
        try:
            try:
                fee = price_fen(form.lab_fee.data) if (form.lab_fee.data or "").strip() else 0
                price = price_fen(form.price.data) if (form.price.data or "").strip() else 0
            except ValueError:
                raise ServiceError(_("Enter the price in yuan, such as 288 or 1280.50."), field="price")
            item = PlanItem.get_or_none(PlanItem.code == form.plan_item.data) if form.plan_item.data else None
            visit = Visit.get_or_none(Visit.code == form.visit.data) if form.visit.data else None
            case = labs.order(patient, labs.CaseData(
                lab=Lab.get_or_none(Lab.code == form.lab.data), work_type=form.work_type.data,
                teeth=form.teeth.data or "", shade=form.shade.data or "", material=form.material.data or "",
                sent_on=form.sent_on.data, due_on=form.due_on.data, lab_fee_fen=fee, price_fen=price,
                note=form.note.data or "", plan_item=item, visit=visit), current_user, local_today())
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.lab_cases", code=code),
                             _("Lab case No. %(code)s sent.", code=case.code))
    return lab_cases(code, form=form, status=422)


@bp.route("/lab-cases/<code>/status", methods=["POST"])
@allow("lab.progress")
def lab_status(code):
    case = load_lab_case(code)
    form = LabStatusForm()
    back = request.form.get("back") == "overdue" and url_for("chart.lab_overdue") or \
        url_for("chart.lab_cases", code=case.patient.code)
    if not form.validate_on_submit():
        return refuse(ServiceError(_("Choose a status.")), back=back)
    try:
        labs.set_status(case, form.status.data, current_user, local_today(), reason=form.reason.data or "",
                        seen=request.form.get("seen"))
    except ServiceError as err:
        return refuse(err, back=back)
    return see_other(back, _("Lab case is now: %(s)s.", s=labs.STATUS_LABELS[case.status]))


@bp.route("/lab-cases/<code>/sheet.pdf")
@allow("lab.read")
def lab_sheet_pdf(code):
    """The sheet that travels with the work. In Chinese unless ?lang= asks otherwise: its reader is
    the lab's technician, whatever language the clinic's screen is in."""
    from portal.blueprints.reports.views import _pdf, _print
    case = load_lab_case(code)
    g.patient_data = True
    lang = request.args.get("lang") if request.args.get("lang") in LANGUAGES else "zh_CN"
    with force_locale(lang):
        pdf = lab_sheet(case, local_today(), current_user)
    _print(case.patient_id, "lab_case", case.code, lang)
    return _pdf(pdf, f"lab-sheet-{case.code}.pdf")


@bp.route("/lab-cases/overdue")
@allow("lab.read")
def lab_overdue():
    today = local_today()
    cases = labs.overdue(today)
    g.patient_data = True
    audit.record("read", object_type="lab_overdue", object_ref=str(len(cases)))
    return render("chart/lab_overdue.html", cases=cases, today=today, labels=labs.STATUS_LABELS,
                  works=labs.WORK_LABELS, status_form=LabStatusForm())


@bp.route("/labs")
@allow("lab.labs")
def labs_list(form=None, status=200):
    return render("chart/labs.html", labs=labs.labs(), form=form or LabForm()), status


@bp.route("/labs", methods=["POST"])
@allow("lab.labs")
def lab_add():
    form = LabForm()
    if form.validate_on_submit():
        try:
            lab = labs.save_lab(form.name.data, form.phone.data, form.contact.data, current_user)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.labs_list"), _("Saved %(name)s.", name=lab.name))
    return labs_list(form=form, status=422)


@bp.route("/labs/<code>", methods=["POST"])
@allow("lab.labs")
def lab_edit(code):
    lab = Lab.get_or_none(Lab.code == code) or abort(404)
    form = LabForm()
    if not form.validate_on_submit():
        return refuse(ServiceError(_("Enter the lab's name.")), back=url_for("chart.labs_list"))
    try:
        lab = labs.save_lab(form.name.data, form.phone.data, form.contact.data, current_user, lab=lab,
                            active=form.active.data == "1")
    except ServiceError as err:
        return refuse(err, back=url_for("chart.labs_list"))
    return see_other(url_for("chart.labs_list"), _("Saved %(name)s.", name=lab.name))
