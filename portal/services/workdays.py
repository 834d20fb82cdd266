"""Working days on the Chinese calendar: official holidays and make-up working days (调休).

`chinese_calendar` knows the State Council's schedule for the years it ships with; for a date
outside them (the next year's schedule is published each November) we fall back to Monday–Friday
and say so in the log, rather than refusing to compute a deadline.
"""
import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("portal.workdays")


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no official schedule for
        log.info("no official holiday schedule for %s; counting Monday to Friday", day.year)
        return day.weekday() < 5


def add_workdays(start: date, n: int) -> date:
    """The n-th working day after `start` (the day received does not count)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 if end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day)
    return count
