"""The booking form with no time asked for proposes the next free slot of the chosen (or first)
doctor from now, on the slot grid: never a past time (issue 13)."""
from datetime import datetime, time, timedelta

from portal.services import schedule as booking
from tests.schedule_fixtures import clinic  # noqa: F401


def _proposed(client, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    page = client.get("/appointments/new" + (f"?{query}" if query else "")).get_data(as_text=True)
    import re
    day = re.search(r'name="day"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="day"', page)
    at = re.search(r'name="time"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="time"', page)
    return (day.group(1) or day.group(2)) if day else None, (at.group(1) or at.group(2)) if at else None


def _book(app, staff, clinic, make_patient, hour, minute=0, doctor=0, minutes=30):
    with app.test_request_context():
        booking.book(staff["frontdesk"], make_patient(), clinic["doctors"][doctor], clinic["chairs"][0],
                     datetime.combine(clinic["day"], time(hour, minute)), minutes, "revisit", app.config)


def test_next_slot_from_now_on_the_grid(as_role, clinic, clock):
    clock.set(f"{clinic['day'].isoformat()} 10:07")
    assert _proposed(as_role("frontdesk")) == (clinic["day"].isoformat(), "10:15")


def test_skips_a_booked_slot_and_the_lunch_break(app, as_role, staff, clinic, make_patient, clock):
    doctors = sorted(clinic["doctors"], key=lambda d: d.display_name)
    first = clinic["doctors"].index(doctors[0])  # the form's first doctor
    _book(app, staff, clinic, make_patient, 10, 15, doctor=first)
    clock.set(f"{clinic['day'].isoformat()} 10:07")
    assert _proposed(as_role("frontdesk")) == (clinic["day"].isoformat(), "10:45")
    clock.set(f"{clinic['day'].isoformat()} 12:10")
    assert _proposed(as_role("frontdesk")) == (clinic["day"].isoformat(), "13:30")


def test_after_hours_it_is_tomorrow_morning(as_role, clinic, clock):
    clock.set(f"{clinic['day'].isoformat()} 19:00")
    assert _proposed(as_role("frontdesk")) == ((clinic["day"] + timedelta(days=1)).isoformat(), "09:00")


def test_the_chosen_doctor_counts(app, as_role, staff, clinic, make_patient, clock):
    _book(app, staff, clinic, make_patient, 10, 15, doctor=1, minutes=60)
    clock.set(f"{clinic['day'].isoformat()} 10:07")
    assert _proposed(as_role("frontdesk"), doctor=clinic["doctors"][1].id) == (clinic["day"].isoformat(), "11:15")


def test_a_start_asked_for_is_kept(as_role, clinic, clock):
    clock.set(f"{clinic['day'].isoformat()} 10:07")
    assert _proposed(as_role("frontdesk"), start=f"{clinic['day'].isoformat()}T16:00") == \
        (clinic["day"].isoformat(), "16:00")


def _selected_doctor(client, **args):
    import re
    query = "&".join(f"{k}={v}" for k, v in args.items())
    page = client.get(f"/appointments/new?{query}").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="doctor".*?</select>', page, re.S).group(0)
    chosen = re.search(r'<option[^>]*selected[^>]*value="(\d+)"|<option[^>]*value="(\d+)"[^>]*selected', select)
    return int(chosen.group(1) or chosen.group(2)) if chosen else None


def test_a_free_cell_of_the_grid_by_chair_proposes_the_doctor_on_shift_and_free(
        app, as_role, staff, clinic, make_patient, clock):
    """The grid drawn by chair carries chair and start but no doctor: the form proposes a doctor
    working then who has no visit then (not simply the first in the list, who may be off)."""
    doctors = sorted(clinic["doctors"], key=lambda d: d.display_name)
    desk = as_role("frontdesk")
    start = f"{clinic['day'].isoformat()}T10:00"
    chair = clinic["chairs"][0].id
    assert _selected_doctor(desk, chair=chair, start=start, minutes=30) == doctors[0].id
    _book(app, staff, clinic, make_patient, 10, 0, doctor=clinic["doctors"].index(doctors[0]))
    assert _selected_doctor(desk, chair=chair, start=start, minutes=30) == doctors[1].id
    # Nobody works at 12:30 (lunch): no doctor is proposed rather than one who is off.
    assert _selected_doctor(desk, chair=chair, start=f"{clinic['day'].isoformat()}T12:30", minutes=30) is None
