"""Staff administration by the manager: add, disable, re-role, reset passwords."""
import re
import secrets

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.access import ROLES
from portal.db import unit_of_work
from portal.models import Staff, utcnow
from portal.services import ServiceError
from portal.services.auth import check_password_strength, end_sessions, hash_password

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ServiceError(_l("Unknown role."), field="role")


def create_staff(username: str, display_name: str, role: str, password: str,
                 must_change_password: bool = True) -> Staff:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ServiceError(_l("User names are 3–40 lower-case letters, digits, dots, dashes or "
                              "underscores, starting with a letter."), field="username")
    _check_role(role)
    check_password_strength(password, username)
    display_name = (display_name or "").strip()
    if not display_name:
        raise ServiceError(_l("Enter the name shown to colleagues."), field="display_name")
    if Staff.select().where(Staff.username == username).exists():
        raise ServiceError(_l("This user name is taken."), field="username")
    password_hash = hash_password(password)  # slow on purpose: computed before the write lock
    with unit_of_work():
        staff = Staff.create(username=username, display_name=display_name[:60], role=role,
                             password_hash=password_hash,
                             must_change_password=must_change_password)
        audit.record("create", object_type="staff", object_ref=username, detail={"role": role})
    return staff


def set_role(staff: Staff, role: str, by: Staff) -> None:
    _check_role(role)
    if staff.id == by.id and role != "manager":
        raise ServiceError(_l("You cannot remove your own manager role."), field="role")
    with unit_of_work():
        old, staff.role = staff.role, role
        staff.save()
        end_sessions(staff, "role_changed")  # permissions change: sign in again
        audit.record("update", object_type="staff", object_ref=staff.username,
                     detail={"role": [old, role]})


def set_active(staff: Staff, active: bool, by: Staff) -> None:
    if staff.id == by.id and not active:
        raise ServiceError(_l("You cannot disable your own account."))
    with unit_of_work():
        staff.active = active
        staff.save()
        if not active:
            end_sessions(staff, "disabled")
        audit.record("update", object_type="staff", object_ref=staff.username,
                     detail={"active": active})


def reset_password(staff: Staff) -> str:
    """A one-time password the person must change at their next login."""
    temporary = "-".join(secrets.token_urlsafe(4) for _ in range(3))
    password_hash = hash_password(temporary)  # slow on purpose: computed before the write lock
    with unit_of_work():
        staff.password_hash = password_hash
        staff.must_change_password = True
        staff.password_changed_at = utcnow()
        staff.save()
        end_sessions(staff, "password_reset")
        audit.record("update", object_type="staff", object_ref=staff.username,
                     detail={"field": "password", "reset": True})
    return temporary


def set_locale(staff: Staff, locale: str, languages) -> None:
    if locale not in languages:
        raise ServiceError(_l("Unknown language."))
    staff.locale = locale
    staff.save()
