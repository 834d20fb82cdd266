"""Re-reading what a change decides on, inside its unit of work, and saying who moved it on.

A state change decides on the row as it is inside its transaction, never on one loaded before:
on PostgreSQL the re-read locks the row (SELECT … FOR UPDATE) until the change commits; on SQLite
unit_of_work already holds the write lock from BEGIN IMMEDIATE, so a plain re-read is current."""
from portal.db import is_postgres

DEFAULT_TZ = "Asia/Shanghai"


def locked(model, pk):
    """The row as it is now (None if gone), locked until the caller's unit of work ends."""
    query = model.select().where(model._meta.primary_key == pk)
    if is_postgres():
        query = query.for_update()
    return query.first()


def when_text(at, tz: str) -> str:
    """A refusal's time in the clinic: "10:42" today, "2026-06-09 10:42" on another day."""
    from portal.services.clock import local_now, to_local
    local = to_local(at, tz)
    return local.strftime("%H:%M") if local.date() == local_now(tz).date() else local.strftime("%Y-%m-%d %H:%M")


def who_when(staff_id, at, config=None) -> dict:
    """{"who": display name, "time": clinic time (when_text)} for a refusal's message."""
    from portal.models import Staff
    person = Staff.get_or_none(Staff.id == staff_id) if staff_id else None
    tz = (config or {}).get("PORTAL_TZ") or DEFAULT_TZ
    return {"who": person.display_name if person else "?", "time": when_text(at, tz) if at else "?"}
