"""Helpers for the billing and membership tests: a bill of a given amount, paid in one go."""
from datetime import date, datetime

from portal.services import billing


def id_for(birth_date: date, serial: str = "001") -> str:
    """A resident ID number with a valid check digit for this birth date."""
    from portal.services.identity import _ID_CHECK, _ID_WEIGHTS
    body = f"110101{birth_date:%Y%m%d}{serial}"
    return body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def join(app, staff, patient, when=None):
    """Record the patient's consent and registration details (seed 002: 经病人同意后…登记)."""
    from portal.models import Membership
    from portal.services import members
    m = Membership.get_or_none(Membership.patient == patient)
    if m is not None and m.joined_at is not None:
        return m
    return members.join(patient, staff["frontdesk"], app.config, consent=True,
                        id_number=patient.id_number or id_for(patient.birth_date),
                        address=patient.address or "北京市东城区东华门大街 1 号", now=when)


def bill_of(app, staff, patient, amount_fen, on=date(2026, 3, 2)):
    bill = billing.open_bill(patient, staff["manager"], app.config, on)
    fee = billing.totals(bill).charges
    if amount_fen - fee:
        billing.add_adjustment(bill, amount_fen - fee, "treatment", staff["manager"], app.config)
    return bill


def pay(app, staff, patient, amount_fen, method="cash", when=datetime(2026, 3, 2, 3, 0), joined=True):
    """Pay a bill of `amount_fen`; by default the patient has joined (consented) first."""
    if joined:
        join(app, staff, patient, when)
    bill = bill_of(app, staff, patient, amount_fen, when.date())
    return bill, billing.take_payment(bill, [(method, amount_fen, "")], staff["frontdesk"], app.config, now=when)
