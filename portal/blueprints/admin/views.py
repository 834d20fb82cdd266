"""Manager's screens: staff accounts, tags, the audit trail, the clinic's rules."""
from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import fn

from portal.access import allow, load_or_404
from portal.blueprints.admin.forms import ActiveForm, AuditFilterForm, NewStaffForm, RoleForm, TagForm
from portal.models import PatientTag, Staff, StaffSession, Tag
from portal.services import ServiceError, audit_query, clinic_settings
from portal.services import patients as registry
from portal.services import staff as staff_service
from portal.web import apply_service_error, render, see_other

bp = Blueprint("admin", __name__, url_prefix="/admin")


def load_staff(username: str) -> Staff:
    return load_or_404(Staff, "staff.manage", username=username)


@bp.route("/staff", methods=["GET", "POST"])
@allow("staff.manage")
def staff():
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            person = staff_service.create_staff(form.username.data, form.display_name.data, form.role.data,
                                                form.password.data)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("admin.staff"),
                             _("Added %(name)s; they choose their own password at first login.",
                               name=person.display_name))
    people = list(Staff.select().order_by(Staff.active.desc(), Staff.role, Staff.username))
    open_sessions = dict(StaffSession.select(StaffSession.staff, fn.COUNT(StaffSession.id))
                         .where(StaffSession.ended_at.is_null()).group_by(StaffSession.staff).tuples())
    status = 422 if request.method == "POST" else 200
    return render("admin/staff.html", form=form, people=people, open_sessions=open_sessions,
                  role_form=RoleForm(), active_form=ActiveForm()), status


@bp.route("/staff/<username>/role", methods=["POST"])
@allow("staff.manage")
def set_role(username):
    person = load_staff(username)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        staff_service.set_role(person, form.role.data, current_user)
    except ServiceError as err:
        return see_other(url_for("admin.staff"), err.message, "error")
    return see_other(url_for("admin.staff"), _("Role changed; %(name)s signs in again.", name=person.display_name))


@bp.route("/staff/<username>/active", methods=["POST"])
@allow("staff.manage")
def set_active(username):
    person = load_staff(username)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        staff_service.set_active(person, form.active.data, current_user)
    except ServiceError as err:
        return see_other(url_for("admin.staff"), err.message, "error")
    message = _("Account enabled.") if form.active.data else _("Account disabled; its sessions ended.")
    return see_other(url_for("admin.staff"), message)


@bp.route("/staff/<username>/password", methods=["POST"])
@allow("staff.manage")
def reset_password(username):
    person = load_staff(username)
    if not ActiveForm().validate_on_submit():  # only the CSRF token matters here
        abort(400)
    temporary = staff_service.reset_password(person)
    return render("admin/password_reset.html", person=person, temporary=temporary)


@bp.route("/tags", methods=["GET", "POST"])
@allow("tag.manage")
def tags():
    form = TagForm()
    if form.validate_on_submit():
        try:
            tag = registry.create_tag(form.name.data, form.color.data, form.clinical_alert.data,
                                      name_en=form.name_en.data or "")
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("admin.tags"), _("Tag %(name)s added.", name=tag.name))
    counts = dict(PatientTag.select(PatientTag.tag, fn.COUNT(PatientTag.id)).group_by(PatientTag.tag).tuples())
    status = 422 if request.method == "POST" else 200
    return render("admin/tags.html", form=form, tags=list(Tag.select().order_by(Tag.name)), counts=counts), status


@bp.route("/audit")
@allow("audit.view")
def audit_trail():
    form = AuditFilterForm(request.args)
    valid = form.validate()
    args = dict(actor=form.actor.data or "", chart_no=form.patient.data or "", action=form.action.data or "",
                date_from=form.date_from.data, date_to=form.date_to.data) if valid else {}
    rows, patients, more = audit_query.events(current_app.config["PORTAL_TZ"],
                                              before_id=request.args.get("before", type=int), **args)
    query = {k: v for k, v in request.args.items() if k != "before"}
    older_url = url_for("admin.audit_trail", before=rows[-1].id, **query) if more else None
    return render("admin/audit.html", form=form, rows=rows, patients=patients, older_url=older_url)


@bp.route("/rules", methods=["GET", "POST"])
@allow("clinic.rules")
def rules():
    """The numbers the clinic's rules run on, by group, and every change made to them (issue 11)."""
    config = current_app.config
    errors, submitted = {}, {}
    if request.method == "POST":
        if not ActiveForm().validate_on_submit():  # only the CSRF token matters here
            abort(400)
        submitted = {key: request.form[key][:200] for key in clinic_settings.REGISTRY if key in request.form}
        try:
            changed = clinic_settings.save(config, submitted, current_user)
        except clinic_settings.SettingsInvalid as err:
            errors = err.errors
        except ServiceError as err:
            return see_other(url_for("admin.rules"), err.message, "error")
        else:
            return see_other(url_for("admin.rules"), _("Saved.") if changed else _("Nothing changed."))
    return render("admin/rules.html", groups=clinic_settings.overview(config), history=clinic_settings.history(config),
                  errors=errors, submitted=submitted, csrf_form=ActiveForm()), (422 if errors else 200)
