"""Staff authentication: Argon2 hashes, throttled logins, server-side session records."""
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import LoginAttempt, Staff, StaffSession, utcnow
from portal.services import ServiceError

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(_l("The password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
                           field="password")
    if username and username.lower() in password.lower():
        raise ServiceError(_l("The password must not contain the user name."), field="password")


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def throttle_wait(username: str, ip: str, config) -> int:
    """Seconds to wait before another attempt is allowed; 0 if allowed now.

    Failures count within a sliding window, so a lock always lifts by itself when the window
    passes: an attacker can slow the real user down, never lock them out for good.
    """
    window = timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    since = utcnow() - window
    waits = []
    for field, value, limit in ((LoginAttempt.username, username.lower(), config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
                                (LoginAttempt.ip, ip, config["LOGIN_MAX_FAILURES_PER_ADDRESS"])):
        failures = list(LoginAttempt.select(LoginAttempt.at)
                        .where(field == value, LoginAttempt.success == False,  # noqa: E712
                               LoginAttempt.at > since)
                        .order_by(LoginAttempt.at.desc()).limit(limit))
        if len(failures) >= limit:
            oldest_counted = failures[-1].at
            waits.append(int((oldest_counted + window - utcnow()).total_seconds()) + 1)
    return max(waits, default=0)


def authenticate(username: str, password: str, ip: str, config) -> Staff:
    """Return the staff member or raise ServiceError; every attempt is recorded."""
    username = (username or "").strip().lower()
    wait = throttle_wait(username, ip, config)
    if wait > 0:
        minutes = max(1, (wait + 59) // 60)
        raise ServiceError(_l("Too many failed attempts. Try again in %(m)d minutes.", m=minutes))
    staff = Staff.get_or_none(Staff.username == username)
    ok = False
    try:
        ok = _hasher.verify(staff.password_hash if staff else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and staff is not None and staff.active
    with unit_of_work():
        LoginAttempt.create(username=username[:40], ip=ip or "", success=ok)
        if not ok:
            audit.record("login_failed", actor=staff, actor_label=username or "?",
                         object_type="staff", object_ref=username[:40])
    if not ok:
        raise ServiceError(_l("Wrong user name or password, or the account is disabled."))
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
        staff.save()
    return staff


def start_session(staff: Staff, ip: str | None, user_agent: str | None) -> str:
    """A new server-side session record; returns the key that goes into the cookie."""
    key = secrets.token_urlsafe(32)
    with unit_of_work():
        StaffSession.create(key_hash=_key_hash(key), staff=staff, ip=ip,
                            user_agent=(user_agent or "")[:200])
        audit.record("login", actor=staff, object_type="staff", object_ref=staff.username)
    staff.session_key = key
    return key


def resume_session(key: str, config) -> Staff | None:
    """Load the staff member behind a session key, enforcing idle and absolute timeouts."""
    if not key:
        return None
    staff = next(iter(Staff.raw(_RESUME.replace("?", Staff._meta.database.param), _key_hash(key))), None)
    if staff is None:
        return None
    now = utcnow()
    created_at = StaffSession.created_at.python_value(staff.session_created_at)
    last_seen_at = StaffSession.last_seen_at.python_value(staff.session_last_seen_at)
    if not staff.active:
        end_sessions(staff, "disabled")
        return None
    if (now - last_seen_at > timedelta(minutes=config["SESSION_IDLE_MINUTES"])
            or now - created_at > timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])):
        _end(StaffSession.id == staff.session_id, "timeout")
        return None
    if (now - last_seen_at).total_seconds() > 30:  # one small write a minute, not per request
        StaffSession.update(last_seen_at=now).where(StaffSession.id == staff.session_id).execute()
    staff.session_key = key
    return staff


# Runs on every signed-in request: written out once rather than rebuilt by the query builder.
_RESUME = ("SELECT staff.*, ss.id AS session_id, ss.created_at AS session_created_at, "
           "ss.last_seen_at AS session_last_seen_at FROM staff_session ss "
           "JOIN staff ON staff.id = ss.staff_id WHERE ss.key_hash = ? AND ss.ended_at IS NULL")


def _end(where, reason: str) -> int:
    return (StaffSession.update(ended_at=utcnow(), end_reason=reason)
            .where(where, StaffSession.ended_at.is_null()).execute())


def end_session(key: str, reason: str = "logout") -> None:
    _end(StaffSession.key_hash == _key_hash(key), reason)


def end_sessions(staff: Staff, reason: str, keep_key: str | None = None) -> int:
    where = StaffSession.staff == staff
    if keep_key:
        where &= StaffSession.key_hash != _key_hash(keep_key)
    return _end(where, reason)


def change_password(staff: Staff, current: str, new: str, keep_key: str | None = None) -> None:
    try:
        _hasher.verify(staff.password_hash, current or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise ServiceError(_l("The current password is not right."), field="current_password")
    if current == new:
        raise ServiceError(_l("Choose a password different from the current one."), field="password")
    check_password_strength(new, staff.username)
    new_hash = hash_password(new)  # hashing is slow on purpose: not while holding the write lock
    with unit_of_work():
        staff.password_hash = new_hash
        staff.password_changed_at = utcnow()
        staff.must_change_password = False
        staff.save()
        end_sessions(staff, "password_changed", keep_key=keep_key)
        audit.record("update", object_type="staff", object_ref=staff.username,
                     detail={"field": "password"})
