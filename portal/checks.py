"""`portal check`: is everything the portal needs present? Each failure comes with its fix."""
import ctypes
import ctypes.util
import shutil
import subprocess

import errno
import os

from portal.db import db

START_DATABASE = ("start PostgreSQL (systemctl start postgresql) or correct DATABASE_URL "
                  "(postgresql://user@host:5432/name or sqlite:////path/portal.db)")
RUN_INIT = "run `portal init`"


def _chain(exc):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _first_line(exc) -> str:
    text = " ".join(str(exc).split("\n")[0].split())
    return text or type(exc).__name__


def explain(exc) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) for a failure of the environment: a database that is down
    or not created, a folder the portal cannot write, a mistyped URL. None for anything else
    (a bug keeps its traceback)."""
    import peewee as pw
    for err in _chain(exc):
        text = str(err).lower()
        if isinstance(err, ValueError) and str(err).startswith(("DATABASE_URL", "HUEY_URL")):
            return _first_line(err), ("set it to postgresql://user@host:5432/name or sqlite:////path/portal.db"
                                      if str(err).startswith("DATABASE_URL") else
                                      "set it to postgresql://user@host:5432/name, redis://host:6379/0 "
                                      "or sqlite:////path/huey.db")
        if isinstance(err, (pw.OperationalError, pw.InterfaceError, pw.ProgrammingError)) or \
                type(err).__module__.split(".")[0] in ("psycopg2", "sqlite3"):
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                return "the database has no schema yet", RUN_INIT
            if "password authentication failed" in text or ("role" in text and "does not exist" in text):
                return f"PostgreSQL refused the login ({_first_line(err)})", \
                    "correct the user and password in DATABASE_URL"
            if "database" in text and "does not exist" in text:
                return f"cannot connect: {_first_line(err)}", \
                    "create it (createdb NAME) or correct the database name in DATABASE_URL"
            if any(s in text for s in ("unable to open database file", "readonly database", "read-only")):
                path = db.obj.database if isinstance(getattr(db, "obj", None), pw.SqliteDatabase) else "?"
                return f"cannot open the SQLite database {path} ({_first_line(err)})", \
                    f"make {os.path.dirname(str(path)) or '.'} writable by this user, or set PORTAL_INSTANCE " \
                    f"or DATABASE_URL to a writable folder"
            if any(s in text for s in ("connection refused", "could not connect", "could not translate host",
                                       "connection to server", "timeout expired", "no route to host",
                                       "server closed the connection", "name or service not known")):
                return f"cannot connect to the database: {_first_line(err)}", START_DATABASE
        if type(err).__module__.split(".")[0] == "redis" and "connection" in type(err).__name__.lower():
            return f"cannot reach Redis: {_first_line(err)}", "start Redis (systemctl start redis-server) or correct HUEY_URL"
        if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT,
                                                      errno.ENOTDIR, errno.ENOSPC) and err.filename:
            where = os.path.dirname(str(err.filename)) or str(err.filename)
            if err.errno == errno.ENOSPC:
                return f"cannot write {err.filename}: the disk is full", f"free space on the disk holding {where}"
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return f"cannot use {err.filename} ({err.strerror})", \
                    f"create {err.filename} (writable by this user), or set PORTAL_INSTANCE to a writable folder"
            return f"cannot write {err.filename} ({err.strerror})", \
                f"make {where} writable by this user, or set PORTAL_INSTANCE to a writable folder"
    return None


def _failed(exc, default_fix=RUN_INIT):
    what, fix = explain(exc) or (_first_line(exc), default_fix)
    return False, what, fix


def check_database():
    from portal.migrations import current_version, latest_version, pending_versions
    try:
        db.connect(reuse_if_open=True)
        current, latest, pending = current_version(), latest_version(), pending_versions()
    except Exception as exc:  # report any driver error as a failed check
        return _failed(exc, START_DATABASE)
    if pending:
        return False, f"schema version {current}, code expects {latest} (pending: {pending})", "run `portal init`"
    return True, f"{type(db.obj).__name__}, schema version {current}", None


QUEUE_FIXES = {
    "PostgresHuey": "start PostgreSQL (systemctl start postgresql) or correct HUEY_URL "
                    "(postgresql://user@host:5432/name; createdb NAME if it does not exist)",
    "RedisHuey": "start Redis (systemctl start redis-server) or correct HUEY_URL",
}


def check_queue():
    from portal.jobs import check_queue as roundtrip
    from portal.jobs import huey
    ok, detail = roundtrip()
    return ok, detail, None if ok else QUEUE_FIXES.get(type(huey).__name__, "check HUEY_URL")


def check_cjk_font():
    if not shutil.which("fc-list"):
        return False, "fontconfig not installed", "apt-get install fontconfig fonts-noto-cjk"
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    families = sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})
    if not families:
        return False, "no Chinese font found by fontconfig", "apt-get install fonts-noto-cjk"
    return True, ", ".join(families[:3]), None


def check_harfbuzz_subset():
    name = ctypes.util.find_library("harfbuzz-subset")
    for candidate in filter(None, [name, "libharfbuzz-subset.so.0"]):
        try:
            lib = ctypes.CDLL(candidate)
            if hasattr(lib, "hb_subset_input_create_or_fail"):
                return True, candidate, None
        except OSError:
            continue
    return False, ("libharfbuzz-subset not found: PDFs embed whole CJK fonts "
                   "(measured: 8.1 s instead of 0.24 s for a two-page report)"), "apt-get install libharfbuzz-subset0"


def check_audit_chain():
    from portal.audit import verify_chain
    try:
        intact, checked, broken_at = verify_chain()
    except Exception as exc:  # no table yet, or no database: the fix depends on which
        ok, what, fix = _failed(exc)
        return ok, f"cannot read the audit trail: {what}", fix
    if not intact:
        return False, f"chain broken at event #{broken_at} (after {checked} intact events)", \
            "an audit row was changed or removed outside the portal: restore from backup and investigate"
    return True, f"{checked} events, chain intact", None


def check_schedule_triggers():
    from portal.services.schedule_cache import missing_triggers
    try:
        if "schedule_version" not in db.get_tables():
            return False, "not created yet", "run `portal init`"
        missing = missing_triggers()
    except Exception as exc:  # no schema yet, or no database: the fix depends on which
        ok, what, fix = _failed(exc)
        return ok, f"cannot read the triggers: {what}", fix
    if missing:
        return False, f"missing: {', '.join(missing)}; day grids are drawn on every request", \
            "the database was restored without its triggers: restore a `portal backup` copy instead"
    return True, "schedule changes are tracked", None


def check_consent_hashes():
    """Issue 14: a signed consent's stored text must still match the SHA-256 taken when it was signed."""
    from portal.services.consent import altered_forms
    try:
        if "consent_form" not in db.get_tables():
            return False, "not created yet", "run `portal init`"
        bad = altered_forms()
    except Exception as exc:  # no schema yet, or no database: the fix depends on which
        ok, what, fix = _failed(exc)
        return ok, f"cannot read the consent forms: {what}", fix
    if bad:
        return False, f"text no longer matches its hash: {', '.join(bad[:20])}", \
            "a consent form was changed outside the portal: restore it from a backup and investigate"
    return True, "every consent form matches the text signed", None


CHECKS = [("database", check_database), ("queue", check_queue), ("CJK font", check_cjk_font),
          ("HarfBuzz subsetting", check_harfbuzz_subset), ("audit chain", check_audit_chain),
          ("schedule triggers", check_schedule_triggers),
          ("consent forms", check_consent_hashes)]


def run_checks():
    results = []
    for name, fn in CHECKS:
        ok, detail, fix = fn()
        results.append((name, ok, detail, fix))
    return results
