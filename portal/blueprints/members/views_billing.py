"""Billing screens: a patient's bills, one bill (charges, adjustments, payments, refunds), the
receipt, the day's takings and the manager's approvals."""
from datetime import date

from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow
from portal.blueprints.members import bp
from portal.blueprints.members.common import fen, find_patient, load_member, load_owned
from portal.models import Bill, BillLine, Payment, Procedure, Visit
from portal.models.billing import METHODS
from portal.services import ServiceError
from portal.services import billing as svc
from portal.services import catalogue
from portal.services.benefits import KIND_LABELS
from portal.web import local_today, refuse, render, see_other


@bp.route("/members/<code>/bills")
@allow("billing.view")
def patient_bills(code):
    patient = load_member(code, "billing.view", "bills")
    return render("members/bills.html", p=patient, bills=svc.bills_of(patient), visits=svc.unbilled_visits(patient))


@bp.route("/members/<code>/bills", methods=["POST"])
@allow("billing.take")
def open_bill(code):
    patient = load_member(code, "billing.take")
    ref = (request.form.get("visit") or "").strip().upper()[:12]
    visit = Visit.get_or_none(Visit.code == ref, Visit.patient == patient) if ref else None
    if ref and visit is None:
        return refuse(ServiceError(_("No visit of this patient has that code.")), url_for("members.patient_bills", code=code))
    try:
        bill = svc.open_bill(patient, current_user, current_app.config, local_today(), visit=visit)
    except ServiceError as err:
        return refuse(err, url_for("members.patient_bills", code=code))
    return see_other(url_for("members.bill", code=bill.code), _("Bill opened."))


def _bill_page(bill, template="members/bill.html"):
    lines = list(BillLine.select().where(BillLine.bill == bill).order_by(BillLine.id))
    payments = list(Payment.select().where(Payment.bill == bill).order_by(Payment.id))
    return render(template, bill=bill, p=bill.patient, lines=lines, payments=payments, t=svc.totals(bill),
                  methods=METHODS, method_labels=svc.METHOD_LABELS, kind_labels=svc.LINE_KIND_LABELS,
                  procedures=catalogue.catalogue(active_only=True) if bill.status == "open" else [],
                  benefit_labels=KIND_LABELS)


@bp.route("/members/bills/<code>")
@allow("billing.view")
def bill(code):
    return _bill_page(load_owned(Bill, "billing.view", code, "bill"))


# The receipt (page and PDF) is in views_receipt.py.


def _to_bill(code, message=None, category="success"):
    return see_other(url_for("members.bill", code=code), message, category)


@bp.route("/members/bills/<code>/charges", methods=["POST"])
@allow("billing.take")
def add_charge(code):
    b = load_owned(Bill, "billing.take", code, "bill")
    proc = Procedure.get_or_none(Procedure.code == (request.form.get("procedure") or "")[:20], Procedure.active == True)  # noqa: E712
    if proc is None:
        return refuse(ServiceError(_("Choose a treatment from the catalogue.")), url_for("members.bill", code=code))
    try:
        svc.add_charge(b, proc, current_user, current_app.config, local_today())
    except ServiceError as err:
        return refuse(err, url_for("members.bill", code=code))
    return _to_bill(code, _("Charge added."))


@bp.route("/members/bills/<code>/adjustments", methods=["POST"])
@allow("billing.take")
def adjust(code):
    b = load_owned(Bill, "billing.take", code, "bill")
    amount = fen(request.form.get("amount", ""))
    if amount is None:
        return refuse(ServiceError(_("Enter an amount in yuan, such as -50 or 120.50.")), url_for("members.bill", code=code))
    try:
        line = svc.add_adjustment(b, amount, request.form.get("reason", ""), current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, url_for("members.bill", code=code))
    return _to_bill(code, _("Adjustment waits for a manager's approval.") if line.state == "pending" else _("Adjustment added."))


