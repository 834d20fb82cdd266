"""Clinic-local time and UTC storage. Everything is stored as naive UTC; people see PORTAL_TZ."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")


def to_utc(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def to_local(utc: datetime, tz: str) -> datetime:
    return utc.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def day_bounds_utc(day: date, tz: str) -> tuple[datetime, datetime]:
    start = to_utc(datetime.combine(day, time.min), tz)
    return start, to_utc(datetime.combine(day + timedelta(days=1), time.min), tz)


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def local_now(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz)).replace(tzinfo=None)
