"""The structured visit record (issue 14): templates and quick phrases, kept by the manager (the
clinic set) and each doctor (their own), applied into a draft visit's fields via htmx."""
from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import Length

from portal.access import allow
from portal.blueprints.chart.forms import VisitForm
from portal.blueprints.chart.loaders import load_visit
from portal.blueprints.chart.views import bp
from portal.forms import not_blank
from portal.labels import localized
from portal.models import Procedure
from portal.models.visit_record import NoteTemplate
from portal.services import Conflict, ServiceError
from portal.services import catalogue as cat
from portal.services import visit_record as record
from portal.services.chart_visits import NOTE_FIELDS
from portal.web import apply_service_error, refuse, render, see_other


class NoteTemplateForm(VisitForm):
    """The record's fields (from VisitForm) plus the template's own."""
    title = StringField(_l("Title"), validators=[not_blank(_l("Give the template a title.")), Length(max=80)])
    procedure = SelectField(_l("For the procedure (optional)"), choices=[], validate_choice=False)
    active = BooleanField(_l("In use"), default=True)
    version = HiddenField()


def _procedure_choices(form):
    form.procedure.choices = [("", "—")] + [(p.code, localized(p)) for p in cat.catalogue(active_only=True)]


def _data(form) -> record.TemplateData:
    code = (form.procedure.data or "").strip()
    procedure = Procedure.get_or_none(Procedure.code == code) if code else None
    return record.TemplateData(title=form.title.data or "", procedure=procedure,
                               body={name: getattr(form, name).data or "" for name in NOTE_FIELDS})


def load_template(code: str) -> NoteTemplate:
    """A template the current user may see: the clinic set, or a doctor's own (others' are 404)."""
    row = NoteTemplate.get_or_none(NoteTemplate.code == code) or abort(404)
    if row.owner_id is not None and row.owner_id != current_user.id:
        abort(404)
    return row


def record_context(visit, form):
    """What the visit page needs for the record: its form (a draft's carried-forward history
    prefilled for confirmation), the carried fields, the templates on offer."""
    carried = {}
    if visit.status == "draft" and current_user.role == "doctor":
        carried = record.carried_forward(visit)
        if form is None:
            form = VisitForm(obj=visit)
            for name, (text, _on) in carried.items():
                getattr(form, name).data = text
    templates = record.templates_for(current_user, visit) if current_user.role == "doctor" else []
    return form or VisitForm(obj=visit), {"carried": carried, "note_templates": templates, "record_fields": NOTE_FIELDS,
                                          "template_fields": {t.id: list(record.fields_of(t)) for t in templates}}


@bp.route("/visits/<code>/template", methods=["POST"])
@allow("visit.write")
def visit_apply_template(code):
    """Fill the fields on screen from a template (not saved: the doctor edits, then saves)."""
    from portal.blueprints.chart.views_visits import _visit_page
    visit = load_visit(code)
    form = VisitForm()
    template = NoteTemplate.get_or_none(NoteTemplate.code == (request.form.get("template") or "").strip())
    try:
        if template is None:
            raise ServiceError(_("Choose a template."))
        filled = record.apply(template, visit, {name: getattr(form, name).data or "" for name in NOTE_FIELDS},
                              current_user)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.visit", code=code))
    for name, text in filled.items():
        getattr(form, name).data = text
        getattr(form, name).raw_data = [text]
    return _visit_page(visit, form=form)


@bp.route("/note-templates")
@allow("note_template.manage")
def note_templates(form=None, status=200):
    if form is None:
        form = NoteTemplateForm(formdata=None)
        form.active.data = True
    _procedure_choices(form)
    rows = record.templates_for(current_user, include_retired=True)
    return render("chart/visit_record_templates.html", templates=rows, form=form, fields_of=record.fields_of,
                  may_edit=record.may_edit, names=_field_labels()), status


def _field_labels():
    form = VisitForm(formdata=None)
    return {name: getattr(form, name).label.text for name in NOTE_FIELDS}


@bp.route("/note-templates", methods=["POST"])
@allow("note_template.manage")
def note_template_create():
    form = NoteTemplateForm()
    _procedure_choices(form)
    if form.validate_on_submit():
        try:
            row = record.create_template(_data(form), current_user)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.note_template", code=row.code), _("Template saved."))
    return note_templates(form=form, status=422)


@bp.route("/note-templates/<code>")
@allow("note_template.manage")
def note_template(code, form=None, status=200):
    row = load_template(code)
    if form is None:
        form = NoteTemplateForm(formdata=None)
        form.title.data, form.active.data, form.version.data = row.title, row.active, str(row.version)
        form.procedure.data = row.procedure.code if row.procedure_id else ""
        for name, text in record.fields_of(row).items():
            getattr(form, name).data = text
    _procedure_choices(form)
    return render("chart/visit_record_template.html", tpl=row, form=form, record_fields=NOTE_FIELDS,
                  editable=record.may_edit(row, current_user)), status


@bp.route("/note-templates/<code>", methods=["POST"])
@allow("note_template.manage")
def note_template_save(code):
    row = load_template(code)
    form = NoteTemplateForm()
    _procedure_choices(form)
    if form.validate_on_submit():
        try:
            seen = int(form.version.data or 0)
        except ValueError:
            seen = 0
        try:
            record.save_template(row, _data(form), seen, current_user, active=bool(form.active.data))
        except ServiceError as err:
            apply_service_error(form, err)
            return note_template(code, form=form, status=409 if isinstance(err, Conflict) else 422)
        return see_other(url_for("chart.note_template", code=code), _("Template saved."))
    return note_template(code, form=form, status=422)
