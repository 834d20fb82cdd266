"""The consultant's worklist at a small clinic and at 100k patients with 1M past follow-ups.

The worklist fragment (HX-Target: worklist) is timed against a bare Flask route doing one indexed
query on the same database, in the same run. Asserted, loosely: the same number of SQL statements
at both sizes (no N+1), page time flat in data size (DESIGN.md: ≤ 1.3×, asserted ≤ 3× for a noisy
machine), and within a small multiple of the bare route. The figures are printed in the summary.
"""
import statistics
from datetime import date, datetime, timedelta

import pytest

from portal.db import db, is_postgres
from portal.models import Followup, Patient, Staff
from tests.clock import clinic_today
from tests.bench import synthetic
from tests.bench.conftest import bare_app, budget, report
from tests.bench.test_search_bench import StatementCounter, _timed
from tests.conftest import sign_in

HX = {"HX-Request": "true", "HX-Target": "worklist", "HX-Current-URL": "http://localhost/followups"}
PAST_PER_PATIENT = 10
OPEN_TODAY = 40
MAX_VS_BASELINE = 3.0  # DESIGN.md: every staff page p95 ≤ 3× the floor
MAX_GROWTH = 1.3       # DESIGN.md: 100k vs 1k patients ≤ 1.3×


def _past_followups(first_id: int, last_id: int, today: date) -> None:
    """Ten closed follow-ups per patient over the last years (what a busy clinic accumulates)."""
    rows = []
    for pid in range(first_id, last_id + 1):
        for k in range(PAST_PER_PATIENT):
            due = today - timedelta(days=30 + 90 * k + pid % 60)
            rows.append({"code": f"P{pid:08d}{k:02d}"[:12], "patient": pid, "event": "revisit", "kind": "call",
                         "topic": "复诊回访", "questions": "pain,swelling", "due_date": due, "status": "done",
                         "outcome": "reached", "attempts": 0, "rule_version": 1, "source_key": f"bench:{pid}:{k}",
                         "created_at": datetime.combine(due, datetime.min.time()), "closed_at": None})
        if len(rows) >= 50_000:
            synthetic._insert(Followup, rows)
            rows = []
    synthetic._insert(Followup, rows)


def _open_today(consultant: Staff, today: date) -> None:
    ids = [p for (p,) in Patient.select(Patient.id).order_by(Patient.id).limit(OPEN_TODAY).tuples()]
    synthetic._insert(Followup, [{"code": f"T{pid:011d}", "patient": pid, "event": "first_visit", "kind": "call",
                                  "topic": "初诊回访", "questions": "pain,swelling", "due_date": today - timedelta(days=i % 3),
                                  "status": "open", "outcome": "", "attempts": 0, "rule_version": 1,
                                  "source_key": f"open:{pid}", "assigned_to": consultant.id,
                                  "created_at": datetime(2026, 1, 1)} for i, pid in enumerate(ids)])


def _measure(client, baseline, n, code):
    counts, times, base = [], [], []
    _timed(lambda: client.get("/followups?who=all", headers=HX), 30)  # templates compiled, caches warm
    for _ in range(2):  # two rounds, interleaved with the baseline
        with StatementCounter() as counter:
            before = counter.count
            times += _timed(lambda: client.get("/followups?who=all", headers=HX), n // 2)
            counts.append((counter.count - before) / (n // 2 + 10))
        base += _timed(lambda: baseline.get(f"/one/{code}"), n // 2)
    with StatementCounter() as counter:
        body = client.get("/followups?who=all", headers=HX).get_data(as_text=True)
    return {"p50": statistics.median(times), "p95": sorted(times)[int(0.95 * (len(times) - 1))],
            "base_p50": statistics.median(base), "base_p95": sorted(base)[int(0.95 * (len(base) - 1))], "stmts": counter.count, "rows": body.count('class="row call')}


@pytest.fixture(scope="module")
def figures(bench_app, password_hash, bench_sizes, bench_requests, request):
    small, big = bench_sizes
    today = clinic_today()
    with bench_app.app_context():
        consultant = Staff.create(username="consultant", display_name="Bench consultant", role="consultant",
                                  password_hash=password_hash)
        synthetic.add_patients(0, small, today=today)
        _past_followups(1, small, today)
        _open_today(consultant, today)
    baseline = bare_app(bench_app.config["DATABASE_URL"], "SELECT id FROM followup WHERE code = ?",
                        lambda key: (key,)).test_client()
    result = {}
    client = sign_in(bench_app.test_client(), consultant)
    result["small"] = _measure(client, baseline, bench_requests, "T00000000001")
    with bench_app.app_context():
        synthetic.add_patients(small, big - small, today=today)
        _past_followups(small + 1, big, today)
        if is_postgres():
            db.execute_sql("ANALYZE followup")
        total = Followup.select().count()
    client = sign_in(bench_app.test_client(), consultant)
    result["big"] = _measure(client, baseline, bench_requests, "T00000000001")
    s, b = result["small"], result["big"]
    report(request.config, "follow-up worklist (fragment) vs bare route", [
        f"patients {small:,} → {big:,}; follow-ups at the large size: {total:,}; open calls shown: {b['rows']}",
        f"small: p50 {s['p50'] * 1000:.2f} ms, p95 {s['p95'] * 1000:.2f} ms, bare p50 {s['base_p50'] * 1000:.2f} ms, "
        f"{s['stmts']} statements",
        f"big:   p50 {b['p50'] * 1000:.2f} ms, p95 {b['p95'] * 1000:.2f} ms, bare p50 {b['base_p50'] * 1000:.2f} ms, "
        f"{b['stmts']} statements",
        f"growth p50 big/small {b['p50'] / s['p50']:.2f}× (budget 1.3×); big vs bare p95 {b['p95'] / b['base_p95']:.1f}×",
    ])
    budget(request.config, "follow-up worklist: p95 / floor", b["p95"] / b["base_p95"], f"{big:,} patients")
    budget(request.config, "follow-up worklist growth 1k → 100k patients", b["p50"] / s["p50"], f"{small:,} → {big:,}")
    return result


def test_worklist_statements_do_not_depend_on_data_size(figures):
    assert figures["small"]["stmts"] == figures["big"]["stmts"]
    assert figures["small"]["rows"] == figures["big"]["rows"] == OPEN_TODAY


@pytest.mark.bench
def test_worklist_time_is_flat_in_data_size(figures):
    assert figures["big"]["p50"] / figures["small"]["p50"] <= MAX_GROWTH


@pytest.mark.bench
def test_worklist_within_three_times_the_floor(figures):
    assert figures["big"]["p95"] / figures["big"]["base_p95"] <= MAX_VS_BASELINE
