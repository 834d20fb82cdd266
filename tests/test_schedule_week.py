"""The week appointment book (issue 13): per doctor or per chair, compact blocks with alerts,
off-shift cells greyed, free time that books with doctor/chair/start filled in, kept like the
day grid until the schedule changes, and a constant number of statements."""
import re
from datetime import datetime, time, timedelta

from portal.models import Appointment, PatientTag, Tag
from portal.services import schedule as booking
from portal.services import shifts
from tests.schedule_fixtures import clinic  # noqa: F401
from tests.statements import StatementCounter, statements_of


def _book(app, staff, clinic, patient, hour, doctor=0, chair=0, day=None, minutes=30, visit_type="revisit"):
    day = day or clinic["day"]
    with app.test_request_context():
        return booking.book(staff["frontdesk"], patient, clinic["doctors"][doctor], clinic["chairs"][chair],
                            datetime.combine(day, time(hour)), minutes, visit_type, app.config)


def _url(clinic, **kw):
    args = "&".join(f"{k}={v}" for k, v in kw.items())
    return f"/schedule/week?date={clinic['day'].isoformat()}" + (f"&{args}" if args else "")


def test_the_week_shows_each_doctors_visits_with_type_and_alerts(app, as_role, staff, clinic, make_patient):
    p = make_patient(name="王过敏", allergies="青霉素")
    tag = Tag.create(name="抗凝药", clinical_alert=True)
    PatientTag.create(patient=p, tag=tag)
    appt = _book(app, staff, clinic, p, 10, visit_type="first", minutes=60)
    page = as_role("frontdesk").get(_url(clinic)).get_data(as_text=True)
    assert "王过敏" in page and appt.code in page and "First visit" in page
    assert 'title="Allergies: 青霉素"' in page and "抗凝药" in page
    assert "Second doctor" in page and "Demo doctor" in page
    monday = clinic["day"] - timedelta(days=clinic["day"].weekday())
    assert monday.isoformat() in page  # the week runs Monday to Sunday


def test_the_week_by_chair_and_one_doctor(app, as_role, staff, clinic, make_patient):
    _book(app, staff, clinic, make_patient(name="甲"), 10, doctor=0, chair=0)
    _book(app, staff, clinic, make_patient(name="乙"), 10, doctor=1, chair=1)
    desk = as_role("frontdesk")
    by_chair = desk.get(_url(clinic, by="chair")).get_data(as_text=True)
    assert "Chair 1" in by_chair and "Chair 2" in by_chair and "甲" in by_chair and "乙" in by_chair
    one = desk.get(_url(clinic, doctor=clinic["doctors"][1].id)).get_data(as_text=True)
    assert "乙" in one and "甲" not in one


def test_free_time_books_with_doctor_chair_and_start_filled(app, as_role, staff, clinic, make_patient):
    _book(app, staff, clinic, make_patient(name="甲"), 9)
    desk = as_role("frontdesk")
    page = desk.get(_url(clinic)).get_data(as_text=True)
    day = clinic["day"].isoformat()
    doctor = clinic["doctors"][0].id
    # the doctor is booked 09:00–09:30: the morning's free time starts at 09:30
    link = re.search(rf'href="(/appointments/new\?start={day}T09:30&amp;doctor={doctor})"', page)
    assert link, "a free gap after the visit books at its start"
    form = desk.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="09:30"' in form and f'value="{day}"' in form
    assert re.search(rf'<option selected value="{doctor}"|<option value="{doctor}" selected', form)
    # a nurse may not book: no free-time links
    assert "/appointments/new?start=" not in as_role("nurse").get(_url(clinic)).get_data(as_text=True)


def test_off_shift_cells_are_greyed(app, as_role, staff, clinic):
    shifts.add_exception("leave", clinic["day"], staff["manager"], doctor=clinic["doctors"][1])
    page = as_role("frontdesk").get(_url(clinic)).get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<tr><th scope="row" class="wb-res">([^<]+)</th>(.*?)</tr>', page, re.S)}
    weekday = clinic["day"].weekday()
    cells = lambda name: re.findall(r'<td class="(wb-on|wb-off)"', rows[name])  # noqa: E731
    assert cells("Second doctor")[weekday] == "wb-off" and cells("Demo doctor")[weekday] == "wb-on"


