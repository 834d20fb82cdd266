"""Benchmarks: one app and database per module (growing it is the slow part), a bare Flask
baseline on the same database, and a table of the figures printed at the end of the run.

Sizes: BENCH_PATIENTS (default 100000) for the large database, BENCH_SMALL (default 1000) for
the small one; BENCH_REQUESTS (default 200) requests per measurement.
"""
import os
import shutil

import pytest

from portal import create_app
from portal.db import db, is_postgres, make_database
from portal.jobs import huey
from tests.bench import synthetic
from tests.conftest import PG_URL, _truncate_all

_TABLES = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[_TABLES] = []


def report(config, title: str, lines: list[str]) -> None:
    """Keep a table for the terminal summary (shown without -s, unlike print)."""
    config.stash[_TABLES].append((title, lines))


def pytest_terminal_summary(terminalreporter, config):
    for title, lines in config.stash.get(_TABLES, []):
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def bench_app(template_db, tmp_path_factory):
    """Like the root `app` fixture, but kept for a whole module."""
    if PG_URL:
        url = PG_URL
    else:
        path = tmp_path_factory.mktemp("bench") / "portal.db"
        shutil.copy(template_db, path)
        url = f"sqlite:///{path}"
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "bench-secret",
                      "WTF_CSRF_ENABLED": False, "PORTAL_LOCALE": "en", "BABEL_DEFAULT_LOCALE": "en"})
    app.instance_path = str(tmp_path_factory.mktemp("bench-instance"))
    huey.immediate = True
    db.connect(reuse_if_open=True)
    if is_postgres():
        _truncate_all()
    yield app
    if is_postgres():
        _truncate_all()  # leave no 100k rows behind for the next module
    if not db.is_closed():
        db.close()


def bare_app(database_url: str, sql: str, params_of):
    """The baseline: a bare Flask app whose one route opens a connection (same pragmas as the
    portal), runs one indexed query, closes, and returns a tiny string."""
    from flask import Flask
    database = make_database(database_url)
    app = Flask("baseline")
    sql = sql.replace("?", database.param)

    @app.get("/one/<key>")
    def one(key):
        database.connect(reuse_if_open=True)
        try:
            row = database.execute_sql(sql, params_of(key)).fetchone()
        finally:
            database.close()
        return str(row[0] if row else "-")

    return app


@pytest.fixture(scope="session")
def bench_sizes():
    big = synthetic.bench_size()
    small = int(os.environ.get("BENCH_SMALL", min(1_000, big)))
    return small, big


@pytest.fixture(scope="session")
def bench_requests():
    return int(os.environ.get("BENCH_REQUESTS", 200))
