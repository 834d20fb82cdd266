"""Visit → bill (issue 13): the to-bill queue, bills made when a visit is signed or the patient
leaves the chair, once per visit, and corrections after billing as adjustment lines."""
from datetime import date

import pytest

from portal.models import Bill
from portal.services import billing
from portal.services import chart_visits as visits
from tests.members_helpers import bill_of, pay


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="钱二", birth_date=date(1980, 2, 3))


def test_to_bill_queue_lists_bills_with_a_balance_oldest_first_in_one_query(app, staff, make_patient):
    from tests.statements import StatementCounter
    a = make_patient(name="甲", birth_date=date(1980, 1, 1))
    b = make_patient(name="乙", birth_date=date(1981, 1, 1))
    c = make_patient(name="丙", birth_date=date(1982, 1, 1))
    first = bill_of(app, staff, a, 30000)
    second = bill_of(app, staff, b, 20000)
    pay(app, staff, c, 10000)  # paid in full: not in the queue
    billing.take_payment(second, [("cash", 5000, "")], staff["frontdesk"], app.config)  # part paid: still due
    with StatementCounter() as counter:
        queue = billing.to_bill_queue()
        names = [x.patient.name for x in queue]
    assert counter.count == 1
    assert [x.id for x in queue] == [first.id, second.id] and names == ["甲", "乙"]
    assert [x.due_fen for x in queue] == [30000, 15000]
    assert len(billing.to_bill_queue(limit=1)) == 1
