"""The query plans behind the pages the desk and the chair use all day (issue 19): the day grid,
patient search and the picker, the chart and its tooth panel.

Each page is requested as a person would (the htmx fragment the page asks for), every SELECT it
runs is recorded with its parameters and put to the database's own planner (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN (FORMAT JSON) on PostgreSQL), so the checks follow the code rather than SQL
written here. On a clinic of the size issue 19 measured, where the planner's choice is the real
one (100k patients with common surnames, ~39k appointments, ~15k visits with ~61k chart rows, ANALYZEd; at 20k
PostgreSQL rightly prefers hashing the whole patient table to 320 index probes), every statement
that reads a large table (patient, appointment, visit, chart_entry) must:

- use an index (SQLite SEARCH … USING INDEX / PRIMARY KEY; PostgreSQL Index, Index Only or
  Bitmap Index Scan), and never walk a large table whole (SQLite SCAN, also SCAN … USING INDEX,
  which reads the whole index; PostgreSQL Seq Scan);
- for a search, not sort all its matches to show a page: the index range scan is already in the
  page's order (SQLite: no USE TEMP B-TREE FOR ORDER BY; PostgreSQL: no Sort or Incremental Sort
  above more than a few pages of rows).

EXPLAIN_PATIENTS sets the registry size (default 100,000; building it takes ~20 s on SQLite, ~30 s
on PostgreSQL).
"""
import json
import os
import re
from datetime import date, datetime, time as clock, timedelta

import pytest

from portal.db import db, is_postgres
from portal.models import (Appointment, Chair, ChartEntry, Membership, Patient, PatientTag, Staff, Tag, Visit,
                           new_code)
from portal.services.clock import to_utc
from tests.bench import synthetic
from tests.bench.conftest import bench_app  # noqa: F401 (the fixture)
from tests.conftest import sign_in

# Builds a 100k-patient clinic and reads no clock: run once by make test, not by each clock sweep.
pytestmark = pytest.mark.heavy

PATIENTS = int(os.environ.get("EXPLAIN_PATIENTS", 100_000))
DAY = date(2026, 6, 10)                # the day the grid shows (any day: the grid is asked by date)
CHAIRS, SLOTS, DAYS = 20, 16, 121      # 20 chairs × 16 half-hours a day, 60 days either side
CHARTED, VISITS_EACH = 3_000, 5        # patients with a chart: 5 visits, 4 chart rows per visit
LONG_HISTORY = 300                     # the patient whose chart is opened
FEW_PAGES = 5
BIG = {"patient", "appointment", "visit", "chart_entry"}  # the tables that grow with the years
HX_GRID = {"HX-Request": "true", "HX-Target": "day-grid"}
HX_RESULTS = {"HX-Request": "true", "HX-Target": "results"}
HX_PICK = {"HX-Request": "true", "HX-Target": "patient-results"}


class Recorder:
    """Every statement peewee sends, with its parameters (tests/statements.py counts them)."""

    def __init__(self):
        self.statements: list[tuple[str, tuple]] = []

    def __enter__(self):
        original = db.obj.execute_sql

        def recording(sql, params=None, *args, **kwargs):
            self.statements.append((sql, tuple(params or ())))
            return original(sql, params, *args, **kwargs)
        db.obj.execute_sql = recording
        return self

    def __exit__(self, *exc):
        del db.obj.execute_sql

    def selects(self):
        return [(sql, params) for sql, params in self.statements if sql.lstrip().upper().startswith("SELECT")]


def _tables(sql: str) -> dict[str, str]:
    """alias or table name -> table, for the tables a statement reads ("patient" AS "t1")."""
    found = {}
    for table, alias in re.findall(r'(?:FROM|JOIN)\s+"(\w+)"(?:\s+AS\s+"(\w+)")?', sql):
        found[alias or table] = table
        found[table] = table
    return found


def _limit(sql: str, params: tuple) -> int | None:
    """The page a statement asks for (LIMIT ? as its last parameter but OFFSET), if any."""
    if not re.search(r"\bLIMIT\s+(\?|%s)\s*(OFFSET\s+(\?|%s)\s*)?$", sql.strip()):
        return None
    return int(params[-2] if re.search(r"OFFSET\s+(\?|%s)\s*$", sql.strip()) else params[-1])


def _sqlite_problems(sql, params, search: bool) -> list[str]:
    tables = _tables(sql)
    rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    details = [row[-1] for row in rows]
    problems, indexed = [], set()
    for detail in details:
        m = re.match(r"(SCAN|SEARCH) (\w+)", detail)
        if not m or tables.get(m.group(2)) not in BIG:
            continue
        table = tables[m.group(2)]
        if m.group(1) == "SCAN":
            problems.append(f"walks all of {table}: {detail}")
        elif "USING" in detail:
            indexed.add(table)
    read = {t for t in tables.values() if t in BIG}
    if read and not indexed:
        problems.append(f"no index used on {sorted(read)}")
    if search and any("USE TEMP B-TREE FOR ORDER BY" in d for d in details):
        problems.append("sorts all its matches (USE TEMP B-TREE FOR ORDER BY)")
    return [f"{p}\n    plan: {details}" for p in dict.fromkeys(problems)]


