"""The scheduling screens through HTTP, as the front desk, a nurse and a doctor use them."""
import re
from datetime import timedelta

from icalendar import Calendar

from portal.models import Appointment, AuditEvent, CalendarFeed
from tests.schedule_fixtures import clinic  # noqa: F401


def _form(clinic, patient, hour=10, minute=0, minutes=30, doctor=0, chair=0, visit_type="revisit"):
    return {"patient": patient.chart_no, "doctor": clinic["doctors"][doctor].id, "chair": clinic["chairs"][chair].id,
            "day": clinic["day"].isoformat(), "time": f"{hour:02d}:{minute:02d}", "minutes": minutes,
            "visit_type": visit_type, "source": "phone", "planned": "", "notes": ""}


def test_front_desk_books_and_sees_it_on_the_day_grid(as_role, clinic, make_patient):
    p = make_patient(name="张小明")
    desk = as_role("frontdesk")
    resp = desk.post("/appointments/new", data=_form(clinic, p, visit_type="first", minutes=60))
    assert resp.status_code == 303
    appt = Appointment.get()
    page = desk.get(f"/schedule?date={clinic['day'].isoformat()}").get_data(as_text=True)
    assert "张小明" in page and appt.code in page
    fragment = desk.get(f"/schedule?date={clinic['day'].isoformat()}&by=doctor",
                        headers={"HX-Request": "true", "HX-Target": "day-grid"})
    assert "张小明" in fragment.get_data(as_text=True) and "<nav" not in fragment.get_data(as_text=True)


def test_conflict_shows_message_and_free_times(as_role, clinic, make_patient):
    desk = as_role("frontdesk")
    desk.post("/appointments/new", data=_form(clinic, make_patient(name="甲")))
    resp = desk.post("/appointments/new", data=_form(clinic, make_patient(name="乙")))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "already booked" in page and "Nearest free times" in page
    assert re.search(r'href="/appointments/new\?start=', page)
    assert Appointment.select().count() == 1


def test_bad_booking_input_is_refused_clearly(as_role, clinic, make_patient):
    p = make_patient()
    desk = as_role("frontdesk")
    for overrides, message in [({"patient": "nobody"}, "No patient matches “nobody”"),
                               ({"day": "2026-02-30"}, "Not a valid date"),
                               ({"time": "25:00"}, "Not a valid time"),
                               ({"minutes": "0"}, "Number must be between"),
                               ({"visit_type": "first"}, "at least 60 minutes"),
                               ({"notes": "<script>x</script>"}, "HTML markup"),
                               ({"time": "12:30"}, "not working")]:
        resp = desk.post("/appointments/new", data={**_form(clinic, p), **overrides})
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), overrides
    assert Appointment.select().count() == 0


def test_check_in_seat_complete_from_the_board(as_role, clinic, make_patient, clock):
    as_role("frontdesk").post("/appointments/new", data=_form(clinic, make_patient()))
    appt = Appointment.get()
    clock.set(f"{clinic['day'].isoformat()} 08:30")  # status changes happen on the appointment's day
    desk, nurse = as_role("frontdesk"), as_role("nurse")
    for status in ("arrived", "seated", "completed"):
        assert nurse.post(f"/appointments/{appt.code}/status", data={"to": status, "back": "checkin"}).status_code == 303
    assert Appointment.get_by_id(appt.id).status == "completed"
    assert nurse.post(f"/appointments/{appt.code}/status", data={"to": "cancelled", "reason": "x"}).status_code == 403
    board = desk.get(f"/checkin?date={clinic['day'].isoformat()}").get_data(as_text=True)
    assert "Completed" in board


def test_the_board_offers_check_in_only_on_the_day(as_role, clinic, make_patient, clock):
    as_role("frontdesk").post("/appointments/new", data=_form(clinic, make_patient()))
    url = f"/checkin?date={clinic['day'].isoformat()}"
    ahead = as_role("frontdesk").get(url).get_data(as_text=True)
    assert "Booked" in ahead
    assert 'value="arrived"' not in ahead  # days ahead: the row is shown, without a button that would be refused
    clock.set(f"{clinic['day'].isoformat()} 08:30")
    assert 'value="arrived"' in as_role("frontdesk").get(url).get_data(as_text=True)


def test_move_form(as_role, clinic, make_patient):
    desk = as_role("frontdesk")
    desk.post("/appointments/new", data=_form(clinic, make_patient()))
    appt = Appointment.get()
    resp = desk.post(f"/appointments/{appt.code}/move", data={
        "doctor": clinic["doctors"][1].id, "chair": clinic["chairs"][1].id, "day": clinic["day"].isoformat(),
        "time": "15:00", "minutes": 45, "reason": "asked"})
    assert resp.status_code == 303
    new = Appointment.get(Appointment.status == "booked")
    assert new.doctor_id == clinic["doctors"][1].id and new.end_at - new.start_at == timedelta(minutes=45)


def test_doctor_sees_own_day_and_reading_is_audited(as_role, staff, clinic, make_patient):
    desk = as_role("frontdesk")
    desk.post("/appointments/new", data=_form(clinic, make_patient(name="王五")))
    desk.post("/appointments/new", data=_form(clinic, make_patient(name="赵六"), doctor=1, chair=1))
    page = as_role("doctor").get(f"/schedule/mine?date={clinic['day'].isoformat()}").get_data(as_text=True)
    assert "王五" in page and "赵六" not in page
    assert AuditEvent.select().where(AuditEvent.actor_id == staff["doctor"].id, AuditEvent.object_type == "schedule").exists()


def test_free_slot_search_page(as_role, clinic):
    page = as_role("frontdesk").get("/schedule/free", query_string={
        "doctor": clinic["doctors"][0].id, "minutes": 60, "start": clinic["day"].isoformat(),
        "preference": "afternoon"}, headers={"HX-Request": "true", "HX-Target": "slots"}).get_data(as_text=True)
    assert "13:30" in page and "09:00" not in page


def test_calendar_feed_parses_and_shows_initials_only(app, as_role, staff, clinic, make_patient):
    as_role("frontdesk").post("/appointments/new", data=_form(clinic, make_patient(name="张小明")))
    doctor = as_role("doctor")
    page = doctor.post("/schedule/calendar", data={"action": "create"}).get_data(as_text=True)
    url = re.search(r"<code>(http[^<]+)</code>", page).group(1)
    path = url.split("localhost", 1)[1]
    anonymous = app.test_client()
    resp = anonymous.get(path)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(resp.data)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1 and "Z.X.M." in str(events[0]["SUMMARY"]) and "张" not in resp.get_data(as_text=True)
    doctor.post("/schedule/calendar", data={"action": "revoke"})
    assert anonymous.get(path).status_code == 404
    assert CalendarFeed.select().where(CalendarFeed.revoked_at.is_null()).count() == 0


def test_previous_and_next_day_swap_the_heading_with_the_grid(as_role, clinic):
    desk = as_role("frontdesk")
    day = clinic["day"]
    page = desk.get(f"/schedule?date={day.isoformat()}").get_data(as_text=True)
    nxt = (day + timedelta(days=1)).isoformat()
    assert f'hx-get="/schedule?date={nxt}&amp;by=chair" hx-target="#day-page"' in page
    fragment = desk.get(f"/schedule?date={nxt}", headers={"HX-Request": "true", "HX-Target": "day-page"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="day-grid"' in body
    assert f'value="{nxt}"' in body  # the date box moves with the grid
