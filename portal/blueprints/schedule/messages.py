"""The outbox (what was sent, what failed) and doctors' calendar feeds."""
from flask import abort, current_app, make_response, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user
from peewee import fn

from portal.access import PUBLIC, allow
from portal.blueprints.schedule import bp
from portal.blueprints.schedule.forms import VISIT_TYPE_CHOICES
from portal.models import OutboxMessage, Patient
from portal.notify import outbox
from portal.services import calendars
from portal.web import render, see_other

STATUSES = ("failed", "pending", "sending", "sent", "skipped", "cancelled")


@bp.route("/outbox")
@allow("outbox.view")
def outbox_list():
    status = request.args.get("status", "failed")
    status = status if status in STATUSES else "failed"
    rows = list(OutboxMessage.select(OutboxMessage, Patient).join(Patient)
                .where(OutboxMessage.status == status)
                .order_by(OutboxMessage.scheduled_at.desc()).limit(100))
    counts = dict(OutboxMessage.select(OutboxMessage.status, fn.COUNT(OutboxMessage.id))
                  .group_by(OutboxMessage.status).tuples())
    return render("schedule/outbox.html", rows=rows, status=status, counts=counts, statuses=STATUSES)


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@allow("outbox.view")
def outbox_retry(message_id):
    msg = OutboxMessage.get_or_none(OutboxMessage.id == message_id) or abort(404)
    outbox.retry(msg)
    return see_other(url_for("schedule.outbox_list", status="pending"), _("Queued again."))


@bp.route("/schedule/calendar", methods=["GET", "POST"])
@allow("calendar.own")
def calendar_feed():
    token = None
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            calendars.revoke_feeds(current_user)
            return see_other(url_for("schedule.calendar_feed"), _("Calendar link revoked."))
        token = calendars.create_feed(current_user, current_user)
    url = url_for("schedule.calendar_ics", token=token, _external=True) if token else None
    return render("schedule/calendar.html", url=url)


@bp.route("/calendar/<token>.ics")
@allow(PUBLIC)
def calendar_ics(token):
    doctor = calendars.feed_doctor(token)
    if doctor is None:
        abort(404)
    with force_locale(doctor.locale or current_app.config["PORTAL_LOCALE"]):
        labels = {k: str(v) for k, v in VISIT_TYPE_CHOICES}
    body = calendars.ics(doctor, current_app.config["CLINIC_NAME"], labels)
    resp = make_response(body)
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
