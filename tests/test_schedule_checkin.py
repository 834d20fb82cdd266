"""The check-in board's front-desk flow (issue 13): each row shows the visit type and the
patient's alerts, and offers arrival/seating/completion, no-show and cancel (with a reason);
an action swaps its own row in place for htmx, answers 409 naming who when the row moved on,
and the board's statements do not grow with its rows."""
import re
from datetime import datetime, time

from portal.models import Appointment, AppointmentEvent, PatientTag, Tag
from portal.services import schedule as booking
from tests.conftest import sign_in
from tests.races import race
from tests.schedule_fixtures import clinic  # noqa: F401
from tests.statements import statements_of


def _book(app, staff, clinic, patient, hour, minute=0, doctor=0, chair=0, visit_type="revisit", minutes=30):
    with app.test_request_context():
        return booking.book(staff["frontdesk"], patient, clinic["doctors"][doctor], clinic["chairs"][chair],
                            datetime.combine(clinic["day"], time(hour, minute)), minutes, visit_type, app.config)


def _on_the_day(clock, clinic, hhmm="08:30"):
    clock.set(f"{clinic['day'].isoformat()} {hhmm}")


def _board(client, clinic):
    return client.get(f"/checkin?date={clinic['day'].isoformat()}").get_data(as_text=True)


def _row(page, code):
    m = re.search(rf'<tr id="row-{code}".*?</tr>', page, re.S)
    assert m, code
    return m.group(0)


def _post(client, code, to, seen, htmx=True, **extra):
    headers = {"HX-Request": "true", "HX-Target": f"row-{code}"} if htmx else {}
    return client.post(f"/checkin/{code}/status", data={"to": to, "seen": seen, **extra}, headers=headers)


def test_rows_show_visit_type_and_alerts(app, as_role, staff, clinic, make_patient, clock):
    p = make_patient(name="过敏者", allergies="青霉素")
    PatientTag.create(patient=p, tag=Tag.create(name="孕期", clinical_alert=True))
    appt = _book(app, staff, clinic, p, 10, visit_type="first", minutes=60)
    _on_the_day(clock, clinic)
    row = _row(_board(as_role("frontdesk"), clinic), appt.code)
    assert "First visit" in row and 'title="Allergies: 青霉素"' in row and "孕期" in row
    assert "Check in" in row and "No-show" in row and 'name="reason"' in row
    nurse_row = _row(_board(as_role("nurse"), clinic), appt.code)  # a nurse checks in but neither cancels nor no-shows
    assert "Check in" in nurse_row and "No-show" not in nurse_row and 'name="reason"' not in nurse_row
    assert "青霉素" in nurse_row


def test_no_show_swaps_its_row_in_place(app, as_role, staff, clinic, make_patient, clock):
    a = _book(app, staff, clinic, make_patient(name="甲"), 9)
    b = _book(app, staff, clinic, make_patient(name="乙"), 10)
    _on_the_day(clock, clinic, "09:40")
    desk = as_role("frontdesk")
    resp = _post(desk, a.code, "no_show", "booked")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<nav" not in body
    assert f'id="row-{a.code}"' in body and f'id="row-{b.code}"' not in body  # the row alone
    assert "No-show" in _row(body, a.code) and "Check in" not in _row(body, a.code)
    assert Appointment.get_by_id(a.id).status == "no_show"
    assert Appointment.get_by_id(b.id).status == "booked"


def test_cancel_asks_for_a_reason(app, as_role, staff, clinic, make_patient, clock):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 11)
    _on_the_day(clock, clinic, "09:00")
    desk = as_role("frontdesk")
    refused = _post(desk, appt.code, "cancelled", "booked", reason="  ")
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#notice"
    assert "Say why" in refused.get_data(as_text=True) and refused.headers["HX-Reselect"] == ".flash"
    done = _post(desk, appt.code, "cancelled", "booked", reason="patient has a fever")
    assert done.status_code == 200 and "Cancelled" in _row(done.get_data(as_text=True), appt.code)
    saved = Appointment.get_by_id(appt.id)
    assert saved.status == "cancelled" and saved.cancel_reason == "patient has a fever"


def test_a_moved_on_row_answers_409_naming_who(app, as_role, staff, clinic, make_patient, clock):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 9)
    _on_the_day(clock, clinic)
    assert _post(as_role("nurse"), appt.code, "arrived", "booked").status_code == 200
    late = _post(as_role("frontdesk"), appt.code, "no_show", "booked")  # the page showed it still booked
    assert late.status_code == 409 and "already marked arrived by Demo nurse" in late.get_data(as_text=True)
    plain = _post(as_role("frontdesk"), appt.code, "no_show", "booked", htmx=False)
    assert plain.status_code == 409
    assert Appointment.get_by_id(appt.id).status == "arrived"


def test_plain_browser_goes_back_to_the_board(app, as_role, staff, clinic, make_patient, clock):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 9)
    _on_the_day(clock, clinic)
    resp = _post(as_role("frontdesk"), appt.code, "arrived", "booked", htmx=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/checkin?date={clinic['day'].isoformat()}")


def test_a_nurse_may_not_cancel_or_no_show(app, as_role, staff, clinic, make_patient, clock):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 9)
    _on_the_day(clock, clinic)
    assert _post(as_role("nurse"), appt.code, "no_show", "booked").status_code == 403
    assert _post(as_role("nurse"), appt.code, "cancelled", "booked", reason="x").status_code == 403
    assert _post(as_role("consultant"), appt.code, "arrived", "booked").status_code == 403
    assert Appointment.get_by_id(appt.id).status == "booked"


def test_other_days_offer_only_cancel_before_the_visit(app, as_role, staff, clinic, make_patient):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 9)  # the clinic day is ahead
    row = _row(_board(as_role("frontdesk"), clinic), appt.code)
    assert "Check in" not in row and "No-show" not in row and 'name="reason"' in row


def test_board_statements_do_not_grow_with_rows(app, as_role, staff, clinic, make_patient, clock):
    _book(app, staff, clinic, make_patient(name="一", allergies="乳胶"), 9)
    _on_the_day(clock, clinic)
    desk = as_role("frontdesk")
    url = f"/checkin?date={clinic['day'].isoformat()}"
    few = statements_of(desk, url)
    tag = Tag.create(name="牙齿敏感", clinical_alert=True)
    for i, name in enumerate("二三四五六七"):
        p = make_patient(name=name, allergies="青霉素")
        PatientTag.create(patient=p, tag=tag)
        _book(app, staff, clinic, p, 9 + i // 2, 30 * (i % 2) if i else 30, doctor=i % 2, chair=i % 2)
    assert Appointment.select().count() == 7
    assert statements_of(desk, url) == few


def test_sixteen_desks_mark_one_no_show(app, staff, clinic, make_patient, clock, password_hash):
    appt = _book(app, staff, clinic, make_patient(name="甲"), 9)
    _on_the_day(clock, clinic, "09:40")
    from portal.models import Staff
    desks = [Staff.create(username=f"desk{i}", display_name=f"Desk {i}", role="frontdesk",
                          password_hash=password_hash) for i in range(16)]

    def prepare(i):
        return sign_in(app.test_client(), desks[i])

    def work(i, client):
        return _post(client, appt.code, "no_show", "booked").status_code

    results, errors = race(app, 16, work, prepare=prepare)
    assert errors == []
    assert sorted(results).count(200) == 1 and sorted(results).count(409) == 15, results
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt.id,
                                           AppointmentEvent.to_status == "no_show").count() == 1
    assert Appointment.get_by_id(appt.id).status == "no_show"
