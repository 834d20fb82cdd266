"""Visits: open, write, sign, amend; chair-side protocols ticked on the tablet."""
from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow
from portal.blueprints.chart.forms import AddendumForm, NewVisitForm, StartProcedureForm, TickForm, VisitForm
from portal.blueprints.chart.loaders import load_patient, load_run, load_visit
from portal.blueprints.chart.views import bp
from portal.labels import localized
from portal.models import Appointment, Procedure, VisitAddendum
from portal.services import ServiceError, billing
from portal.services import catalogue as cat
from portal.services import chart_visits as visits
from portal.web import apply_service_error, local_today, refuse, render, see_other


@bp.route("/patients/<code>/visits")
@allow("visit.read")
def visit_list(code, form=None, status=200):
    patient = load_patient(code, "visits")
    today = local_today()
    mine = visits.unsigned_drafts(current_user, before=today) if current_user.role == "doctor" else []
    return render("chart/visits.html", patient=patient, visits=visits.visits_of(patient), today=today,
                  my_drafts=mine, form=form or NewVisitForm()), status


@bp.route("/appointments/<code>/visit", methods=["POST"])
@allow("visit.start")
def start_visit(code):
    """The doctor's "Start visit" on an appointment: its visit, made once, then always the same one."""
    from portal.blueprints.schedule.common import load_appointment
    appt = load_appointment(code, "visit.start")
    try:
        visit, created = visits.start_from_appointment(appt, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("schedule.show", code=code))
    return see_other(url_for("chart.visit", code=visit.code), _("Visit started.") if created else None,
                     trigger="scheduleChanged" if created else None)


@bp.app_template_global()
def appointment_visits(appointments) -> dict:
    """{appointment id: visit} for the appointments a page lists, in one query (macros/visits.html)."""
    return visits.visits_by_appointment(appointments)


@bp.app_template_global()
def visit_startable(appt) -> bool:
    return visits.may_start(appt, local_today(), current_app.config["PORTAL_TZ"])


@bp.route("/patients/<code>/visits", methods=["POST"])
@allow("visit.write")
def visit_open(code):
    patient = load_patient(code, "visits")
    form = NewVisitForm()
    if form.validate_on_submit():
        ref = (form.appointment.data or "").strip().upper()
        appointment = Appointment.get_or_none(Appointment.code == ref, Appointment.patient == patient) if ref else None
        try:
            if ref and appointment is None:
                raise ServiceError(_("No appointment of this patient has that code."), field="appointment")
            visit = visits.open_visit(patient, current_user, local_today(), appointment)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.visit", code=visit.code), _("Visit opened."))
    return visit_list(code, form=form, status=422)


def _visit_page(visit, form=None, start_form=None, status=200, tick_message=None):
    from portal.models import Visit
    visit = Visit.get_by_id(visit.id)  # the current state, whatever the request did or was refused
    runs = cat.runs_of(visit)
    start_form = start_form or StartProcedureForm()
    start_form.procedure.choices = [(p.code, localized(p)) for p in cat.catalogue(active_only=True)]
    addenda = list(VisitAddendum.select().where(VisitAddendum.visit == visit).order_by(VisitAddendum.id))
    from portal.blueprints.chart.views_visit_record import record_context
    form, record = record_context(visit, form)  # issue 14: carried-forward history, templates on offer
    return render("chart/visit.html", visit=visit, patient=visit.patient, form=form, **record,
                  runs=runs, completion=cat.completion, start_form=start_form, addenda=addenda,
                  addendum_form=AddendumForm(), tick_form=TickForm(), alerts=cat.alerts(visit.patient), tick_message=tick_message), status


@bp.route("/visits/<code>")
@allow("visit.read")
def visit(code):
    return _visit_page(load_visit(code))


@bp.route("/visits/<code>/notes", methods=["POST"])
@allow("visit.write")
def visit_notes(code):
    visit = load_visit(code)
    form = VisitForm()
    if form.validate_on_submit():
        notes = visits.VisitNotes(**{name: getattr(form, name).data or "" for name in visits.NOTE_FIELDS})
        try:
            changed = visits.update_notes(visit, notes, current_user)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("chart.visit", code=code), _("Saved.") if changed else _("Nothing changed."))
    return _visit_page(visit, form=form, status=422)


@bp.route("/visits/<code>/sign", methods=["POST"])
@allow("visit.sign")
def visit_sign(code):
    visit = load_visit(code)
    try:
        visits.sign(visit, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.visit", code=code))
    return see_other(url_for("chart.visit", code=code), _("Signed. The notes are now locked."))


@bp.route("/visits/<code>/addenda", methods=["POST"])
@allow("visit.write")
def visit_addendum(code):
    visit = load_visit(code)
    form = AddendumForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("Write the addendum."))
        visits.add_addendum(visit, form.text.data, current_user)
    except ServiceError as err:
        return refuse(err, back=url_for("chart.visit", code=code))
    return see_other(url_for("chart.visit", code=code), _("Addendum added."))


@bp.route("/visits/<code>/procedures", methods=["POST"])
@allow("protocol.tick")
def start_procedure(code):
    visit = load_visit(code)
    form = StartProcedureForm()
    form.procedure.choices = [(p.code, p.code) for p in cat.catalogue(active_only=True)]
    if not form.validate_on_submit():
        return see_other(url_for("chart.visit", code=code), _("Choose a procedure."), "error")
    procedure = Procedure.get_or_none(Procedure.code == form.procedure.data) or abort(404)
    from portal.blueprints.chart.views_consent import consent_gate  # issue 14: no signed consent: warn, reason
    stop, overridden = consent_gate(visit, procedure, form)
    if stop is not None:
        return stop
    try:
        cat.start(visit, procedure, current_user, tooth=form.tooth.data or None, alerts_seen=form.alerts_seen.data)
        overridden()
        billing.after_visit_change(visit, current_user, current_app.config)  # billed already: an adjustment line
    except ServiceError as err:
        return see_other(url_for("chart.visit", code=code), err.message, "error")
    return see_other(url_for("chart.visit", code=code) + "#protocols", _("Protocol started."))


@bp.route("/protocols/<code>/steps/<int:position>", methods=["POST"])
@allow("protocol.tick")
def tick(code, position):
    run = load_run(code)
    form = TickForm()
    skipping = request.form.get("skip") == "1"
    back = url_for("chart.visit", code=run.visit.code) + "#protocols"
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("The form expired. Please submit it again."))
        cat.tick(run, position, current_user, skip_reason=form.reason.data or "" if skipping else None)
        billing.after_visit_change(run.visit, current_user, current_app.config)  # completed after billing
    except ServiceError as err:
        from portal.services import Conflict
        from portal.web import htmx
        if htmx:  # the tablet: the protocol as it is now, with the reason, swapped in place (409/422)
            return _visit_page(run.visit, tick_message=err.message, status=409 if isinstance(err, Conflict) else 422)
        return refuse(err, back=back)
    from portal.web import htmx
    if htmx:  # the tablet: swap the protocol in place, no page reload between steps
        return _visit_page(run.visit)
    return see_other(back, None)
