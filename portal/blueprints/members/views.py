"""The member list and the member card: tier, points, benefits left this year, history."""
from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow
from portal.blueprints.members import bp
from portal.blueprints.members.common import find_patient, int_or, load_member, load_owned
from portal.models import DeskTask, Staff
from portal.services import ServiceError, benefits, members, referrals
from portal.services import billing as bills
from portal.services import member_settings as settings
from portal.services import points as ledger
from portal.services import tiers
from portal.web import local_today, refuse, render, see_other


@bp.route("/members")
@allow("member.view")
def index():
    q, tier = request.args.get("q", "")[:40], request.args.get("tier", "")
    rows = members.listing(q, tier)
    audit.record("read", object_type="member_list", object_ref=(tier or "all"), detail={"q": q[:40]} if q else None)
    return render("members/index.html", rows=rows, q=q, tier=tier, tier_labels=tiers.TIER_LABELS,
                  tasks=members.open_tasks())


@bp.route("/members/<code>")
@allow("member.view")
def card(code):
    patient = load_member(code)
    today = local_today()
    doctors = list(Staff.select().where(Staff.role == "doctor", Staff.active == True).order_by(Staff.display_name))  # noqa: E712
    config = current_app.config
    return render("members/card.html", p=patient, info=members.card(patient, today, config), today=today,
                  history=ledger.history(patient), uses=benefits.uses_of(patient), tier_history=members.tier_history(patient),
                  tree=referrals.tree(patient), bills=bills.bills_of(patient)[:10], doctors=doctors,
                  plan=settings.get(config, "plan"), catalogue_b=settings.prices_b(config),
                  kind_labels=benefits.KIND_LABELS, reason_labels=ledger.REASON_LABELS, tier_labels=tiers.TIER_LABELS)


def _back(code):
    return url_for("members.card", code=code)


@bp.route("/members/<code>/join", methods=["POST"])
@allow("member.benefit")
def join(code):
    patient = load_member(code, "member.benefit")
    f = request.form
    try:
        members.join(patient, current_user, current_app.config, consent=f.get("consent") == "yes",
                     id_number=f.get("id_number", "")[:30], address=f.get("address", "")[:300])
    except ServiceError as err:
        return refuse(err, _back(code))
    return see_other(_back(code), _("Joined: the patient is a member from now on."))


@bp.route("/members/<code>/benefits", methods=["POST"])
@allow("member.benefit")
def use_benefit(code):
    patient = load_member(code, "member.benefit")
    f = request.form
    try:
        beneficiary = find_patient(f.get("beneficiary"))
        if f.get("beneficiary") and beneficiary is None:
            raise ServiceError(_("No patient has chart number %(no)s.", no=f.get("beneficiary", "")[:20]))
        if settings.get(current_app.config, "plan") == "B":
            benefits.redeem_points(patient, f.get("kind", ""), current_user, current_app.config,
                                   teeth=int_or(f.get("teeth"), 1), beneficiary=beneficiary)
        else:
            benefits.use(patient, f.get("kind", ""), current_user, local_today(), beneficiary=beneficiary,
                         child_id=int_or(f.get("child")), note=f.get("note", ""), config=current_app.config)
    except ServiceError as err:
        return refuse(err, _back(code))
    return see_other(_back(code), _("Benefit recorded."))


@bp.route("/members/<code>/points", methods=["POST"])
@allow("member.points")
def adjust_points(code):
    patient = load_member(code, "member.points")
    try:
        ledger.adjust(patient, int_or(request.form.get("points"), 0), request.form.get("reason", ""), current_user,
                      local_today(), current_app.config)
    except ServiceError as err:
        return refuse(err, _back(code))
    return see_other(_back(code), _("Points adjusted."))


@bp.route("/members/<code>/doctor-change", methods=["POST"])
@allow("doctor_change.request")
def request_doctor_change(code):
    patient = load_member(code, "doctor_change.request")
    doctor = Staff.get_or_none(Staff.id == int_or(request.form.get("doctor"), 0))
    try:
        members.request_doctor_change(patient, doctor, request.form.get("reason", ""), current_user)
    except ServiceError as err:
        return refuse(err, _back(code))
    return see_other(_back(code), _("Request recorded; a manager decides."))


@bp.route("/members/tasks/<code>/done", methods=["POST"])
@allow("gift.issue")
def task_done(code):
    task = load_owned(DeskTask, "gift.issue", code, "desk_task")
    from portal.models import GiftItem
    from portal.services import gifts
    item = GiftItem.get_or_none(GiftItem.code == (request.form.get("item") or "")[:12])
    back = url_for("home.index") if request.form.get("back") == "home" else url_for("members.index")
    try:
        if item is not None:
            gifts.issue(item, task.patient, "", current_user, task=task)
        else:
            members.close_task(task, current_user, request.form.get("note", ""))
    except ServiceError as err:
        return refuse(err, back)
    return see_other(back, _("Handed over."))
