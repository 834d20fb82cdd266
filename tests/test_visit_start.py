"""Starting a visit from an appointment (issue 13): once per appointment, whatever the clicks;
only a doctor, only on the day, only for a patient who is in; yesterday's drafts never chosen
silently."""
from datetime import datetime, time, timedelta

import pytest

from portal.models import Appointment, AppointmentEvent, Chair, Visit, new_code
from portal.services import Conflict, ServiceError
from portal.services import chart_visits as visits
from portal.services.clock import to_utc
from tests.clock import clinic_today
from tests.races import race
from tests.statements import StatementCounter


@pytest.fixture()
def patient(make_patient):
    from datetime import date
    return make_patient(name="孙三", birth_date=date(1975, 7, 7))


@pytest.fixture()
def chair(app):
    return Chair.create(code=new_code(6), name="Chair 1")


@pytest.fixture()
def appointment(app, staff, patient, chair):
    """make(status, days=0, hour=10): an appointment of the patient with the doctor."""
    def make(status="arrived", days=0, hour=10, who=None):
        start = datetime.combine(clinic_today() + timedelta(days=days), time(hour))
        tz = app.config["PORTAL_TZ"]
        return Appointment.create(code=new_code(), patient=who or patient, doctor=staff["doctor"], chair=chair,
                                  start_at=to_utc(start, tz), end_at=to_utc(start + timedelta(minutes=30), tz),
                                  visit_type="revisit", status=status)
    return make


def test_start_makes_one_visit_and_seats_an_arrived_patient_once(app, staff, appointment):
    appt = appointment("arrived")
    visit, created = visits.start_from_appointment(appt, staff["doctor"], app.config)
    assert created and visit.appointment_id == appt.id and visit.doctor_id == staff["doctor"].id
    assert visit.visit_date == clinic_today() and visit.patient_id == appt.patient_id
    assert Appointment.get_by_id(appt.id).status == "seated"
    again, created = visits.start_from_appointment(Appointment.get_by_id(appt.id), staff["doctor"], app.config)
    assert again.id == visit.id and not created
    assert Visit.select().count() == 1
    assert AppointmentEvent.select().where(AppointmentEvent.change == "seated").count() == 1


def test_start_on_a_seated_patient_changes_no_status(app, staff, appointment):
    appt = appointment("seated")
    visits.start_from_appointment(appt, staff["doctor"], app.config)
    assert AppointmentEvent.select().count() == 0 and Appointment.get_by_id(appt.id).status == "seated"


@pytest.mark.parametrize("status, conflict", [("booked", False), ("completed", True), ("cancelled", True),
                                              ("no_show", True)])
def test_start_needs_a_patient_who_is_in(app, staff, appointment, status, conflict):
    appt = appointment(status)
    with pytest.raises(ServiceError) as err:
        visits.start_from_appointment(appt, staff["doctor"], app.config)
    assert isinstance(err.value, Conflict) == conflict
    assert Visit.select().count() == 0


@pytest.mark.parametrize("days", [-1, 1])
def test_start_only_on_the_day(app, staff, appointment, days):
    appt = appointment("arrived", days=days)
    with pytest.raises(ServiceError) as err:
        visits.start_from_appointment(appt, staff["doctor"], app.config)
    assert "on the day" in str(err.value.message)
    assert Visit.select().count() == 0 and Appointment.get_by_id(appt.id).status == "arrived"


@pytest.mark.parametrize("role", ["nurse", "frontdesk", "consultant", "manager"])
def test_only_a_doctor_starts_a_visit(app, staff, appointment, role):
    appt = appointment("arrived")
    with pytest.raises(ServiceError):
        visits.start_from_appointment(appt, staff[role], app.config)
    assert Visit.select().count() == 0 and Appointment.get_by_id(appt.id).status == "arrived"


def test_sixteen_starts_at_once_make_one_visit(app, staff, appointment):
    appt = appointment("arrived")
    results, errors = race(app, 16, lambda i, a: visits.start_from_appointment(a, staff["doctor"], app.config),
                           prepare=lambda i: Appointment.get_by_id(appt.id))
    assert errors == []
    assert all(not isinstance(r, Exception) for r in results), results
    assert {v.id for v, _created in results} == {Visit.get().id}
    assert sum(created for _v, created in results) == 1
    assert Visit.select().count() == 1
    assert AppointmentEvent.select().where(AppointmentEvent.change == "seated").count() == 1


def test_the_database_holds_one_visit_per_appointment(app, staff, appointment, patient):
    from peewee import IntegrityError
    from portal.db import db
    appt = appointment("seated")
    visits.start_from_appointment(appt, staff["doctor"], app.config)
    with pytest.raises(IntegrityError):
        with db.atomic():
            Visit.create(code=new_code(), patient=patient, doctor=staff["doctor"], appointment=appt,
                         visit_date=clinic_today())
    visits.open_visit(patient, staff["doctor"], clinic_today())  # without an appointment: as many as needed
    visits.open_visit(patient, staff["doctor"], clinic_today())
    assert Visit.select().count() == 3


# The route -------------------------------------------------------------------------------------

def test_route_answers_303_to_the_same_visit(app, as_role, appointment):
    appt = appointment("arrived")
    doctor = as_role("doctor")
    first = doctor.post(f"/appointments/{appt.code}/visit")
    second = doctor.post(f"/appointments/{appt.code}/visit")
    visit = Visit.get()
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"].endswith(f"/visits/{visit.code}") and second.headers["Location"] == first.headers["Location"]


