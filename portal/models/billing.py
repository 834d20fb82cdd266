"""Bills, their lines and payments (issue 7). Money is integer fen, never a float.

A bill's lines are charges (procedures from the catalogue, a registration fee), discounts (by tier,
birthday) and manual adjustments; an adjustment above the clinic's limit waits for a manager.
Payments and refunds are rows of their own; nothing paid is ever edited, a refund is a new row.
"""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.chart import Procedure, Visit, VisitProcedure
from portal.models.people import Patient
from portal.models.staff import Staff

BILL_STATUSES = ("open", "paid", "void")
LINE_KINDS = ("procedure", "registration", "discount", "adjustment", "benefit")
LINE_STATES = ("approved", "pending", "rejected")
MONEY_METHODS = ("cash", "card", "wechat", "alipay")
METHODS = MONEY_METHODS + ("points",)
PAYMENT_KINDS = ("payment", "refund")
PAYMENT_STATES = ("done", "pending", "rejected")


class Bill(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    receipt_no = pw.CharField(max_length=20, unique=True)
    patient = pw.ForeignKeyField(Patient, backref="bills", on_delete="RESTRICT")
    visit = pw.ForeignKeyField(Visit, null=True, unique=True, backref="bills", on_delete="RESTRICT")
    status = pw.CharField(max_length=10, default="open")
    created_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    paid_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "bill"
        indexes = ((("patient", "created_at"), False),)


class BillLine(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    bill = pw.ForeignKeyField(Bill, backref="lines", on_delete="RESTRICT")
    kind = pw.CharField(max_length=12)
    description = pw.CharField(max_length=120)
    department = pw.CharField(max_length=20, default="")
    procedure = pw.ForeignKeyField(Procedure, null=True, backref="+", on_delete="RESTRICT")
    visit_procedure = pw.ForeignKeyField(VisitProcedure, null=True, backref="+", on_delete="RESTRICT")
    amount_fen = pw.IntegerField()  # negative for discounts and benefits
    reason = pw.CharField(max_length=200, default="")
    state = pw.CharField(max_length=10, default="approved")
    created_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)
    decided_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    decided_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "bill_line"


class Payment(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    bill = pw.ForeignKeyField(Bill, backref="payments", on_delete="RESTRICT")
    patient = pw.ForeignKeyField(Patient, backref="payments", on_delete="RESTRICT")
    kind = pw.CharField(max_length=10, default="payment")
    method = pw.CharField(max_length=10)
    amount_fen = pw.IntegerField()  # always positive; a refund's kind says which way it went
    state = pw.CharField(max_length=10, default="done")
    refund_of = pw.ForeignKeyField("self", null=True, backref="refunds", on_delete="RESTRICT")
    reference = pw.CharField(max_length=60, default="")
    reason = pw.CharField(max_length=200, default="")
    points_earned = pw.IntegerField(default=0)
    taken_by = pw.ForeignKeyField(Staff, backref="+", on_delete="RESTRICT")
    taken_at = pw.DateTimeField(default=utcnow, index=True)
    decided_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="RESTRICT")
    decided_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "payment"
