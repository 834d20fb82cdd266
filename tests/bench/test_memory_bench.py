"""Issue 19 / DESIGN.md: web workers plus the Huey worker (plus the PDF renderer) ≤ 600 MiB RSS
after 200 PDFs and a day of page traffic, and a PDF request no slower than 1.5× rendering in the
web worker itself. The highest total during the run (the renderer laying out a large printout:
both CJK font files mapped and copied for subsetting) is printed beside the budget.

Real processes, as a clinic runs them: `portal serve --with-worker` (gunicorn, 2 workers × 4
threads, and the Huey consumer) on the demo clinic (plus printable prescriptions, consent forms
and perio charts), driven over HTTP by four clients. A sampler reads VmRSS from /proc every
0.2 s for every process of the portal (the `portal serve` tree and the renderer, wherever it was
started from) and keeps the highest total; the budget is read right after the traffic.

Then the latency: the same printouts asked, alternately (A,B,A,B), of this server (renderer
process) and of a second one rendering in its web workers (PDF_RENDERER=inline, as before issue 19).
"""
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.bench.conftest import budget, report
from tests.conftest import PG_URL, _truncate_all

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parents[2]
PDFS = int(os.environ.get("BENCH_PDFS", 200))
PAGES_PER_PDF = 3  # "a day of page traffic": the desk and the doctors' pages between printouts
CLIENTS = 4
LATENCY_PAIRS = int(os.environ.get("BENCH_PDF_PAIRS", 40))
RSS_BUDGET_MIB = 600
IDLE_SECONDS = 10
PRINTED_BY = {"receipt": "frontdesk"}  # the role that prints each kind (the doctor otherwise)  # the bench's renderer idles out quickly, to show the memory coming back


# --- processes and their memory ----------------------------------------------------------------

def _status(pid: int) -> dict:
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    except OSError:
        pass
    return fields


