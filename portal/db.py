"""Database: one proxy for every model, chosen by DATABASE_URL; connection per request.

SQLite gets WAL, foreign keys, a busy timeout and synchronous=FULL (clinical data must
survive a power cut). Write units of work take the write lock up front (BEGIN IMMEDIATE)
so two requests never both read and then fail to upgrade their lock.
"""
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, unquote

import peewee as pw

db = pw.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "full",
    "cache_size": -16000,
}


def make_database(url: str) -> pw.Database:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ":memory:"
        if path not in ("", ":memory:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return pw.SqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS,
                                 timeout=10, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        return pw.PostgresqlDatabase(
            parsed.path.lstrip("/") or "postgres",
            user=unquote(parsed.username or "") or None,
            password=unquote(parsed.password or "") or None,
            host=parsed.hostname or None,
            port=parsed.port or None,
        )
    raise ValueError(f"DATABASE_URL scheme not supported: {parsed.scheme!r} (use sqlite:/// or postgresql://)")


def is_sqlite() -> bool:
    return isinstance(db.obj, pw.SqliteDatabase)


def is_postgres() -> bool:
    return isinstance(db.obj, pw.PostgresqlDatabase)


def sqlite_path() -> str | None:
    return db.obj.database if is_sqlite() else None


@contextmanager
def unit_of_work():
    """One transaction for one change. Outermost SQLite transactions take the write lock
    at once (BEGIN IMMEDIATE); nested calls become savepoints."""
    if is_sqlite() and not db.in_transaction():
        with db.atomic("IMMEDIATE") as txn:
            yield txn
    else:
        with db.atomic() as txn:
            yield txn


def init_app(app):
    db.initialize(make_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _open():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            if db.in_transaction():
                db.rollback()
            db.close()