def _pg_nodes(node, parent=None):
    yield node, parent
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child, node)


def _pg_problems(sql, params, search: bool) -> list[str]:
    tables = _tables(sql)
    plan = db.execute_sql("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    root = plan[0]["Plan"]
    page = _limit(sql, params)
    problems, indexed = [], set()
    for node, _ in _pg_nodes(root):
        kind, table = node["Node Type"], node.get("Relation Name")
        if kind == "Seq Scan" and table in BIG:
            problems.append(f"walks all of {table} (Seq Scan, {node.get('Plan Rows')} rows)")
        if kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
            indexed.add(table or node.get("Index Name"))
        if search and kind in ("Sort", "Incremental Sort"):
            # the planner may sort the few rows it expects from a narrow key (a bitmap scan of
            # a handful); a sort of more than a few pages is a sort of all the matches
            below = max((c.get("Plan Rows", 0) for c in node.get("Plans", ())), default=0)
            if page is None or below > FEW_PAGES * page:
                problems.append(f"{kind} of {below} rows for a page of {page}")
    read = {t for t in tables.values() if t in BIG}
    if read and not indexed:
        problems.append(f"no index used on {sorted(read)}")
    return [f"{p}\n    plan: {_pg_text(sql, params)}" for p in dict.fromkeys(problems)]


def _pg_text(sql, params) -> str:
    return "\n      ".join(r[0] for r in db.execute_sql("EXPLAIN " + sql, params).fetchall())


def problems_of(statements, search: bool = False) -> list[str]:
    check = _pg_problems if is_postgres() else _sqlite_problems
    found = []
    for sql, params in statements:
        for problem in check(sql, params, search):
            found.append(f"{sql[:240]} {params!r}\n  {problem}")
    return found


# --- a clinic at a size where the planner's choice is the real one -------------------------------------

def _insert(model, rows):
    """synthetic._insert with every defaulted column filled in (peewee adds the defaults a row
    leaves out to the statement, but not to the batch's values)."""
    defaults = {f.name: f.default for f in model._meta.sorted_fields if f.default is not None}
    for row in rows:
        for name, value in defaults.items():
            if name not in row:
                row[name] = value() if callable(value) else value
    synthetic._insert(model, rows)


def _appointments(patients, doctors, chairs, tz):
    rows = []
    for d in range(DAYS):
        day = DAY + timedelta(days=d - DAYS // 2)
        for s in range(SLOTS):
            start = to_utc(datetime.combine(day, clock(9 + s // 2, 30 * (s % 2))), tz)
            for c in range(CHAIRS):
                n = d * SLOTS * CHAIRS + s * CHAIRS + c
                rows.append({"code": f"E{n:09d}", "patient": patients[(n * 7919) % len(patients)],
                             "doctor": doctors[c], "chair": chairs[c], "start_at": start,
                             "end_at": start + timedelta(minutes=30), "visit_type": "revisit", "planned": "",
                             "notes": "", "source": "frontdesk", "status": "booked" if day >= DAY else "completed",
                             "cancel_reason": "", "created_at": start, "updated_at": start})
    return rows


def _charts(patients, doctor, long_history):
    visits, entries = [], []
    owners = [(p, VISITS_EACH) for p in patients[:CHARTED]] + [(long_history, LONG_HISTORY)]
    for p, count in owners:
        for v in range(count):
            visits.append({"code": f"V{p:08d}{v:03d}", "patient": p, "doctor": doctor, "visit_date":
                           date(2015, 1, 1) + timedelta(days=9 * v), "status": "signed",
                           "chief_complaint": "复查", "diagnosis": "见牙位图", "signed_at": datetime(2020, 1, 1),
                           "signed_by": doctor, "created_at": datetime(2020, 1, 1), "updated_at": datetime(2020, 1, 1)})
    _insert(Visit, visits)
    ids = dict(Visit.select(Visit.code, Visit.id).tuples())
    for row in visits:
        for k, (tooth, kind, status) in enumerate(((16, "caries", "existing"), (16, "filling", "done"),
                                                   (26, "sealant", "done"), (36, "crown", "planned"))):
            entries.append({"code": f"C{len(entries):011d}", "patient": row["patient"], "visit": ids[row["code"]],
                            "tooth": tooth, "surfaces": "O", "kind": kind, "status": status, "note": "",
                            "recorded_on": row["visit_date"], "recorded_at": datetime(2020, 1, 1),
                            "recorded_by": doctor, "entered_in_error": False})
    _insert(ChartEntry, entries)


@pytest.fixture(scope="module")
def clinic(bench_app, password_hash):
    app = bench_app  # one app and database for the module, emptied after it (tests/bench/conftest.py)
    desk = Staff.create(username="frontdesk", display_name="Desk", role="frontdesk", password_hash=password_hash)
    doctors = [Staff.create(username=f"doc{i:02d}", display_name=f"Dr {i:02d}", role="doctor",
                            password_hash=password_hash).id for i in range(CHAIRS)]
    chairs = [Chair.create(code=new_code(6), name=f"{i + 1}号椅", sort_order=i).id for i in range(CHAIRS)]
    synthetic.add_patients(0, PATIENTS, created_by=desk.id, today=DAY)
    patients = [p for (p,) in Patient.select(Patient.id).order_by(Patient.id).tuples()]
    with db.atomic():
        _insert(Appointment, _appointments(patients, doctors, chairs, app.config["PORTAL_TZ"]))
        # the grid's marks have rows to find: one patient in five a member, one member in fifty VIP
        # or diamond (as a clinic's tiers run); one patient in a hundred with a clinical alert tag
        _insert(Membership, [{"patient": p, "card_no": f"M{p:09d}",
                              "tier": "vip" if p % 250 == 0 else "diamond" if p % 1000 == 5 else ("", "member")[p % 2],
                              "paid_total_fen": 0, "points": 0, "created_at": datetime(2020, 1, 1)}
                             for p in patients[::5]])
        alert = Tag.create(name="出血风险", color="#dc2626", clinical_alert=True)
        _insert(PatientTag, [{"patient": p, "tag": alert.id, "created_at": datetime(2020, 1, 1)}
                             for p in patients[::97]])
        long_history = patients[len(patients) // 2]
        _charts(patients, doctors[0], long_history)
    db.execute_sql("ANALYZE")  # as autovacuum would after a bulk import; SQLite's sqlite_stat1 likewise
    patient = Patient.get_by_id(long_history)
    return {"app": app, "desk": desk, "doctor": Staff.get_by_id(doctors[0]), "patient": patient}


def _selects(client, url, headers=None):
    with Recorder() as recorder:
        resp = client.get(url, headers=headers or {})
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True), recorder.selects()


def test_the_day_grid_reads_the_days_rows_by_index(clinic):
    db.execute_sql("UPDATE schedule_version SET n = n + 1 WHERE id = 1")  # drawn, not kept
    client = sign_in(clinic["app"].test_client(), clinic["desk"])
    body, selects = _selects(client, f"/schedule?date={DAY.isoformat()}", HX_GRID)
    first = DAYS // 2 * SLOTS * CHAIRS  # the day's appointments, as _appointments numbered them
    assert all(f"E{n:09d}" in body for n in range(first, first + SLOTS * CHAIRS)), "the grid shows the day's visits"
    reading = [s for s in selects if set(_tables(s[0]).values()) & {"appointment", "patient"}]
    assert len(reading) >= 2, "the day's appointments and their patients' marks"
    problems = problems_of(reading)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["zhang", "wang", "li", "张", "phone tail", "chart number", "initials"])
def test_search_pages_come_from_an_index_in_display_order(clinic, kind):
    patient = clinic["patient"]
    q = {"phone tail": patient.phone[-4:], "chart number": patient.chart_no[:6],
         "initials": patient.name_initials}.get(kind, kind)
    client = sign_in(clinic["app"].test_client(), clinic["desk"])
    body, selects = _selects(client, f"/patients?q={q}", HX_RESULTS)
    assert body.count('class="row"') >= 1
    searching = [s for s in selects if "patient" in _tables(s[0]).values() and _limit(*s)]
    assert searching, "the search statements"
    problems = problems_of(searching, search=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("q", ["zhang", "张", "li"])
def test_the_picker_pages_come_from_an_index_in_display_order(clinic, q):
    client = sign_in(clinic["app"].test_client(), clinic["desk"])
    body, selects = _selects(client, f"/patients/pick?field=patient&key=patient&patient={q}", HX_PICK)
    assert body.count('role="option"') == 8
    searching = [s for s in selects if "patient" in _tables(s[0]).values() and _limit(*s)]
    assert searching, "the search statements"
    problems = problems_of(searching, search=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("what", ["chart", "tooth panel"])
def test_the_chart_and_tooth_panel_read_one_patients_rows_by_index(clinic, what):
    patient = clinic["patient"]
    url = f"/patients/{patient.code}/chart" + ("/teeth/16" if what == "tooth panel" else "")
    client = sign_in(clinic["app"].test_client(), clinic["doctor"])
    body, selects = _selects(client, url)
    assert 'data-tooth="16"' in body if what == "chart" else "Filling" in body, "the chart shows tooth 16's record"
    reading = [s for s in selects if set(_tables(s[0]).values()) & {"visit", "chart_entry"}]
    assert reading, "the chart's statements"
    problems = problems_of(reading)
    assert not problems, "\n".join(problems)
