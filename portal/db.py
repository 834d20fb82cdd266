"""Database: one proxy for every model, chosen by DATABASE_URL; connection per request.

SQLite gets WAL, foreign keys, a busy timeout and synchronous=FULL (clinical data must
survive a power cut). Write units of work take the write lock up front (BEGIN IMMEDIATE)
so two requests never both read and then fail to upgrade their lock.
"""
import os
import sqlite3
from collections import OrderedDict
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


# One idle connection per process and database file keeps SQLite's WAL in place. Without it,
# each request that closes the last connection checkpoints the WAL into the database (another
# fsync), deletes it, and the next request creates it again: ~1 ms a request on this machine's
# disk, several on a VPS's. It holds no transaction, so it never blocks a writer or a checkpoint.
_WAL_KEEPERS: OrderedDict = OrderedDict()
_KEEPERS_PER_PROCESS = 4  # one in production; tests make a database per test


def keep_wal_open(path: str) -> None:
    if path in ("", ":memory:"):
        return
    key = (os.getpid(), path)  # a forked worker opens its own: connections must not cross a fork
    if key in _WAL_KEEPERS:
        return
    keeper = sqlite3.connect(path, check_same_thread=False)
    keeper.execute("PRAGMA schema_version").fetchone()  # opens the file and its WAL
    _WAL_KEEPERS[key] = keeper
    ours = [k for k in _WAL_KEEPERS if k[0] == os.getpid()]
    for old in ours[:-_KEEPERS_PER_PROCESS]:
        _WAL_KEEPERS.pop(old).close()


def init_app(app):
    db.initialize(make_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _open():
        from flask import request
        if request.endpoint == "home.healthz":
            return  # the health check connects itself: a database that is down is its answer, not a 500
        if is_sqlite():
            keep_wal_open(db.obj.database)
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            if db.in_transaction():
                db.rollback()
            db.close()
