"""Visit → bill (issue 13): the to-bill queue, bills made when a visit is signed or the patient
leaves the chair, once per visit, and corrections after billing as adjustment lines."""
from datetime import date

import pytest

from portal.models import Bill
from portal.services import ServiceError, billing
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


# Bills made from the visit ------------------------------------------------------------------------

NOTES = visits.VisitNotes(chief_complaint="牙龈出血", diagnosis="慢性牙龈炎")


@pytest.fixture()
def seated(app, staff, patient):
    """An appointment of today with the patient in the chair and its visit started; one procedure
    done (no protocol steps), one under way (two steps to tick)."""
    from datetime import datetime, time, timedelta
    from portal.models import Appointment, Chair, new_code
    from portal.services import catalogue as cat
    from portal.services.clock import to_utc
    from tests.chart_samples import scaling_procedure
    from tests.clock import clinic_today
    tz = app.config["PORTAL_TZ"]
    start = datetime.combine(clinic_today(), time(10))
    appt = Appointment.create(code=new_code(), patient=patient, doctor=staff["doctor"],
                              chair=Chair.create(code=new_code(6), name="Chair 1"), start_at=to_utc(start, tz),
                              end_at=to_utc(start + timedelta(minutes=30), tz), visit_type="revisit", status="seated")
    visit, _ = visits.start_from_appointment(appt, staff["doctor"], app.config)
    visits.update_notes(visit, NOTES, staff["doctor"])
    done = cat.start(visit, scaling_procedure(steps=[]), staff["doctor"])
    polish = scaling_procedure(code="PER-AP", steps=[("第1步", "Step 1"), ("第2步", "Step 2")])
    return {"appt": appt, "visit": visit, "done": done, "polish": polish}


def _lines(bill):
    from portal.models import BillLine
    return [(x.kind, x.amount_fen, x.visit_procedure_id) for x in BillLine.select().where(BillLine.bill == bill)
            .order_by(BillLine.id)]


def test_signing_bills_the_completed_procedures_once(app, staff, seated):
    visit = visits.sign(seated["visit"], staff["doctor"], app.config)
    bill = Bill.get(Bill.visit == visit)
    assert bill.status == "open" and bill.patient_id == visit.patient_id
    lines = _lines(bill)
    assert ("procedure", 28800, seated["done"].id) in lines
    assert [k for k, _a, _v in lines] == ["registration", "procedure"]  # a first bill: the registration fee
    assert billing.bill_visit(visit, staff["frontdesk"], app.config).id == bill.id
    assert Bill.select().count() == 1 and _lines(bill) == lines
    assert [b.id for b in billing.to_bill_queue()] == [bill.id]


def test_completing_the_appointment_bills_the_visit_once(app, staff, seated):
    from portal.services import schedule
    schedule.change_status(seated["appt"], "completed", staff["frontdesk"], app.config)
    bill = Bill.get(Bill.visit == seated["visit"])
    assert ("procedure", 28800, seated["done"].id) in _lines(bill)
    visits.sign(seated["visit"], staff["doctor"], app.config)  # signed after the patient left: the same bill
    assert Bill.select().count() == 1


def test_a_procedure_under_way_is_billed_when_it_completes_as_an_adjustment(app, staff, seated):
    from portal.models import BillLine, StepTick
    from portal.services import catalogue as cat
    from portal.services import schedule
    run = cat.start(seated["visit"], seated["polish"], staff["doctor"])
    schedule.change_status(seated["appt"], "completed", staff["frontdesk"], app.config)
    bill = Bill.get(Bill.visit == seated["visit"])
    before = _lines(bill)
    assert all(v != run.id for _k, _a, v in before)  # under way: not billed yet
    for step in StepTick.select().where(StepTick.run == run):
        cat.tick(run, step.position, staff["nurse"])
    made = billing.after_visit_change(seated["visit"], staff["nurse"], app.config)
    assert len(made) == 1
    line = BillLine.get_by_id(made[0].id)
    assert line.kind == "adjustment" and line.amount_fen == 28800 and line.visit_procedure_id == run.id
    assert line.created_by_id == staff["nurse"].id and seated["visit"].code in line.reason
    assert _lines(bill)[:len(before)] == before  # nothing already on the bill changed
    assert billing.after_visit_change(seated["visit"], staff["nurse"], app.config) == []  # once


def test_a_late_procedure_on_a_paid_bill_is_due_again(app, staff, seated):
    from portal.services import catalogue as cat
    from portal.services import schedule
    schedule.change_status(seated["appt"], "completed", staff["frontdesk"], app.config)
    bill = Bill.get(Bill.visit == seated["visit"])
    billing.take_payment(bill, [("cash", billing.totals(bill).due, "")], staff["frontdesk"], app.config)
    assert Bill.get_by_id(bill.id).status == "paid"
    cat.start(seated["visit"], scaling_procedure_no_steps("PRE-FL"), staff["doctor"])  # added after payment
    made = billing.after_visit_change(seated["visit"], staff["doctor"], app.config)
    assert [x.kind for x in made] == ["adjustment"]
    assert Bill.get_by_id(bill.id).status == "open" and billing.totals(bill).due == made[0].amount_fen
    assert [b.id for b in billing.to_bill_queue()] == [bill.id]


