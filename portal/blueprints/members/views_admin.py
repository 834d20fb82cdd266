"""The manager's side: gifts and their stock, the weekly count, change-of-doctor decisions, settings."""
from datetime import timedelta

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, load_or_404
from portal.blueprints.members import bp
from portal.blueprints.members.common import clean_code, find_patient, int_or, load_owned
from portal.models import DoctorChangeRequest, GiftItem
from portal.services import ServiceError, gifts, members
from portal.services import member_settings as settings
from portal.web import local_today, refuse, render, see_other


@bp.route("/members/gifts")
@allow("gift.issue")
def gift_list():
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    return render("members/gifts.html", report=gifts.week_report(monday, current_app.config["PORTAL_TZ"]), monday=monday,
                  friday=gifts.count_day(monday),
                  issues=gifts.recent_issues(), tasks=members.open_tasks())


@bp.route("/members/gifts", methods=["POST"])
@allow("gift.manage")
def gift_create():
    try:
        gifts.create_item(request.form.get("name", ""), int_or(request.form.get("low_stock"), 5), 0, current_user)
    except ServiceError as err:
        return refuse(err, url_for("members.gift_list"))
    return see_other(url_for("members.gift_list"), _("Gift added."))


@bp.route("/members/gifts/<code>", methods=["POST"])
@allow("gift.issue")
def gift_move(code):
    item = load_or_404(GiftItem, "gift.issue", code=clean_code(code))
    action, back = request.form.get("action"), url_for("members.gift_list")
    try:
        if action == "issue":
            patient = find_patient(request.form.get("patient"), required=True)
            gifts.issue(item, patient, request.form.get("reason", ""), current_user)
        elif action in ("in", "count"):
            from portal.access import can
            if not can(current_user, "gift.manage"):
                from portal.access import deny
                deny("role")
            qty = int_or(request.form.get("quantity"), -1)
            gifts.stock_in(item, qty, request.form.get("reason", ""), current_user) if action == "in" \
                else gifts.count(item, qty, current_user)
        else:
            raise ServiceError(_("Choose what to do."))
    except ServiceError as err:
        return refuse(err, back)
    return see_other(back, _("Saved."))


@bp.route("/members/doctor-requests/<code>/decide", methods=["POST"])
@allow("doctor_change.approve")
def decide_doctor_change(code):
    row = load_owned(DoctorChangeRequest, "doctor_change.approve", code, "doctor_change")
    try:
        members.decide_doctor_change(row, request.form.get("decision") == "approve", current_user,
                                     request.form.get("note", ""))
    except ServiceError as err:
        return refuse(err, url_for("members.approvals"))
    return see_other(url_for("members.approvals"), _("Decided."))


@bp.route("/members/settings", methods=["GET", "POST"])
@allow("member.settings")
def settings_page():
    config = current_app.config
    if request.method == "POST":
        try:
            changed = settings.save(config, {k: request.form[k] for k in settings.DEFAULTS if k in request.form},
                                    current_user)
        except ServiceError as err:
            return refuse(err, url_for("members.settings_page"))
        return see_other(url_for("members.settings_page"), _("Saved.") if changed else _("Nothing changed."))
    audit.record("read", object_type="member_settings", object_ref="all")
    from portal.services import benefits, tiers
    return render("members/settings.html", values=settings.all_settings(config), labels=settings.LABELS,
                  choices=settings.CHOICES, tier_columns=settings.TIER_COLUMNS, tiers=settings.TIERS,
                  tier_labels=tiers.TIER_LABELS, perk_kinds=settings.PERK_KINDS, plan_b_kinds=settings.PLAN_B_KINDS,
                  kind_labels=benefits.KIND_LABELS, history=settings.history())
