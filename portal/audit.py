"""Append-only, hash-chained audit trail of who did what to which patient's data.

Each row's hash covers its own fields and the previous row's hash, so a row edited or
removed outside the app breaks the chain; `portal check` walks it. Appends are serialised
(SQLite's write lock, a PostgreSQL advisory lock) so the chain never forks.
"""
import functools
import hashlib
import json

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l

from portal.db import db, is_postgres, unit_of_work
from portal.models import AuditEvent, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 7_427_001  # any constant shared by every writer of the chain

ACTION_LABELS = {
    "read": _l("Read"), "create": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted"),
    "print": _l("Printed"), "export": _l("Exported"), "login": _l("Signed in"), "logout": _l("Signed out"),
    "login_failed": _l("Failed sign-in"), "denied": _l("Refused"), "merge": _l("Merged"),
}
ACTIONS = tuple(ACTION_LABELS)


def _digest(prev_hash: str, e: AuditEvent) -> str:
    payload = "|".join(str(v if v is not None else "") for v in (
        prev_hash, e.at.isoformat(timespec="microseconds"), e.actor_id, e.actor_label, e.role,
        e.action, e.patient_id, e.object_type, e.object_ref, e.detail, e.ip))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _current_actor():
    if not has_request_context():
        return None
    from flask_login import current_user
    return current_user if getattr(current_user, "is_authenticated", False) else None


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(action: str, *, patient=None, object_type: str | None = None, object_ref=None,
           detail: dict | str | None = None, actor=None, actor_label: str | None = None) -> AuditEvent:
    """Append one event. Joins the caller's transaction, so a rolled-back change leaves no trace
    claiming it happened."""
    assert action in ACTIONS, action
    actor = actor or _current_actor()
    if isinstance(detail, dict):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    event = AuditEvent(
        at=utcnow(), actor_id=actor.id if actor else None,
        actor_label=(actor_label or (actor.username if actor else "anonymous"))[:60],
        role=actor.role if actor else None, action=action,
        patient_id=getattr(patient, "id", patient), object_type=object_type,
        object_ref=str(object_ref)[:40] if object_ref is not None else None,
        detail=detail or "", ip=client_ip())
    with unit_of_work():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
        last = db.execute_sql(_LAST_HASH).fetchone()
        event.prev_hash = last[0] if last else GENESIS
        event.hash = _digest(event.prev_hash, event)
        fields = AuditEvent._meta.fields
        values = [fields[name].db_value(getattr(event, name)) for name in _INSERTED]
        event.id = db.execute_sql(_insert_sql(db.param), values).fetchone()[0]
    return event


# Every page that shows patient data appends one row, so these two statements are written out
# once instead of being rebuilt by the query builder on each request (a third of the cost).
_LAST_HASH = "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
_INSERTED = ("at", "actor_id", "actor_label", "role", "action", "patient_id", "object_type",
             "object_ref", "detail", "ip", "prev_hash", "hash")


@functools.cache
def _insert_sql(param: str) -> str:
    marks = ", ".join([param] * len(_INSERTED))
    return f"INSERT INTO audit_event ({', '.join(_INSERTED)}) VALUES ({marks}) RETURNING id"


def verify_chain(batch: int = 5000) -> tuple[bool, int, int | None]:
    """(intact, rows checked, id of the first broken row)."""
    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = list(AuditEvent.select().where(AuditEvent.id > last_id)
                    .order_by(AuditEvent.id).limit(batch))
        if not rows:
            return True, checked, None
        for e in rows:
            if e.prev_hash != prev or _digest(prev, e) != e.hash:
                return False, checked, e.id
            prev, last_id, checked = e.hash, e.id, checked + 1
