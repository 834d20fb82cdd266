"""Each role's home page, and the health check."""
from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from portal.access import PUBLIC, SIGNED_IN, allow
from portal.db import db
from portal.jobs import check_queue
from portal.services import dashboard
from portal.web import local_today, render

bp = Blueprint("home", __name__)


@bp.route("/")
@allow(SIGNED_IN)
def index():
    role = current_user.role
    context = {"today": local_today()}
    if role in ("frontdesk", "consultant", "manager"):
        context["registered_today"] = dashboard.registered_on(local_today(), current_app.config["PORTAL_TZ"])
    if role in ("doctor", "nurse", "consultant", "frontdesk"):
        context["recent"] = dashboard.recently_opened(current_user)
    if role == "manager":
        context["summary"] = dashboard.manager_summary()
    return render("home/index.html", **context)


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
