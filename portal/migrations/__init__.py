"""Versioned schema migrations.

Each module `mNNNN_<name>.py` has `up(run)` where `run(sql)` executes one statement after
filling the dialect placeholders below, so one file serves SQLite and PostgreSQL. Migrations
are written out as DDL (not generated from today's models) so that an old database always
upgrades through the same steps. `tests/test_migrations.py` checks the result matches the models.
"""
import importlib
import pkgutil

from portal.db import db, is_postgres
from portal.models.base import utcnow

DIALECTS = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "ts": "DATETIME", "bool": "INTEGER",
               "text": "TEXT", "true": "1", "false": "0", "c": ""},
    "postgres": {"pk": "SERIAL PRIMARY KEY", "ts": "TIMESTAMP", "bool": "BOOLEAN",
                 "text": "TEXT", "true": "TRUE", "false": "FALSE",
                 # byte order, so LIKE 'abc%' prefix searches can use a plain btree index
                 "c": ' COLLATE "C"'},
}


def dialect() -> str:
    return "postgres" if is_postgres() else "sqlite"


def available():
    """[(version, name, module)] in order."""
    import portal.migrations as pkg
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            found.append((int(info.name[1:5]), info.name[6:],
                          importlib.import_module(f"portal.migrations.{info.name}")))
    return sorted(found, key=lambda m: m[0])


def latest_version() -> int:
    return available()[-1][0]


def _ensure_version_table():
    d = DIALECTS[dialect()]
    db.execute_sql(f"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                   f"name TEXT NOT NULL, applied_at {d['ts']} NOT NULL)")


def applied_versions() -> set[int]:
    _ensure_version_table()
    return {row[0] for row in db.execute_sql("SELECT version FROM schema_version").fetchall()}


def pending_versions() -> list[int]:
    done = applied_versions()
    return [version for version, _, _ in available() if version not in done]


def current_version() -> int:
    return max(applied_versions(), default=0)


def migrate(target: int | None = None) -> list[str]:
    """Apply pending migrations up to `target` (default: all), each in its own transaction."""
    applied = []
    done = applied_versions()  # any version not yet applied runs, even one numbered below the newest
    d = DIALECTS[dialect()]

    def run(sql: str, only: str | None = None):
        if only is None or only == dialect():
            db.execute_sql(sql.format(**d))

    for version, name, module in available():
        if version in done or (target is not None and version > target):
            continue
        with db.atomic():
            module.up(run)
            db.execute_sql("INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)"
                           .replace("%s", db.param), (version, name, utcnow()))
        applied.append(f"{version:04d}_{name}")
    return applied