@bp.route("/members/bills/<code>/payments", methods=["POST"])
@allow("billing.take")
def pay(code):
    b = load_owned(Bill, "billing.take", code, "bill")
    parts = []
    for method in METHODS:
        raw = (request.form.get(f"amount_{method}") or "").strip()
        if raw:
            amount = fen(raw)
            if amount is None:
                return refuse(ServiceError(_("Enter amounts in yuan, such as 120.50.")), url_for("members.bill", code=code))
            parts.append((method, amount, request.form.get(f"ref_{method}", "")))
    try:
        svc.take_payment(b, parts, current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, url_for("members.bill", code=code))
    return _to_bill(code, _("Payment recorded."))


@bp.route("/members/bills/<code>/benefit", methods=["POST"])
@allow("member.benefit")
def cover(code):
    b = load_owned(Bill, "member.benefit", code, "bill")
    line = BillLine.get_or_none(BillLine.code == (request.form.get("line") or "")[:12], BillLine.bill == b)
    try:
        ref = (request.form.get("member") or "").strip()
        member = find_patient(ref) if ref else None
        if ref and member is None:
            raise ServiceError(_("No patient has chart number %(no)s.", no=ref[:20]), field="member")
        if line is None:
            raise ServiceError(_("Choose a treatment on this bill."), field="line")
        svc.cover_with_benefit(b, line, request.form.get("kind", ""), current_user, current_app.config, local_today(),
                               member=member)
    except ServiceError as err:
        return refuse(err, url_for("members.bill", code=code))
    return _to_bill(code, _("Benefit recorded."))


@bp.route("/members/payments/<code>/refund", methods=["POST"])
@allow("billing.take")
def refund(code):
    p = load_owned(Payment, "billing.take", code, "payment")
    amount = fen(request.form.get("amount", ""))
    try:
        if amount is None:
            raise ServiceError(_("Enter an amount in yuan."))
        row = svc.refund(p, amount, request.form.get("reason", ""), current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, url_for("members.bill", code=p.bill.code))
    return _to_bill(p.bill.code, _("Refund waits for a manager's approval.") if row.state == "pending" else _("Refund recorded."))


@bp.route("/members/payments/<code>/decide", methods=["POST"])
@allow("billing.approve")
def decide_refund(code):
    p = load_owned(Payment, "billing.approve", code, "payment")
    try:
        svc.decide_refund(p, request.form.get("decision") == "approve", current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, url_for("members.approvals"))
    return see_other(url_for("members.approvals"), _("Decided."))


@bp.route("/members/lines/<code>/decide", methods=["POST"])
@allow("billing.approve")
def decide_line(code):
    line = BillLine.get_or_none(BillLine.code == code[:12])
    if line is None:
        abort(404)
    load_owned(Bill, "billing.approve", line.bill.code, "bill")
    try:
        svc.decide_line(line, request.form.get("decision") == "approve", current_user, current_app.config)
    except ServiceError as err:
        return refuse(err, url_for("members.approvals"))
    return see_other(url_for("members.approvals"), _("Decided."))


@bp.route("/members/approvals")
@allow("billing.approve")
def approvals():
    from portal.services.members import pending_doctor_changes
    lines, refunds = svc.pending_approvals()
    audit.record("read", object_type="approvals", object_ref="pending")
    return render("members/approvals.html", lines=lines, refunds=refunds, changes=pending_doctor_changes())


@bp.route("/members/takings")
@allow("takings.view")
def takings():
    try:
        day = date.fromisoformat(request.args.get("date", "")[:10]) if request.args.get("date") else local_today()
    except ValueError:
        day = local_today()
    tz = current_app.config["PORTAL_TZ"]
    audit.record("read", object_type="takings", object_ref=day.isoformat())
    return render("members/takings.html", day=day, summary=svc.daily_takings(day, tz), rows=svc.day_payments(day, tz),
                  method_labels=svc.METHOD_LABELS)


@bp.route("/bills/to-bill")
@allow("billing.take")
def to_bill():
    """待收费: bills with a balance still due, oldest first (visits signed or patients out of the chair)."""
    from flask import g
    g.patient_data = True
    bills = svc.to_bill_queue(limit=100)
    audit.record("read", object_type="to_bill", object_ref=str(len(bills)))
    return render("members/bill_queue.html", bills=bills)