def test_previous_and_next_week_and_the_fragment(app, as_role, clinic):
    desk = as_role("frontdesk")
    monday = clinic["day"] - timedelta(days=clinic["day"].weekday())
    page = desk.get(_url(clinic)).get_data(as_text=True)
    assert f"date={(monday - timedelta(days=7)).isoformat()}" in page
    assert f"date={(monday + timedelta(days=7)).isoformat()}" in page
    frag = desk.get(_url(clinic), headers={"HX-Request": "true", "HX-Target": "week-book"}).get_data(as_text=True)
    assert "<nav" not in frag and "weekbook" in frag
    swap = desk.get(_url(clinic), headers={"HX-Request": "true", "HX-Target": "week-page"}).get_data(as_text=True)
    assert "<nav" not in swap and "Previous week" in swap


def test_a_restricted_patient_is_not_named_and_shows_no_alerts(app, as_role, staff, clinic, make_patient):
    p = make_patient(name="隐私者", allergies="乳胶")
    p.restricted = True
    p.save()
    _book(app, staff, clinic, p, 10)
    page = as_role("frontdesk").get(_url(clinic)).get_data(as_text=True)
    assert "隐私者" not in page and "乳胶" not in page and "Restricted" in page


def test_medical_text_is_not_shown_to_the_consultant(app, as_role, staff, clinic, make_patient):
    _book(app, staff, clinic, make_patient(name="过敏者", allergies="乳胶"), 10)
    assert "乳胶" in as_role("frontdesk").get(_url(clinic)).get_data(as_text=True)
    assert "乳胶" not in as_role("consultant").get(_url(clinic)).get_data(as_text=True)


def test_the_week_is_kept_until_a_booking_or_status_change(app, as_role, staff, clinic, make_patient, clock):
    desk = as_role("frontdesk")
    url = _url(clinic)
    hx = {"HX-Request": "true", "HX-Target": "week-book"}
    first = desk.get(url, headers=hx).get_data(as_text=True)
    with StatementCounter() as kept:
        assert desk.get(url, headers=hx).get_data(as_text=True) == first
    assert not any("FROM \"appointment\"" in sql for sql in kept.sql), "a kept week reads no appointments"
    appt = _book(app, staff, clinic, make_patient(name="新来的"), 11)
    assert "新来的" in desk.get(url).get_data(as_text=True)
    clock.set(f"{clinic['day'].isoformat()} 10:00")
    with app.test_request_context():
        booking.change_status(appt, "cancelled", staff["frontdesk"], app.config, "patient called")
    assert "新来的" not in desk.get(url).get_data(as_text=True)


def test_a_changed_allergy_reaches_the_kept_week(app, as_role, staff, clinic, make_patient):
    p = make_patient(name="后来过敏")
    _book(app, staff, clinic, p, 10)
    desk = as_role("frontdesk")
    assert "Allergies" not in desk.get(_url(clinic)).get_data(as_text=True)
    p.allergies = "碘伏"
    p.save()
    assert "碘伏" in desk.get(_url(clinic)).get_data(as_text=True)


def test_week_statements_do_not_grow_with_visits(app, as_role, staff, clinic, make_patient):
    desk = as_role("frontdesk")
    app.config["SCHEDULE_GRID_CACHE"] = 0  # every request draws the week
    app.extensions.pop("schedule_grids", None)
    _book(app, staff, clinic, make_patient(name="一", allergies="乳胶"), 9)
    few = statements_of(desk, _url(clinic))
    names = "二三四五六七八九十"
    for i, name in enumerate(names):
        p = make_patient(name=name, allergies="青霉素")
        PatientTag.create(patient=p, tag=Tag.get_or_none(Tag.name == "牙齿敏感") or Tag.create(name="牙齿敏感", clinical_alert=True))
        _book(app, staff, clinic, p, 9 + i % 3, doctor=i % 2, chair=i % 2,
              day=clinic["day"] + timedelta(days=(i // 3) - 1))
    many = statements_of(desk, _url(clinic))
    assert few == many, (few, many)
    assert statements_of(desk, _url(clinic, by="chair")) <= many + 1
    assert Appointment.select().count() == 10


def test_days_gone_by_offer_no_free_time(app, as_role, staff, clinic, clock):
    day = clinic["day"]  # a Wednesday ahead: on that Wednesday, Monday and Tuesday are past
    clock.set(f"{day.isoformat()} 08:00")
    page = as_role("frontdesk").get(_url(clinic)).get_data(as_text=True)
    for past in (day - timedelta(days=2), day - timedelta(days=1)):
        assert f"start={past.isoformat()}T" not in page
    assert f"start={day.isoformat()}T09:00" in page and f"start={(day + timedelta(days=1)).isoformat()}T09:00" in page
