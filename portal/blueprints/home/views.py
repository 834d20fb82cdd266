"""Each role's home page, and the health check."""
from datetime import timedelta

from flask import Blueprint, current_app, g, jsonify
from flask_login import current_user

from portal import audit
from portal.access import PUBLIC, SIGNED_IN, allow, can
from portal.db import db
from portal.jobs import check_queue
from portal.services import billing, chart_visits, dashboard
from portal.web import local_today, render

bp = Blueprint("home", __name__)


@bp.route("/")
@allow(SIGNED_IN)
def index():
    role = current_user.role
    today, tz = local_today(), current_app.config["PORTAL_TZ"]
    context = {"today": today}
    if role in ("frontdesk", "consultant", "manager"):
        context["registered_today"] = dashboard.registered_on(today, tz)
    if role in ("doctor", "nurse", "consultant", "frontdesk"):
        context["recent"] = dashboard.recently_opened(current_user)
    if role == "manager":
        context["summary"] = dashboard.manager_summary()
    context.update(_today_by_role(role, today, tz))
    return render("home/index.html", **context)


def _today_by_role(role: str, today, tz: str) -> dict:
    """The day's lists for the doctor, the nurse and the desk, and the alert badges of every patient
    on them (issue 13). Each list is a fixed number of statements, whatever the day holds."""
    viewer = current_user._get_current_object()
    lists: dict = {}
    if role == "doctor":
        lists["my_day"] = dashboard.doctor_today(viewer, today, tz)
        lists["unsigned"] = chart_visits.unsigned_drafts(viewer, today)
        lists["paperwork"] = dashboard.unsigned_paperwork(viewer, today, tz)
    elif role == "nurse":
        lists["chairs"] = dashboard.chairs_today(today, tz)
    elif role == "frontdesk":
        lists["arrivals"] = dashboard.arrivals(today, tz)
        lists["to_bill"] = billing.to_bill_queue(limit=20)
        lists["tomorrow"] = today + timedelta(days=1)
        lists["unconfirmed"] = dashboard.unconfirmed(today + timedelta(days=1), tz)
    if not lists:
        return {}
    g.patient_data = True

    def visible(patient) -> bool:
        return can(viewer, "patient.read", patient)
    rows = [lists.get("my_day"), lists.get("unsigned"), lists.get("paperwork"), lists.get("to_bill"),
            lists.get("unconfirmed")]
    if "arrivals" in lists:
        rows += [lists["arrivals"]["expected"], lists["arrivals"]["arrived"]]
    for chair in lists.get("chairs", ()):
        rows += [chair.seated, chair.waiting, [chair.next] if chair.next else []]
    ids = dashboard.patient_ids_of(visible, *rows)
    lists["alerts"] = dashboard.alerts_of(ids, medical=can(viewer, "patient.medical.view"))
    audit.record("read", object_type="home", object_ref=today.isoformat(), detail={"patients": len(ids)})
    return lists


@bp.route("/healthz")
@allow(PUBLIC)
def healthz():
    try:  # the request hook does not connect for this page: a database that is down is reported here
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1").fetchone()
        db_ok = True
    except Exception:  # reported, not raised: this is what a monitor polls
        db_ok = False
    queue_ok, _ = check_queue()
    status = "ok" if db_ok and queue_ok else "degraded"
    return jsonify(status=status, db="ok" if db_ok else "error",
                   queue="ok" if queue_ok else "error"), 200 if status == "ok" else 503
