"""Helpers for the billing and membership tests: a bill of a given amount, paid in one go."""
from datetime import date, datetime

from portal.services import billing


def bill_of(app, staff, patient, amount_fen, on=date(2026, 3, 2)):
    bill = billing.open_bill(patient, staff["manager"], app.config, on)
    fee = billing.totals(bill).charges
    if amount_fen - fee:
        billing.add_adjustment(bill, amount_fen - fee, "treatment", staff["manager"], app.config)
    return bill


def pay(app, staff, patient, amount_fen, method="cash", when=datetime(2026, 3, 2, 3, 0)):
    bill = bill_of(app, staff, patient, amount_fen, when.date())
    return bill, billing.take_payment(bill, [(method, amount_fen, "")], staff["frontdesk"], app.config, now=when)
