"""A bill's receipt (收据), as data for one sheet that shows on screen, prints from the browser and
renders as a PDF (WeasyPrint): the clinic, receipt number and date, the patient, what was charged
(one row per treatment and price, with its teeth and quantity), discounts and adjustments, member
benefits, payments by method (a split payment shows each part) and the balance.

Only what stands on the bill is printed: approved lines, and payments and refunds that were made
(a refund or an adjustment still waiting for a manager is not on the receipt). Words are in the
language of the printout, never in the language a line was written in: treatments by their name
in that language, discounts and benefits as the kind plus the treatment they apply to; only an
adjustment's reason, typed by staff, is shown as typed. Two statements, whatever the bill's size.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from peewee import JOIN

from portal.models import Bill, BillLine, Patient, Payment, Procedure, VisitProcedure, utcnow
from portal.models.billing import METHODS
from portal.reports.content import is_zh, proc_name
from portal.services.billing import METHOD_LABELS


@dataclass
class Row:
    label: str
    amount_fen: int
    quantity: int = 1
    unit_fen: int = 0
    teeth: list = field(default_factory=list)
    note: str = ""


@dataclass
class PaymentRow:
    at: datetime               # UTC (the |dt filter shows clinic time)
    method: str
    label: str
    amount_fen: int            # negative for a refund
    refund: bool
    reference: str = ""


@dataclass
class Receipt:
    bill: Bill
    patient: Patient
    number: str
    issued_on: datetime        # UTC: when the bill was settled, else the last payment, else opened
    settled: bool
    items: list                # [Row] charges
    discounts: list            # [Row] discounts and adjustments
    benefits: list             # [Row] member benefits
    payments: list             # [PaymentRow] in the order taken
    by_method: list            # [(label, net fen)] methods used, in the clinic's order
    charges_fen: int           # what the treatments cost before discounts and benefits
    total_fen: int             # what the bill comes to
    paid_fen: int
    balance_fen: int
    points_earned: int


def _teeth(values) -> list:
    return sorted({t for t in values if t})


def _group(rows: list[tuple]) -> list[Row]:
    """[(key, label, amount, tooth)] → one Row per key, quantity and teeth gathered, in first-seen order."""
    out: dict = {}
    for key, label, amount, tooth in rows:
        row = out.get(key)
        if row is None:
            out[key] = row = Row(label=label, amount_fen=0, quantity=0, unit_fen=amount)
        row.quantity += 1
        row.amount_fen += amount
        if tooth:
            row.teeth.append(tooth)
    for row in out.values():
        row.teeth = _teeth(row.teeth)
    return list(out.values())


def build(bill: Bill) -> Receipt:
    lines = (BillLine.select(BillLine, Procedure, VisitProcedure)
             .join(Procedure, join_type=JOIN.LEFT_OUTER, on=(BillLine.procedure == Procedure.id)).switch(BillLine)
             .join(VisitProcedure, join_type=JOIN.LEFT_OUTER, on=(BillLine.visit_procedure == VisitProcedure.id))
             .where(BillLine.bill == bill.id, BillLine.state == "approved").order_by(BillLine.id))
    charges, discounts, benefits = [], [], []
    for line in lines:
        proc = line.procedure if line.procedure_id else None
        tooth = line.visit_procedure.tooth if line.visit_procedure_id else None
        name = proc_name(proc) if proc is not None else ""
        if line.kind == "procedure":
            charges.append((("p", line.procedure_id, line.amount_fen), name or line.description, line.amount_fen, tooth))
        elif line.kind == "registration":
            charges.append((("r", line.amount_fen), _("Registration fee"), line.amount_fen, None))
        elif line.kind == "discount":
            label = _("Discount on %(item)s", item=name) if name else _("Discount")
            discounts.append((("d", line.procedure_id, line.amount_fen), label, line.amount_fen, tooth))
        elif line.kind == "benefit":
            label = _("Member benefit: %(item)s", item=name) if name else _("Member benefit")
            benefits.append((("b", line.id), label, line.amount_fen, tooth))
        else:  # an adjustment: the reason as staff typed it
            discounts.append((("a", line.id), _("Adjustment: %(reason)s", reason=line.description),
                              line.amount_fen, None))
    payments, net, earned = [], {}, 0
    last_paid = None
    for p in (Payment.select().where(Payment.bill == bill.id, Payment.state == "done").order_by(Payment.taken_at, Payment.id)):
        refund = p.kind == "refund"
        amount = -p.amount_fen if refund else p.amount_fen
        payments.append(PaymentRow(at=p.taken_at, method=p.method, label=str(METHOD_LABELS[p.method]),
                                   amount_fen=amount, refund=refund, reference=p.reference))
        net[p.method] = net.get(p.method, 0) + amount
        earned += p.points_earned if not refund else 0
        if not refund:
            last_paid = p.taken_at
    items, cuts, covers = _group(charges), _group(discounts), _group(benefits)
    charges_fen = sum(r.amount_fen for r in items)
    total = charges_fen + sum(r.amount_fen for r in cuts) + sum(r.amount_fen for r in covers)
    paid = sum(net.values())
    issued = bill.paid_at or last_paid or bill.created_at
    return Receipt(bill=bill, patient=bill.patient, number=bill.receipt_no, issued_on=issued,
                   settled=bill.status == "paid", items=items, discounts=cuts, benefits=covers, payments=payments,
                   by_method=[(str(METHOD_LABELS[m]), net[m]) for m in METHODS if m in net],
                   charges_fen=charges_fen, total_fen=total, paid_fen=paid, balance_fen=max(0, total - paid),
                   points_earned=earned)


def pdf(bill: Bill, today: date, actor) -> bytes:
    """The receipt as a PDF in the current locale (the caller audits the print)."""
    from portal.reports.render import render_pdf
    return render_pdf("print/receipt.html", r=build(bill), today=today, printed_at=utcnow(),
                      printed_by=actor.display_name if actor else "", config=current_app.config,
                      locale="zh_CN" if is_zh() else "en")
