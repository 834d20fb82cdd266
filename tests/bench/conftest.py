"""Benchmarks: one app and database per module (growing it is the slow part), a bare Flask
baseline on the same database, and a table of the figures printed at the end of the run.

Two modes, one set of files:
- `make bench` (PORTAL_BENCH=1, `-m bench`): realistic sizes, and the timing tests assert the
  budgets of DESIGN.md exactly; the run ends with one table, every budget with its measured
  figure, and exits non-zero when one is missed.
- `make test`: the tests here without the `bench` mark (SQL statements per request, results at
  scale) on a smaller clinic; nothing timed is asserted, so a loaded machine cannot fail them.

Sizes: BENCH_PATIENTS (100,000 | 5,000 in make test) for the large database, BENCH_SMALL (1,000 |
500) for the small one; BENCH_REQUESTS (200 | 20) requests per measurement.
"""
import os
import shutil

import pytest

from portal import create_app
from portal.db import db, is_postgres, make_database
from portal.jobs import huey
from tests.bench import synthetic
from tests.clock import Clock, suite_start
from tests.conftest import PG_URL, _truncate_all

_TABLES = pytest.StashKey[list]()
_BUDGETS = pytest.StashKey[dict]()
BENCHMARKING = os.environ.get("PORTAL_BENCH") == "1"

# DESIGN.md's speed budgets, in its order: (name, limit, unit). Each benchmark reports its figure
# against one of these names with budget(); the summary prints all of them, measured or not.
BUDGETS = (
    ("day view kept: p95 / floor", 3.0, "×"),
    ("day view drawn after a change: p95 / floor", 3.0, "×"),
    ("week view: p95 / floor", 3.0, "×"),
    ("week view drawn after a change: p95 / floor", 3.0, "×"),
    ("search broad prefixes at 100k: p95 / floor (worst)", 3.0, "×"),
    ("type-ahead pick, broad prefixes at 100k: p95 / floor (worst)", 3.0, "×"),
    ("follow-up worklist: p95 / floor", 3.0, "×"),
    ("fragment after a status change / full page bytes", 0.10, ""),
    ("RSS after 200 PDFs (web + worker)", 600.0, "MiB"),
    ("day view growth 10k → 1M appointments", 1.3, "×"),
    ("week view growth 10k → 1M appointments", 1.3, "×"),
    ("search growth 1k → 100k patients (worst)", 1.3, "×"),
    ("follow-up worklist growth 1k → 100k patients", 1.3, "×"),
    ("chart page 700 vs 5 visits", 1.5, "×"),
    ("tooth panel 700 vs 5 visits", 1.5, "×"),
    ("perio entry page 40 vs 1 exams", 1.5, "×"),  # issue 14
    ("perio compare view 40 vs 2 exams", 1.5, "×"),  # issue 14
    ("Chinese / Latin first-visit report PDF", 1.5, "×"),
    ("Chinese / Latin prescription PDF", 1.5, "×"),  # issue 14
    ("Chinese / Latin consent PDF", 1.5, "×"),  # issue 14
    ("due reminder lateness p99", 2.0, "s"),
    ("due reminder lateness p99, two workers on PostgresHuey", 2.0, "s"),  # issue 19
)
NOT_YET: dict[str, str] = {}  # budget name -> why this run cannot measure it


def size(name: str, benchmark: int, test: int) -> int:
    """A data size: the environment's, else the benchmark's or make test's default."""
    return int(os.environ.get(name, benchmark if BENCHMARKING else test))


def budget(config, name: str, measured: float, note: str = "") -> bool:
    """Record a measured figure against its DESIGN.md budget; True when it is within."""
    limit = dict((n, lim) for n, lim, _ in BUDGETS)[name]
    if BENCHMARKING:  # make test's small clinic times nothing worth a verdict
        config.stash[_BUDGETS][name] = (measured, note)
    return measured <= limit


def pytest_configure(config):
    config.stash[_TABLES] = []
    config.stash[_BUDGETS] = {}


def report(config, title: str, lines: list[str]) -> None:
    """Keep a table for the terminal summary (shown without -s, unlike print)."""
    config.stash[_TABLES].append((title, lines))


def pytest_terminal_summary(terminalreporter, config):
    for title, lines in config.stash.get(_TABLES, []):
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)
    measured = config.stash.get(_BUDGETS, {})
    if not measured:
        return  # make test: nothing was timed
    terminalreporter.write_sep("=", "speed budgets (DESIGN.md)")
    for name, limit, unit in BUDGETS:
        if name in measured:
            value, note = measured[name]
            verdict = "ok" if value <= limit else "MISSED"
            shown = f"{value:.2f}{unit}" if unit != "" else f"{value:.1%}"
            wanted = f"≤ {limit:g}{unit}" if unit != "" else f"≤ {limit:.0%}"
            terminalreporter.write_line(f"{verdict:>7}  {name:<52} {shown:>10}  (budget {wanted}){'  ' + note if note else ''}")
        else:
            terminalreporter.write_line(f"{'—':>7}  {name:<52} {'not run':>10}  {NOT_YET.get(name, 'not measured in this run')}")


@pytest.fixture(scope="session", autouse=True)
def bench_clock():
    """One ticking clock for the whole benchmark session: the module-wide data is built at the
    same clinic time the requests are then made at (tests/clock.py)."""
    ticking = Clock(suite_start())
    yield ticking
    ticking.stop()


@pytest.fixture()
def clock(bench_clock):
    """The root conftest's per-test clock, replaced here by the session's."""
    return bench_clock


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
    small = min(size("BENCH_SMALL", 1_000, 500), big)
    return small, big


@pytest.fixture(scope="session")
def bench_requests():
    return size("BENCH_REQUESTS", 200, 20)