def _portal_processes(root_pid: int, socket_path: str) -> dict[int, str]:
    """pid → role for the `portal serve` tree and any renderer on this portal's socket."""
    children: dict[int, list[int]] = {}
    cmdlines: dict[int, list[bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            cmdlines[pid] = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        if pid in cmdlines and pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    found |= {pid for pid, argv in cmdlines.items() if socket_path.encode() in argv}
    return {pid: _role(pid, root_pid, cmdlines[pid], cmdlines) for pid in found if pid in cmdlines}


def _role(pid, root_pid, argv, cmdlines) -> str:
    text = b" ".join(argv).decode(errors="replace")
    if pid == root_pid:
        return "portal serve"
    if "renderer.py" in text:
        return "PDF renderer"
    if "portal.cli worker" in text:
        return "Huey worker"
    if "gunicorn" in text:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        return "gunicorn master" if ppid == root_pid else "gunicorn worker"
    return text[:40]


def _rss_mib(pid: int) -> float:
    value = _status(pid).get("VmRSS", "0 kB").split()[0]
    return int(value) / 1024


class Sampler(threading.Thread):
    """Sums the RSS of the portal's processes every 0.2 s; keeps the highest total and its parts."""

    def __init__(self, root_pid, socket_path):
        super().__init__(daemon=True)
        self.root_pid, self.socket_path = root_pid, socket_path
        self.peak, self.peak_parts, self.samples = 0.0, {}, 0
        self.halt = threading.Event()

    def snapshot(self) -> dict[int, tuple[str, float]]:
        return {pid: (role, _rss_mib(pid)) for pid, role in _portal_processes(self.root_pid, self.socket_path).items()}

    def run(self):
        while not self.halt.wait(0.2):
            parts = self.snapshot()
            total = sum(rss for _, rss in parts.values())
            self.samples += 1
            if total > self.peak:
                self.peak, self.peak_parts = total, parts


def _table(parts: dict[int, tuple[str, float]]) -> list[str]:
    rows = sorted(((pid, part) for pid, part in parts.items() if part[1] > 0),  # not the exited
                  key=lambda item: (item[1][0], item[0]))
    lines = [f"    {role:<16} pid {pid:>7}  {rss:7.1f} MiB" for pid, (role, rss) in rows]
    lines.append(f"    {'total':<28}  {sum(rss for _, rss in parts.values()):7.1f} MiB")
    return lines


# --- HTTP --------------------------------------------------------------------------------------

class Browser:
    """One signed-in member of staff over a keep-alive connection."""

    def __init__(self, port: int, username: str, password: str):
        self.port, self.cookie = port, ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        page = self.get("/login").decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _ = self.post("/login", {"csrf_token": token, "username": username, "password": password})
        assert status == 303, f"sign-in as {username} failed ({status})"

    def request(self, method, path, body=None, headers=None) -> tuple[int, bytes, float]:
        headers = dict(headers or {}, Cookie=self.cookie) if self.cookie else dict(headers or {})
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # a worker closed the keep-alive connection: once more, anew
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - started
        for value in resp.headers.get_all("Set-Cookie") or []:
            if value.startswith("portal_session="):
                self.cookie = value.split(";", 1)[0]
        return resp.status, data, elapsed

    def get(self, path) -> bytes:
        status, data, _ = self.request("GET", path)
        assert status == 200, (path, status)
        return data

    def post(self, path, fields) -> tuple[int, bytes]:
        status, data, _ = self.request("POST", path, urlencode(fields),
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        return status, data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, proc: subprocess.Popen, seconds=60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


def _serve(env: dict, port: int, with_worker: bool) -> subprocess.Popen:
    argv = [sys.executable, "-m", "portal.cli", "serve"] + (["--with-worker"] if with_worker else [])
    proc = subprocess.Popen(argv, cwd=ROOT, env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(port, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the demo clinic and what it prints ----------------------------------------------------------

def _printables(env: dict) -> dict[str, list[str]]:
    """The demo clinic plus a few signed prescriptions, consent forms and perio charts; the URL of
    every kind of printout, each with several records."""
    from portal import create_app
    from portal.db import db
    from portal.models import Appointment, Bill, Patient, Staff, Visit
    from tests.bench.test_consent_bench import _signed
    from tests.bench.test_perio_bench import _exams
    from tests.bench.test_prescription_bench import _prescription
    from tests.prescription_samples import ensure_drugs
    from tests.report_fixtures import ADULT_FINDINGS, clinical_patient
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "SECRET_KEY": env["SECRET_KEY"]})
    with app.app_context():
        db.connect(reuse_if_open=True)
        staff = {s.role: s for s in Staff.select().order_by(Staff.id)}
        ensure_drugs()
        rx = [_prescription(staff, name, "无" if n % 2 else "none")
              for n, name in enumerate(("赵处方", "钱处方", "孙处方", "李处方"))]
        consents = [_signed(staff, name, "zh_CN" if n % 2 else "en")
                    for n, name in enumerate(("周同意", "吴同意", "郑同意", "王同意"))]
        perio_patients = [clinical_patient(staff, name, date(1970, 1, 1 + n), ADULT_FINDINGS, ["PER-SC"])
                          for n, name in enumerate(("冯牙周", "陈牙周", "褚牙周"))]
        exams = [exam for p in perio_patients for exam in _exams(p, staff["doctor"], 2)]
        reported = [clinical_patient(staff, name, date(1980, 6, 2), ADULT_FINDINGS,
                                     ["RES-CR", "RES-CRN", "PER-SC"]) for name in ("王建国", "Wang Jianguo", "李秀英")]
        patients = [p.code for p in Patient.select(Patient.code).order_by(Patient.id).limit(40)]
        urls = {
            "first-visit report": [f"/patients/{p.code}/reports/first-visit.pdf?lang={lang}"
                                   for p in reported for lang in ("zh_CN", "en")],
            "instructions": [f"/patients/{p.code}/reports/instructions.pdf" for p in reported],
            "quote": [f"/patients/{p.code}/reports/quote.pdf" for p in reported],
            "visit summary": [f"/visits/{v.code}/summary.pdf" for v in Visit.select().order_by(Visit.id).limit(8)],
            "appointment card": [f"/appointments/{a.code}/card.pdf" for a in Appointment.select().order_by(Appointment.id).limit(8)],
            "receipt": [f"/members/bills/{b.code}/receipt.pdf" for b in Bill.select().where(Bill.status == "paid").limit(8)],
            "prescription": [f"/prescriptions/{r.code}/print.pdf" for r in rx],
            "consent": [f"/consent-forms/{c.code}/consent.pdf" for c in consents],
            "perio chart": [f"/perio/{e.code}/print.pdf" for e in exams],
        }
        db.close()
    return {"pdfs": urls, "patients": patients}


def _pages(patients: list[str]) -> list[tuple[str, str]]:
    """A desk's and a doctor's day: home, the day and week, check-in, searches, patients and charts."""
    pages = [("frontdesk", "/"), ("frontdesk", "/schedule"), ("doctor", "/schedule/week"), ("frontdesk", "/checkin"),
             ("doctor", "/schedule/mine"), ("doctor", "/")]
    for n, code in enumerate(patients):
        pages += [("frontdesk", f"/patients/{code}"), ("doctor", f"/patients/{code}/chart"),
                  ("frontdesk", "/patients?" + urlencode({"q": "王李张刘陈"[n % 5]}))]
    return pages


def _empty_postgres() -> None:
    from portal import create_app
    from portal.db import db
    app = create_app({"DATABASE_URL": PG_URL, "SECRET_KEY": "bench"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        _truncate_all()
        db.close()


@pytest.fixture(scope="module")
def demo_clinic(template_db, tmp_path_factory):
    instance = tmp_path_factory.mktemp("memory-instance")
    if PG_URL:
        _empty_postgres()
        url = PG_URL
    else:
        shutil.copy(template_db, instance / "portal.db")
        url = f"sqlite:///{instance / 'portal.db'}"
    env = {**os.environ, "PORTAL_INSTANCE": str(instance), "DATABASE_URL": url, "SECRET_KEY": "bench-memory",
           "PDF_RENDER_IDLE_SECONDS": str(IDLE_SECONDS), "WEB_CONCURRENCY": "2", "PYTHONPATH": str(ROOT)}
    env.pop("PORTAL_TEST_NOW", None)
    subprocess.run([sys.executable, "-m", "portal.cli", "demo"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    found = _printables(env)
    yield env, found
    if PG_URL:
        _empty_postgres()


def _history_job(browser: Browser, patient: str) -> int:
    """The visit history printout, rendered by the Huey worker: ask, then poll until it is done."""
    page = browser.get(f"/patients/{patient}").decode()
    form = re.search(r'<form method="post" action="([^"]*/reports/history)"[^>]*>(.*?)</form>', page, re.S)
    if not form:
        return 0
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    status, _ = browser.post(form.group(1), fields)
    return 1 if status == 303 else 0


def test_memory_after_200_pdfs_and_a_day_of_pages(demo_clinic, request):
    from portal.config import pdf_render_socket
    env, found = demo_clinic
    socket_path = pdf_render_socket(Path(env["PORTAL_INSTANCE"]))
    pdf_urls = [u for kind in found["pdfs"].values() for u in kind]
    kinds = {u: k for k, us in found["pdfs"].items() for u in us}
    pages = _pages(found["patients"])
    port = _free_port()
    server = _serve(env, port, with_worker=True)
    try:
        sampler = Sampler(server.pid, socket_path)
        idle = sampler.snapshot()
        time.sleep(1.0)
        idle = sampler.snapshot()
        sampler.start()
        password = env.get("PORTAL_DEMO_PASSWORD", "demo-pass-2026")
        # each client: a doctor (pages, clinical printouts) and the desk (receipts need billing)
        browsers = [{"doctor": Browser(port, doctor, password), "frontdesk": Browser(port, "frontdesk", password)}
                    for doctor in ("doctor", "doctor2", "doctor", "doctor2")[:CLIENTS]]
        plan = [(n % CLIENTS, pdf_urls[n % len(pdf_urls)], [pages[(n * PAGES_PER_PDF + i) % len(pages)]
                                                             for i in range(PAGES_PER_PDF)]) for n in range(PDFS)]
        times: dict[str, list[float]] = {}
        jobs = 0
        started = time.perf_counter()

        def client(c):
            nonlocal jobs
            for n, (who, pdf, visit) in enumerate(plan):
                if who != c:
                    continue
                for role, path in visit:
                    browsers[c][role].get(path)
                status, data, elapsed = browsers[c][PRINTED_BY.get(kinds[pdf], "doctor")].request("GET", pdf)
                assert status == 200 and data.startswith(b"%PDF-"), (pdf, status, data[:200])
                times.setdefault(kinds[pdf], []).append(elapsed)
                if n % 50 == 0:
                    jobs += _history_job(browsers[c]["doctor"], found["patients"][n % len(found["patients"])])
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
        wall = time.perf_counter() - started
        time.sleep(3)  # the history jobs finish in the worker
        after = sampler.snapshot()
        deadline = time.monotonic() + IDLE_SECONDS + 15
        while time.monotonic() < deadline and any(role == "PDF renderer" for role, _ in sampler.snapshot().values()):
            time.sleep(0.5)
        rested = sampler.snapshot()
        sampler.halt.set()
        sampler.join()
    finally:
        _stop(server)
    peak = sampler.peak
    lines = [f"{PDFS} PDFs ({len(found['pdfs'])} kinds) + {PDFS * PAGES_PER_PDF} pages by {CLIENTS} clients "
             f"in {wall:.1f} s ({PDFS / wall:.1f} PDFs/s with the pages), {jobs} visit-history jobs in the worker; "
             f"{sampler.samples} samples",
             "  idle, before any request:", *_table(idle),
             f"  highest total during the run ({peak:.0f} MiB):", *_table(sampler.peak_parts),
             "  right after the run:", *_table(after),
             f"  after the renderer's idle time ({IDLE_SECONDS} s):", *_table(rested),
             "  PDF request, median ms by kind (under load): " + ", ".join(
                 f"{k} {statistics.median(v) * 1000:.0f}" for k, v in sorted(times.items()))]
    report(request.config, "memory: web + worker + PDF renderer (RSS from /proc)", lines)
    # The budget is the server after the traffic, the renderer still up (it has not idled out);
    # the highest total seen during the run (a large printout being laid out) is reported beside it.
    total_after = sum(rss for _, rss in after.values())
    budget(request.config, "RSS after 200 PDFs (web + worker)", total_after,
           f"every portal process, the renderer included; highest total during the run {peak:.0f} MiB")
    assert len(sum(times.values(), [])) == PDFS
    assert any(role == "PDF renderer" for role, _ in after.values()), "measured after the renderer had gone"
    assert total_after <= RSS_BUDGET_MIB, lines


def test_pdf_latency_against_rendering_in_the_web_worker(demo_clinic, request):
    env, found = demo_clinic
    pdf_urls = [us[0] for us in found["pdfs"].values()] + [us[-1] for us in found["pdfs"].values()]
    port_a, port_b = _free_port(), _free_port()
    renderer_server = _serve(env, port_a, with_worker=False)
    inline_server = _serve({**env, "PDF_RENDERER": "inline"}, port_b, with_worker=False)
    try:
        password = env.get("PORTAL_DEMO_PASSWORD", "demo-pass-2026")
        a, b = ({role: Browser(port, role, password) for role in ("doctor", "frontdesk")} for port in (port_a, port_b))
        kinds = {u: k for k, us in found["pdfs"].items() for u in us}
        for _ in range(2):  # warm both: the first render in a process scans fonts
            for url in pdf_urls:
                for side in (a, b):
                    side[PRINTED_BY.get(kinds[url], "doctor")].request("GET", url)
        pairs = []
        for n in range(LATENCY_PAIRS):
            url = pdf_urls[n % len(pdf_urls)]
            first, second = (a, b) if n % 2 == 0 else (b, a)  # A,B then B,A: neither always goes first
            results = {}
            for side in (first, second):
                status, data, elapsed = side[PRINTED_BY.get(kinds[url], "doctor")].request("GET", url)
                assert status == 200 and data.startswith(b"%PDF-"), (url, status)
                results[side is a] = elapsed
            pairs.append((results[True], results[False]))
    finally:
        _stop(renderer_server)
        _stop(inline_server)
    t_process = statistics.median(p for p, _ in pairs)
    t_inline = statistics.median(i for _, i in pairs)
    ratio = statistics.median(p / i for p, i in pairs)
    mean_ratio = sum(p for p, _ in pairs) / sum(i for _, i in pairs)
    report(request.config, "PDF request: renderer process vs rendering in the web worker", [
        f"{LATENCY_PAIRS} pairs over {len(pdf_urls)} printouts (recycling every "
        f"{env.get('PDF_RENDER_RECYCLE', 50)} renders included): median {t_process * 1000:.0f} ms vs "
        f"{t_inline * 1000:.0f} ms in-process; median of pair ratios {ratio:.2f}, ratio of totals {mean_ratio:.2f} (budget 1.5)"])
    assert ratio <= 1.5 and mean_ratio <= 1.5, (t_process, t_inline, ratio, mean_ratio)
