"""Speed budget (issue 14): a signed Chinese consent PDF (text, two signatures drawn as SVG from
their strokes) renders within 1.5× the time of the same form in Latin text (English template and
UI, a Latin patient name), one run, same machine, back-to-back pairs as in test_report_bench.py."""
import json
import statistics
import time
from datetime import date

import pytest

from portal.models import Staff
from portal.services import consent as consents
from portal.services import patients as registry
from portal.services.auth import hash_password
from tests.bench.conftest import budget, report
from tests.clock import clinic_today

pytestmark = pytest.mark.bench
RUNS = 7
STROKES = json.dumps([[{"x": 10 + i * 3, "y": 40 + (i % 7) * 6, "time": i} for i in range(60)],
                      [{"x": 200 + i, "y": 20 + i, "time": 100 + i} for i in range(40)]])


def _signed(staff, name, lang):
    patient = registry.register(registry.PatientData(name=name, sex="F", birth_date=date(1985, 4, 2),
                                                     phone="13800009998"),
                                staff["frontdesk"], clinic_today(), allow_duplicate=True)
    form = consents.create(patient, "implant", staff["doctor"], lang, tooth="36")
    return consents.sign(form, staff["doctor"], clinic_today(), "patient", "", "", STROKES, STROKES)


def _seconds(app, form, lang) -> float:
    from portal.blueprints.chart.views_consent import _pdf_bytes
    with app.test_request_context():
        start = time.perf_counter()
        pdf = _pdf_bytes(form, lang)
        elapsed = time.perf_counter() - start
    assert pdf.startswith(b"%PDF")
    return elapsed


def test_chinese_consent_within_budget_of_latin(bench_app, request):
    with bench_app.app_context():
        consents.seed()
        h = hash_password("bench-password-1")
        staff = {r: Staff.create(username=f"cf-{r}", display_name=f"Dr {r}", role=r, password_hash=h)
                 for r in ("doctor", "frontdesk")}
        zh = _signed(staff, "王建国", "zh_CN")
        latin = _signed(staff, "Wang Jianguo", "en")
        _seconds(bench_app, zh, "zh_CN"), _seconds(bench_app, latin, "en")  # warm fontconfig and caches
        pairs = [(_seconds(bench_app, zh, "zh_CN"), _seconds(bench_app, latin, "en")) for _ in range(RUNS)]
        t_zh, t_latin = statistics.median(z for z, _ in pairs), statistics.median(la for _, la in pairs)
        ratio = statistics.median(z / la for z, la in pairs)
        lines = [f"zh_CN consent {t_zh * 1000:.0f} ms, Latin consent {t_latin * 1000:.0f} ms, "
                 f"median ratio of {RUNS} back-to-back pairs {ratio:.2f} (budget 1.5)"]
        report(request.config, "consent PDF", lines)
    budget(request.config, "Chinese / Latin consent PDF", ratio, f"median of {RUNS} pairs")
    assert ratio <= 1.5, lines
