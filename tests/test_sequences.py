"""Chart and receipt numbers come from a locked counter row: desks registering at the same instant
never collide, and a clinic upgraded from MAX()+1 numbering continues its sequence (issue 12)."""
from datetime import date

import pytest

from portal.db import db, unit_of_work
from portal.models import Bill, Patient
from portal.services import billing, counters
from tests.clock import clinic_today
from tests.conftest import sign_in
from tests.races import race

FORM = {"sex": "F", "birth_date": "1985-04-02", "occupation_group": "", "preferred_channel": "sms",
        "preferred_time": "any", "referral_channel": "walk_in", "consent_treatment": "y",
        "consent_reminders": "y", "confirm_not_duplicate": "y"}
NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"


def _race(app, n, work):
    """Run work(i) for n desks at once (tests/races.py); returns the exceptions raised."""
    results, errors = race(app, n, work)
    return errors + [repr(r) for r in results if isinstance(r, Exception)]


def test_sixteen_desks_register_at_once_through_the_route(app, staff):
    clients = [sign_in(app.test_client(), staff["frontdesk"]) for _ in range(16)]
    statuses = {}

    def register(i):
        resp = clients[i].post("/patients/new", data={**FORM, "name": "并发" + NAMES[i],
                                                      "phone": f"1360000{i:04d}"})
        statuses[i] = resp.status_code

    errors = _race(app, 16, register)
    assert errors == []
    assert sorted(statuses.values()) == [303] * 16, statuses
    year = clinic_today().year
    numbers = sorted(p.chart_no for p in Patient.select(Patient.chart_no))
    assert numbers == [f"{year}{n:06d}" for n in range(1, 17)]


def test_sixteen_bills_opened_at_once_get_distinct_receipts(app, staff, make_patient):
    patients = [make_patient(name="票" + NAMES[i], phone=f"1350000{i:04d}") for i in range(16)]
    config, today = dict(app.config), clinic_today()

    def open_one(i):
        with app.test_request_context():
            billing.open_bill(patients[i], staff["frontdesk"], config, today)

    assert _race(app, 16, open_one) == []
    numbers = sorted(b.receipt_no for b in Bill.select(Bill.receipt_no))
    assert numbers == [f"R{today.year}{n:06d}" for n in range(1, 17)]


def test_receipt_numbers_start_again_each_year(app, staff, make_patient):
    p = make_patient(name="跨年")
    with app.test_request_context():
        for _ in range(3):
            billing.open_bill(p, staff["frontdesk"], dict(app.config), date(2026, 12, 31))
        bill = billing.open_bill(p, staff["frontdesk"], dict(app.config), date(2027, 1, 1))
    assert bill.receipt_no == "R2027000001"


def test_chart_numbers_start_again_each_year(app, staff):
    from portal.services.patients import PatientData, register
    with app.test_request_context():
        first = register(PatientData(name="年末", sex="M", birth_date=date(1980, 1, 1), phone="13911110000"),
                         staff["frontdesk"], date(2026, 12, 31))
        second = register(PatientData(name="年初", sex="M", birth_date=date(1980, 1, 1), phone="13911110001"),
                          staff["frontdesk"], date(2027, 1, 1))
    assert (first.chart_no, second.chart_no) == ("2026000001", "2027000001")


def test_migration_seeds_the_counter_from_the_numbers_already_issued(app, staff, make_patient):
    """A clinic upgraded with 41 charts and 7 receipts this year carries on at 42 and 8."""
    from portal.migrations import dialect, DIALECTS
    from portal.migrations.m0012_counters import SEED
    year = clinic_today().year
    p = make_patient(name="老病人")
    with unit_of_work():
        Patient.update(chart_no=f"{year}000041").where(Patient.id == p.id).execute()
        Patient.update(chart_no=f"{year - 1}000250").where(Patient.id == make_patient(name="去年").id).execute()
        Patient.update(chart_no="IMPORT-17").where(Patient.id == make_patient(name="导入").id).execute()
        Bill.create(code="OLDBILL1", receipt_no=f"R{year}000007", patient=p, created_by=staff["frontdesk"])
        db.execute_sql("DELETE FROM counter")
        for sql in SEED:
            if sql[0] in (None, dialect()):
                db.execute_sql(sql[1].format(**DIALECTS[dialect()]))
    assert make_patient(name="新病人").chart_no == f"{year}000042"
    with app.test_request_context():
        assert billing.open_bill(p, staff["frontdesk"], dict(app.config), clinic_today()).receipt_no \
            == f"R{year}000008"
    with unit_of_work():
        assert counters.next_value("chart", year - 1) == 251


def test_counter_refuses_an_unknown_name(app):
    with pytest.raises(ValueError), unit_of_work():
        counters.next_value("nonsense", 2026)