def scaling_procedure_no_steps(code):
    from tests.chart_samples import scaling_procedure
    return scaling_procedure(code=code, steps=[])


def test_routes_add_late_procedures_to_the_bill(app, staff, as_role, seated):
    from portal.services import schedule
    schedule.change_status(seated["appt"], "completed", staff["frontdesk"], app.config)
    bill = Bill.get(Bill.visit == seated["visit"])
    n = len(_lines(bill))
    proc = scaling_procedure_no_steps("PRE-FL2")
    resp = as_role("doctor").post(f"/visits/{seated['visit'].code}/procedures", data={"procedure": proc.code})
    assert resp.status_code == 303
    lines = _lines(bill)
    assert len(lines) == n + 1 and lines[-1][0] == "adjustment"
    page = as_role("frontdesk").get(f"/members/bills/{bill.code}").get_data(as_text=True)
    assert seated["visit"].code in page  # the adjustment says why


def test_sixteen_signs_and_completions_at_once_make_one_bill(app, staff, seated):
    from portal.models import Appointment, Visit
    from portal.services import schedule
    from tests.races import race

    def work(i, prepared):
        if i % 2:
            return visits.sign(prepared, staff["doctor"], app.config)
        return schedule.change_status(prepared, "completed", staff["frontdesk"], app.config, seen="seated")

    def prepare(i):
        return Visit.get_by_id(seated["visit"].id) if i % 2 else Appointment.get_by_id(seated["appt"].id)

    results, errors = race(app, 16, work, prepare=prepare)
    assert errors == []
    assert Visit.get_by_id(seated["visit"].id).status == "signed"
    assert Appointment.get_by_id(seated["appt"].id).status == "completed"
    assert Bill.select().count() == 1
    bill = Bill.get()
    assert [k for k, _a, v in _lines(bill) if v == seated["done"].id] == ["procedure"]


# The to-bill page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [("frontdesk", 200), ("manager", 200), ("consultant", 403),
                                          ("doctor", 403), ("nurse", 403)])
def test_to_bill_page_is_the_front_desks(app, staff, as_role, seated, role, status):
    visits.sign(seated["visit"], staff["doctor"], app.config)
    resp = as_role(role).get("/bills/to-bill")
    assert resp.status_code == status
    if status == 200:
        page = resp.get_data(as_text=True)
        bill = Bill.get()
        assert f"/members/bills/{bill.code}" in page and "钱二" in page


def test_to_bill_page_runs_the_same_statements_for_one_bill_or_many(app, staff, as_role, make_patient):
    from tests.statements import statements_of
    desk = as_role("frontdesk")
    bill_of(app, staff, make_patient(name="周一", birth_date=date(1970, 1, 1)), 10000)
    one = statements_of(desk, "/bills/to-bill")
    for name in ("周二", "周三", "周四", "周五"):
        bill_of(app, staff, make_patient(name=name, birth_date=date(1970, 1, 1)), 10000)
    assert statements_of(desk, "/bills/to-bill") == one


def test_signs_completions_and_desks_opening_bills_at_once_never_deadlock(app, staff, seated, make_patient):
    """The desk opening this visit's bill, or other patients' bills, while the doctor signs and
    the patient leaves the chair: one lock order for all (visit, audit trail, receipt counter)."""
    from portal.models import Appointment, Visit
    from portal.services import schedule
    from tests.clock import clinic_today
    from tests.races import race
    others = [make_patient(name=n, birth_date=date(1990, 1, 1)) for n in ("吴一", "吴二", "吴三", "吴四")]

    def prepare(i):
        return Visit.get_by_id(seated["visit"].id) if i % 4 in (0, 2) else Appointment.get_by_id(seated["appt"].id)

    def work(i, prepared):
        kind = i % 4
        if kind == 0:
            return visits.sign(prepared, staff["doctor"], app.config)
        if kind == 1:
            return schedule.change_status(prepared, "completed", staff["frontdesk"], app.config, seen="seated")
        if kind == 2:
            return billing.open_bill(prepared.patient, staff["frontdesk"], app.config, clinic_today(), visit=prepared)
        return billing.open_bill(others[i // 4], staff["frontdesk"], app.config, clinic_today())

    results, errors = race(app, 16, work, prepare=prepare)
    assert errors == []
    assert Bill.select().where(Bill.visit == seated["visit"].id).count() == 1
    assert Bill.select().where(Bill.visit.is_null()).count() == 4
    assert len({b.receipt_no for b in Bill.select()}) == 5
