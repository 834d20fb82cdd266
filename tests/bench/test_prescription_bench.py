"""Speed budget (issue 14): a Chinese prescription PDF renders within 1.5× the time of the same
prescription in Latin text (English UI, English drug names, a Latin patient name), one run, same
machine, back-to-back pairs as in test_report_bench.py."""
import statistics
import time
from datetime import date

import pytest

from portal.models import Staff
from portal.services import chart_visits as visits
from portal.services import patients as registry
from portal.services import prescriptions as rxs
from portal.services.auth import hash_password
from tests.bench.conftest import budget, report
from tests.clock import clinic_today
from tests.prescription_samples import ensure_drugs, line

pytestmark = pytest.mark.bench
RUNS = 7
LINES = [line("AMOX", 500, "tid", 5, 2), line("METR", 400, "tid", 5, 1, "饭后服用"), line("IBUP", 300, "bid", 3, 1),
         line("CHXM", 15, "bid", 7, 1, "含漱 1 分钟")]


def _prescription(staff, name, allergies):
    patient = registry.register(registry.PatientData(name=name, sex="M", birth_date=date(1980, 6, 2),
                                                     phone="13800009999", allergies=allergies),
                                staff["frontdesk"], clinic_today(), allow_duplicate=True)
    visit = visits.open_visit(patient, staff["doctor"], clinic_today())
    rx = rxs.write(visit, rxs.Draft(lines=list(LINES), diagnosis="38 冠周炎；46 急性牙髓炎", weight_kg="70"),
                   staff["doctor"], clinic_today())
    return rxs.sign(rx, staff["doctor"])


def _seconds(app, rx, lang) -> float:
    from flask_babel import force_locale

    from portal.reports.prescription_pdf import prescription
    with app.test_request_context(), force_locale(lang):
        start = time.perf_counter()
        pdf = prescription(rx, clinic_today(), None)
        elapsed = time.perf_counter() - start
    assert pdf.startswith(b"%PDF")
    return elapsed


def test_chinese_prescription_within_budget_of_latin(bench_app, request):
    with bench_app.app_context():
        ensure_drugs()
        h = hash_password("bench-password-1")
        staff = {r: Staff.create(username=f"rx-{r}", display_name=f"Dr {r}", role=r, password_hash=h)
                 for r in ("doctor", "frontdesk")}
        zh = _prescription(staff, "王建国", "无")
        latin = _prescription(staff, "Wang Jianguo", "none")
        _seconds(bench_app, zh, "zh_CN"), _seconds(bench_app, latin, "en")  # warm fontconfig and caches
        pairs = [(_seconds(bench_app, zh, "zh_CN"), _seconds(bench_app, latin, "en")) for _ in range(RUNS)]
        t_zh, t_latin = statistics.median(z for z, _ in pairs), statistics.median(la for _, la in pairs)
        ratio = statistics.median(z / la for z, la in pairs)
        lines = [f"zh_CN prescription {t_zh * 1000:.0f} ms, Latin prescription {t_latin * 1000:.0f} ms, "
                 f"median ratio of {RUNS} back-to-back pairs {ratio:.2f} (budget 1.5)"]
        report(request.config, "prescription PDF", lines)
    budget(request.config, "Chinese / Latin prescription PDF", ratio, f"median of {RUNS} pairs")
    assert ratio <= 1.5, lines
