"""The tooth chart: the odontogram on any date, a tooth's panel, recording and correcting findings."""
from datetime import date

from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import allow, can
from portal.blueprints.chart.forms import EntryForm, WithdrawForm
from portal.blueprints.chart import svg
from portal.blueprints.chart.loaders import load_patient
from portal.models import ChartEntry, Visit
from portal.services import ServiceError
from portal.services import chart as charts
from portal.services.chart_teeth import ALL_TEETH, KINDS, valid_tooth
from portal.web import htmx, local_today, render, see_other

bp = Blueprint("chart", __name__)
HISTORY_SHOWN = 40


@bp.record_once
def _template_globals(state):
    from portal.blueprints.chart import svg
    from portal.services.chart_teeth import DENTITION_LABELS, STATUS_LABELS, STATUS_MARKS, is_anterior
    state.app.jinja_env.globals.update(
        chart_tooth_name=svg.tooth_name, chart_status_marks=STATUS_MARKS, chart_status_labels=STATUS_LABELS,
        chart_dentition_labels=DENTITION_LABELS, chart_colours=svg.STATUS_COLOURS, chart_surface_kinds=svg.SURFACE_KINDS,
        chart_endpoints=lambda: state.app.view_functions, chart_svg_width=svg.WIDTH, chart_svg_height=svg.HEIGHT, chart_today=local_today,
        chart_surfaces=lambda t: ["M", "I" if is_anterior(t) else "O", "D", "B", "L"], chart_picker_regions=svg.picker_regions)


def _on() -> date:
    try:
        on = date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return local_today()
    return min(on, local_today())


def _draft_visits(patient):
    """Today's open visits (the default for recording); drafts of earlier days are listed after
    "No visit", so they are only ever chosen on purpose (issue 13)."""
    from portal.services.chart_visits import todays_drafts
    return todays_drafts(patient, local_today())


def _earlier_drafts(patient):
    from portal.services.chart_visits import earlier_drafts
    return earlier_drafts(patient, local_today())


def _picked() -> list[str]:
    """Surfaces a tap on the chart picked for the entry form (?surface=M&surface=O)."""
    return [s for s in request.args.getlist("surface") if s in ("M", "O", "I", "D", "B", "L")]


def _panel(patient, tooth, on, picked=()):
    """A tooth's findings on `on` and its latest history: bounded queries, whatever the history length."""
    history = charts.latest_of_tooth(patient, tooth, HISTORY_SHOWN + 1)
    return {"tooth": tooth, "current": charts.standing_entries(charts.current_entries(patient, on, tooth)), "history": history[:HISTORY_SHOWN],
            "more": len(history) > HISTORY_SHOWN, "corrected": charts.corrected_ids(history),
            "entry_form": EntryForm(), "withdraw_form": WithdrawForm(), "is_today": on == local_today(), "picked": list(picked),
            "drafts": _draft_visits(patient) if can(current_user, "chart.write") else [],
            "earlier_drafts": _earlier_drafts(patient) if can(current_user, "chart.write") else []}


@bp.route("/patients/<code>/chart")
@allow("chart.read")
def show(code):
    patient = load_patient(code)
    on = _on()
    view = charts.build(patient, on)
    tooth = request.args.get("tooth", type=int)
    panel = _panel(patient, tooth, on, _picked()) if tooth in ALL_TEETH else None
    return render("chart/chart.html", patient=patient, view=view, on=on, today=local_today(), panel=panel,
                  kinds=KINDS, layout=svg.layout(view))


@bp.route("/patients/<code>/chart/teeth/<int:tooth>")
@allow("chart.read")
def tooth_panel(code, tooth):
    patient = load_patient(code)
    try:
        valid_tooth(tooth)
    except ServiceError as err:
        return render("chart/error.html", message=err.message), 400
    on = _on()
    return render("chart/tooth.html", patient=patient, on=on, kinds=KINDS, panel=_panel(patient, tooth, on, _picked()))


def _entry_data(form, tooth):
    surfaces = "".join(request.form.getlist("surface"))
    return charts.EntryData(tooth=tooth, kind=form.kind.data, status=form.status.data, surfaces=surfaces,
                            grade=form.grade.data or None, note=form.note.data or "",
                            override=form.override.data or "")


def _back(patient, tooth, message, category="success"):
    """A plain browser goes back to the chart with the tooth open. htmx (the tooth panel's forms)
    gets the panel again with the message, and the chart's tooth redrawn in place (out of band):
    no reload, no jump in the page."""
    if htmx and tooth in ALL_TEETH:
        on = local_today()
        drawn = next((t for t in svg.layout(charts.build(patient, on)) if t["tooth"] == tooth), None)
        message_key = "panel_error" if category == "error" else "panel_message"
        resp = make_response(render("chart/chart.html", patient=patient, on=on, kinds=KINDS, panel=_panel(patient, tooth, on),
                                    oob_tooth=drawn, **{message_key: message}), 422 if category == "error" else 200)
        resp.headers["HX-Trigger"] = "chartChanged"
        return resp
    return see_other(url_for("chart.show", code=patient.code, tooth=tooth), message, category,
                     trigger="chartChanged")


@bp.route("/patients/<code>/chart/teeth/<int:tooth>/entries", methods=["POST"])
@allow("chart.write")
def record(code, tooth):
    patient = load_patient(code)
    form = EntryForm()
    if not form.validate_on_submit():
        return _back(patient, tooth, _("Check the finding: choose what it is and its status."), "error")
    visit = Visit.get_or_none(Visit.code == form.visit.data, Visit.patient == patient) if form.visit.data else None
    try:
        entry = charts.record(patient, _entry_data(form, tooth), current_user, local_today(), visit)
    except ServiceError as err:
        return _back(patient, tooth if tooth in ALL_TEETH else None, err.message, "error")
    return _back(patient, tooth, _("Recorded %(kind)s on tooth %(n)d.", kind=KINDS[entry.kind].label, n=tooth))


@bp.route("/patients/<code>/chart/entries/<entry>/correct", methods=["POST"])
@allow("chart.write")
def correct(code, entry):
    patient = load_patient(code)
    target = ChartEntry.get_or_none(ChartEntry.code == entry, ChartEntry.patient == patient) or abort(404)
    withdraw = request.form.get("withdraw") == "1"
    form = WithdrawForm() if withdraw else EntryForm()
    if not form.validate_on_submit():
        return _back(patient, target.tooth, _("Say why the entry was wrong.") if withdraw
                     else _("Check the correction."), "error")
    try:
        if withdraw:
            charts.correct(target, None, current_user, local_today(), reason=form.reason.data)
        else:
            charts.correct(target, _entry_data(form, request.form.get("tooth") or target.tooth), current_user,
                           local_today())
    except ServiceError as err:
        return _back(patient, target.tooth, err.message, "error")
    return _back(patient, target.tooth, _("Correction recorded; the original entry is kept in the history."))


from portal.blueprints.chart import views_visits, views_catalogue, views_plans, views_images  # noqa: E402,F401
from portal.blueprints.chart import views_visit_record  # noqa: E402,F401  (issue 14: record templates)
from portal.blueprints.chart import views_prescriptions  # noqa: E402,F401  (issue 14: prescriptions)
from portal.blueprints.chart import views_perio  # noqa: E402,F401  (issue 14: perio charts)
from portal.blueprints.chart import views_consent  # noqa: E402,F401  (issue 14: consent forms)
from portal.blueprints.chart import views_lab_cases  # noqa: E402,F401  (issue 14: lab cases)
