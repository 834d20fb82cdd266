"""Speed budget (DESIGN.md): the Chinese first-visit report renders within 1.5× the time of the
same report in Latin text, in one run on the same machine. Also reports the figure without
HarfBuzz subsetting (fontTools fallback) for `portal check`'s claim."""
import statistics
import time
from datetime import date

import pytest

from portal.models import Staff
from portal.services.auth import hash_password
from tests.clock import clinic_today
from tests.bench.conftest import budget, report
from tests.report_fixtures import ADULT_FINDINGS, clinical_patient

pytestmark = pytest.mark.bench  # all timed or memory-bound: make bench only
RUNS = 7


def _seconds(app, patient, lang) -> float:
    from flask_babel import force_locale

    from portal.reports import printouts
    with app.test_request_context(), force_locale(lang):
        start = time.perf_counter()
        pdf = printouts.first_visit(patient, clinic_today(), None)
        elapsed = time.perf_counter() - start
    assert pdf.startswith(b"%PDF")
    return elapsed


def _paired(app, zh, latin, runs=RUNS) -> tuple[float, float, float]:
    """Median zh and Latin times and the median of per-pair ratios. Each pair runs back to back,
    so a neighbour's load landing on one half of the run skews no ratio by much."""
    pairs = [(_seconds(app, zh, "zh_CN"), _seconds(app, latin, "en")) for _ in range(runs)]
    return (statistics.median(z for z, _ in pairs), statistics.median(la for _, la in pairs),
            statistics.median(z / la for z, la in pairs))


def test_chinese_report_within_budget_of_latin(bench_app, request, monkeypatch):
    # WeasyPrint itself is compared (and patched for the no-HarfBuzz line): render in this process,
    # not through the shared renderer (its own latency is in test_memory_bench).
    monkeypatch.setitem(bench_app.config, "PDF_RENDERER", "inline")
    with bench_app.app_context():
        h = hash_password("bench-password-1")
        staff = {r: Staff.create(username=f"rb-{r}", display_name=f"Dr {r}", role=r, password_hash=h)
                 for r in ("doctor", "frontdesk")}
        zh = clinical_patient(staff, "王建国", date(1980, 6, 2), ADULT_FINDINGS, ["RES-CR", "RES-CRN", "PER-SC"])
        latin = clinical_patient(staff, "Wang Jianguo", date(1980, 6, 2), ADULT_FINDINGS, ["RES-CR", "RES-CRN", "PER-SC"])
        _paired(bench_app, zh, latin, 1)   # warm fontconfig and caches
        t_zh, t_latin, ratio = _paired(bench_app, zh, latin)
        lines = [f"zh_CN report {t_zh * 1000:.0f} ms, Latin report {t_latin * 1000:.0f} ms, "
                 f"median ratio of {RUNS} back-to-back pairs {ratio:.2f} (budget 1.5)"]
        import weasyprint.pdf.fonts as wfonts
        saved = wfonts.harfbuzz_subset
        if saved is not None:
            wfonts.harfbuzz_subset = None      # the fontTools fallback, as without libharfbuzz-subset0
            try:
                t_zh_ft, t_latin_ft, _ = _paired(bench_app, zh, latin, 1)
            finally:
                wfonts.harfbuzz_subset = saved
            lines.append(f"without HarfBuzz subsetting: zh_CN {t_zh_ft * 1000:.0f} ms, Latin {t_latin_ft * 1000:.0f} ms")
        report(request.config, "first-visit report PDF", lines)
    budget(request.config, "Chinese / Latin first-visit report PDF", ratio, f"median of {RUNS} pairs")
    assert ratio <= 1.5, lines


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def test_many_renders_do_not_grow_a_rendering_process(bench_app, request, monkeypatch):
    """Issue 5: renders in one process grow its memory by less than 10%, measured after a warm-up
    (fonts, caches and the first allocations are its normal size). Since issue 19 the web workers
    render nothing (the shared renderer does, recycled after PDF_RENDER_RECYCLE printouts): this
    is the renderer's own growth between recycles, rendered inline here so this process is it.
    The total RSS of web + worker + renderer is test_memory_bench's figure."""
    import gc
    import os

    from flask_babel import force_locale

    from portal.reports import printouts
    monkeypatch.setitem(bench_app.config, "PDF_RENDERER", "inline")
    renders = int(os.environ.get("BENCH_RENDERS", 200))
    warm_up = 25
    with bench_app.app_context():
        h = hash_password("bench-password-1")
        staff = {r: Staff.create(username=f"rm-{r}", display_name=f"Dr {r}", role=r, password_hash=h)
                 for r in ("doctor", "frontdesk")}
        patient = clinical_patient(staff, "李秀英", date(1975, 3, 9), ADULT_FINDINGS, ["RES-CR", "PER-SC"])
        with bench_app.test_request_context():
            def render(i):
                with force_locale("zh_CN" if i % 2 else "en"):
                    assert printouts.first_visit(patient, clinic_today(), None).startswith(b"%PDF")
            for i in range(warm_up):
                render(i)
            gc.collect()
            before = _rss_kib()
            started = time.perf_counter()
            for i in range(renders):
                render(i)
            elapsed = time.perf_counter() - started
            gc.collect()
            after = _rss_kib()
    growth = (after - before) / before
    report(request.config, "a rendering process's memory over many printouts", [
        f"{renders} first-visit reports (zh_CN and en alternating) in one process, {elapsed / renders * 1000:.0f} ms each",
        f"RSS after {warm_up} warm-up renders {before / 1024:.0f} MiB, after {renders} more {after / 1024:.0f} MiB: "
        f"{growth * 100:+.1f}% (budget < 10%)"])
    assert growth < 0.10, (before, after)