def test_sixteen_clicks_through_the_route_all_land_on_one_visit(app, staff, appointment):
    from tests.conftest import sign_in
    appt = appointment("arrived")
    clients = [sign_in(app.test_client(), staff["doctor"]) for _ in range(16)]
    results, errors = race(app, 16, lambda i: clients[i].post(f"/appointments/{appt.code}/visit"))
    assert errors == []
    assert {r.status_code for r in results} == {303}
    assert len({r.headers["Location"] for r in results}) == 1
    assert Visit.select().count() == 1


@pytest.mark.parametrize("role", ["nurse", "frontdesk", "consultant", "manager"])
def test_route_refuses_other_roles(app, as_role, appointment, role):
    appt = appointment("arrived")
    assert as_role(role).post(f"/appointments/{appt.code}/visit").status_code == 403
    assert Visit.select().count() == 0


def test_route_refusals_say_why(app, as_role, appointment):
    doctor = as_role("doctor")
    wrong_day = doctor.post(f"/appointments/{appointment('arrived', days=1).code}/visit")
    assert wrong_day.status_code == 422 and "on the day" in wrong_day.get_data(as_text=True)
    booked = doctor.post(f"/appointments/{appointment('booked', hour=11).code}/visit")
    assert booked.status_code == 422 and "arrival" in booked.get_data(as_text=True)
    assert doctor.post("/appointments/NOSUCHCODE/visit").status_code == 404


def test_pages_offer_start_then_open_without_n_plus_one(app, staff, as_role, appointment, make_patient):
    from datetime import date
    appt = appointment("arrived")
    doctor = as_role("doctor")
    for url in (f"/appointments/{appt.code}", "/schedule/mine", "/checkin", "/schedule"):
        page = doctor.get(url).get_data(as_text=True)
        assert f'action="/appointments/{appt.code}/visit"' in page and "Start visit" in page, url
    desk = as_role("frontdesk").get("/checkin").get_data(as_text=True)
    assert "Start visit" not in desk  # only who may start one sees the button
    visit, _ = visits.start_from_appointment(appt, staff["doctor"], app.config)
    for url in (f"/appointments/{appt.code}", "/schedule/mine", "/checkin", "/schedule"):
        page = doctor.get(url).get_data(as_text=True)
        assert f'href="/visits/{visit.code}"' in page and "Open visit" in page and "Start visit" not in page, url
    # Statements per page do not grow with the number of appointments listed.
    counts = {}
    for n in (1, 6):
        while Appointment.select().count() < n:
            other = make_patient(name="病人" + "甲乙丙丁戊己庚"[Appointment.select().count()], birth_date=date(1990, 1, 1))
            a = appointment("arrived", hour=10 + Appointment.select().count(), who=other)
            visits.start_from_appointment(a, staff["doctor"], app.config)
        for url in ("/schedule/mine", "/checkin"):
            with StatementCounter() as counter:
                assert doctor.get(url).status_code == 200
            counts[(url, n)] = counter.count
    for url in ("/schedule/mine", "/checkin"):
        assert counts[(url, 6)] == counts[(url, 1)], counts


# Drafts of earlier days ------------------------------------------------------------------------

def test_unsigned_drafts_lists_the_doctors_drafts_before_a_day_in_one_query(app, staff, patient):
    today = clinic_today()
    doc = staff["doctor"]
    old = visits.open_visit(patient, doc, today - timedelta(days=3))
    older = visits.open_visit(patient, doc, today - timedelta(days=9))
    visits.open_visit(patient, doc, today)  # today's: not a left-over
    signed = visits.open_visit(patient, doc, today - timedelta(days=2))
    visits.update_notes(signed, visits.VisitNotes(chief_complaint="x", diagnosis="y"), doc)
    visits.sign(signed, doc)
    with StatementCounter() as counter:
        drafts = visits.unsigned_drafts(doc, before=today)
        names = [v.patient.name for v in drafts]
    assert counter.count == 1
    assert [v.id for v in drafts] == [older.id, old.id] and names == ["孙三", "孙三"]


def test_chart_records_into_todays_visit_by_default_never_an_older_draft(app, staff, as_role, patient):
    doc = staff["doctor"]
    old = visits.open_visit(patient, doc, clinic_today() - timedelta(days=1))
    page = as_role("doctor").get(f"/patients/{patient.code}/chart?tooth=16").get_data(as_text=True)
    select = page[page.index('name="visit"'):]
    select = select[:select.index("</select>")]
    # No visit today: the first (default) option is "No visit"; yesterday's draft comes after it, marked.
    assert select.index('value=""') < select.index(f'value="{old.code}"')
    today = visits.open_visit(patient, doc, clinic_today())
    page = as_role("doctor").get(f"/patients/{patient.code}/chart?tooth=16").get_data(as_text=True)
    select = page[page.index('name="visit"'):]
    select = select[:select.index("</select>")]
    assert select.index(f'value="{today.code}"') < select.index('value=""') < select.index(f'value="{old.code}"')


def test_visit_list_warns_of_the_doctors_unsigned_drafts(app, staff, as_role, patient):
    old = visits.open_visit(patient, staff["doctor"], clinic_today() - timedelta(days=2))
    page = as_role("doctor").get(f"/patients/{patient.code}/visits").get_data(as_text=True)
    assert "Unsigned visits from earlier days" in page and f'/visits/{old.code}' in page
    nurse = as_role("nurse").get(f"/patients/{patient.code}/visits").get_data(as_text=True)
    assert "Unsigned visits from earlier days" not in nurse
