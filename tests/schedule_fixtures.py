"""A small clinic for scheduling tests: two chairs, two doctors working 09:00–12:00 and 13:30–18:00."""
from datetime import date, datetime, time, timedelta

import pytest

from portal.models import Chair, new_code
from portal.services import shifts
from tests.clock import clinic_today


def next_weekday(weekday: int, after: date | None = None) -> date:
    day = (after or clinic_today()) + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


@pytest.fixture()
def clinic(app, staff, password_hash):
    from portal.models import Staff
    app.config["QUIET_HOURS"] = ("00:00", "00:00")  # none: tests must not depend on the wall clock (see test_quiet_hours)
    doctor2 = Staff.create(username="doctor2", display_name="Second doctor", role="doctor", password_hash=password_hash)
    chairs = [Chair.create(code=new_code(6), name=f"Chair {i}", sort_order=i, is_vip=(i == 2)) for i in (1, 2)]
    start = clinic_today() - timedelta(days=7)
    for doctor in (staff["doctor"], doctor2):
        for weekday in range(7):
            shifts.add_pattern(doctor, weekday, time(9), time(12), start)
            shifts.add_pattern(doctor, weekday, time(13, 30), time(18), start)
    day = next_weekday(2)  # a Wednesday ahead
    return {"doctors": [staff["doctor"], doctor2], "chairs": chairs, "day": day,
            "at": lambda h, m=0: datetime.combine(day, time(h, m))}
