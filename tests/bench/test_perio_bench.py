"""The perio entry page and the compare view for a patient with 40 exams against one with a single
exam (two for the compare view, which needs a pair): time within 1.5× (`make bench`), and the
same number of SQL statements (also in make test: the exams list reads no readings, the pages
load one or two exams whatever the history)."""
import gc
import json
import statistics
import time
from datetime import date, timedelta

import pytest

from portal.db import unit_of_work
from portal.models import Staff, new_code, utcnow
from portal.models.perio import PerioExam
from portal.services import perio
from tests.bench.conftest import budget, report, size
from tests.conftest import sign_in
from tests.statements import statements_of

BUDGET = 1.5


def _readings(n: int) -> dict:
    out = {}
    for i, t in enumerate(perio.teeth_of(28)):
        out[str(t)] = {"pd": [2 + (i + n + s) % 4 for s in range(6)], "gm": [(i + s) % 3 - 1 for s in range(6)],
                       "bop": [(i + s + n) % 5 == 0 for s in range(6)], "pl": [(i + s) % 4 == 0 for s in range(6)],
                       "mob": i % 2, "fur": 0}
    return out


def _exams(patient, staff, count: int) -> list[PerioExam]:
    start = date(2020, 1, 1)
    with unit_of_work():
        rows = []
        for n in range(count):
            readings = _readings(n)
            figures = perio.summary({int(t): v for t, v in readings.items()})
            rows.append(PerioExam.create(code=new_code(10), patient=patient, exam_date=start + timedelta(days=91 * n),
                                         teeth=28, readings=json.dumps(readings), summary=json.dumps(figures),
                                         sites_4mm=figures["ge4"], status="confirmed", recorded_by=staff,
                                         confirmed_by=staff, confirmed_at=utcnow()))
    return rows


def _setup(app):
    from tests import factories
    with app.app_context():
        doctor = Staff.create(username=f"perio-{new_code(4)}", display_name="Bench", role="doctor", password_hash="x")
        one = factories.patient(doctor, name="一次检查", birth_date=date(1970, 1, 1))
        many = factories.patient(doctor, name="多次检查", birth_date=date(1970, 1, 1))
        few, lots = _exams(one, doctor, 2), _exams(many, doctor, 40)
        # the entry page of a patient with a single exam: a third patient, one exam
        single = factories.patient(doctor, name="单次检查", birth_date=date(1970, 1, 1))
        only = _exams(single, doctor, 1)
    urls = {("1 exam", "entry page"): f"/perio/{only[0].code}", ("40 exams", "entry page"): f"/perio/{lots[-1].code}",
            ("2 exams", "compare view"): f"/perio/{few[-1].code}/compare",
            ("40 exams", "compare view"): f"/perio/{lots[-1].code}/compare"}
    return doctor, urls


def test_perio_pages_run_as_many_statements_for_40_exams_as_for_one(app):
    doctor, urls = _setup(app)
    client = sign_in(app.test_client(), doctor)
    counts = {key: statements_of(client, url) for key, url in urls.items()}
    assert counts[("40 exams", "entry page")] == counts[("1 exam", "entry page")], counts
    assert counts[("40 exams", "compare view")] == counts[("2 exams", "compare view")], counts


def _measure(client, url, n):
    for _ in range(10):
        assert client.get(url).status_code == 200
    gc.collect()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), sorted(times)[max(0, int(n * 0.95) - 1)]


@pytest.mark.bench
def test_perio_pages_are_flat_in_exams(bench_app, bench_requests, request):
    doctor, urls = _setup(bench_app)
    client = sign_in(bench_app.test_client(), doctor)
    n = max(size("BENCH_PERIO_REQUESTS", 60, 20), bench_requests // 4)
    results = {key: (*_measure(client, url, n), statements_of(client, url)) for key, url in urls.items()}
    lines = [f"{label:>9} {what:<13} median {m * 1000:6.1f} ms  p95 {p * 1000:6.1f} ms  {q} SQL statements"
             for (label, what), (m, p, q) in results.items()]
    ratios = {"entry page": results[("40 exams", "entry page")][0] / results[("1 exam", "entry page")][0],
              "compare view": results[("40 exams", "compare view")][0] / results[("2 exams", "compare view")][0]}
    lines += [f"{what}: 40 exams vs few = {r:.2f}× (budget {BUDGET}×)" for what, r in ratios.items()]
    budget(request.config, "perio entry page 40 vs 1 exams", ratios["entry page"])
    budget(request.config, "perio compare view 40 vs 2 exams", ratios["compare view"])
    report(request.config, "perio bench", lines)
    assert all(r <= BUDGET for r in ratios.values()), lines
