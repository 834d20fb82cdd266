"""Issue 19: WeasyPrint renders in one shared renderer process, not in the web workers.

The suite's printouts all go through the real renderer: the test config's socket is in the
session's instance folder (PORTAL_INSTANCE), so one warm renderer serves the whole run. The tests
below that recycle, kill or replace a renderer use a socket of their own."""
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from portal.reports import renderer_client as client
from portal.reports.renderer import render_here
from tests.report_fixtures import demo_adult

HTML = '<p>Printout {n}: 王建国 — Wang Jianguo</p><link rel="stylesheet" href="http://example.com/x.css">'


@pytest.fixture()
def own_renderer(tmp_path):
    """Settings for a renderer on a socket of this test's own; stopped (or killed) afterwards."""
    made = []

    def make(**kw):
        settings = client.Settings(socket_path=str(tmp_path / "r.sock"), **{"timeout": 30.0, **kw})
        made.append(settings)
        return settings
    yield make
    for settings in made:
        client.stop(settings)
        for pid in _renderer_pids(settings):
            os.kill(pid, signal.SIGKILL)


def _renderer_pids(settings) -> list[int]:
    """Renderer processes on this socket, from /proc (whoever started them)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
            except (OSError, StopIteration):
                continue
            if settings.socket_path.encode() in cmdline and str(client.RENDERER_SCRIPT).encode() in cmdline \
                    and " Z " not in state + " ":
                pids.append(int(entry.name))
    return pids


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_printout_request_is_rendered_by_the_shared_renderer(app, staff, as_role):
    adult = demo_adult(staff)
    resp = as_role("doctor").get(f"/patients/{adult.code}/reports/first-visit.pdf?lang=zh_CN")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    settings = client.Settings.from_config(app.config)
    assert app.config["PDF_RENDERER"] == "process"
    running = client.ping(settings)
    assert running and running["pid"] != os.getpid() and running["renders"] >= 1
    assert _renderer_pids(settings) == [running["pid"]]


def test_the_renderer_makes_the_same_pdf_as_weasyprint_in_process(own_renderer):
    settings = own_renderer()
    html = HTML.format(n=1)
    from_process = client.render(html, settings)
    here = render_here(html)
    assert from_process.startswith(b"%PDF-") and from_process.rstrip().endswith(b"%%EOF")
    # Same document but for the PDF's random file identifier.
    assert abs(len(from_process) - len(here)) < 100


def test_the_renderer_recycles_after_n_printouts(own_renderer):
    settings = own_renderer(recycle_after=2)
    pids = []
    for n in range(5):
        assert client.render(HTML.format(n=n), settings).startswith(b"%PDF-")
        running = client.ping(settings)
        pids.append(running["pid"] if running else None)
    # after 2 renders a renderer retires (off the socket at once; a ping already queued is still
    # answered); the next printout starts a fresh one
    first, second, third = pids[0], pids[2], pids[4]
    assert pids[1] in (first, None) and pids[3] in (second, None), pids
    assert len({first, second, third}) == 3, pids
    assert _wait_until(lambda: not _renderer_pids(settings) or _renderer_pids(settings) == [third])


def test_an_idle_renderer_exits_and_gives_its_memory_back(own_renderer):
    settings = own_renderer(idle_seconds=0.5)
    client.render(HTML.format(n=1), settings)
    assert _wait_until(lambda: not _renderer_pids(settings))
    assert not Path(settings.socket_path).exists()
    assert client.render(HTML.format(n=2), settings).startswith(b"%PDF-")  # started again on demand


def test_a_killed_renderer_is_replaced(own_renderer):
    settings = own_renderer()
    client.render(HTML.format(n=1), settings)
    dead = client.ping(settings)["pid"]
    os.kill(dead, signal.SIGKILL)
    assert _wait_until(lambda: dead not in _renderer_pids(settings))
    assert client.render(HTML.format(n=2), settings).startswith(b"%PDF-")
    assert client.ping(settings)["pid"] != dead


def _dying_renderer(path: str, times: int):
    """A renderer that takes `times` printouts and dies with each in hand (closes without an
    answer), then leaves the socket as a killed process would."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)

    def run():
        for left in range(times, 0, -1):
            conn, _ = listener.accept()
            conn.recv(65536)
            if left == 1:
                listener.close()  # the file stays: a stale socket, as after a SIGKILL
            conn.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_renderer_dying_with_the_printout_in_hand_is_replaced_and_the_request_answers(own_renderer):
    settings = own_renderer()
    dying = _dying_renderer(settings.socket_path, times=1)
    assert client.render(HTML.format(n=1), settings).startswith(b"%PDF-")
    dying.join(5)
    assert len(_renderer_pids(settings)) == 1  # a real one took over the socket


def test_a_renderer_that_keeps_dying_gives_a_clear_error_page(app, staff, as_role, tmp_path):
    path = str(tmp_path / "d.sock")
    adult = demo_adult(staff)
    app.config["PDF_RENDER_SOCKET"] = path
    _dying_renderer(path, times=client.ATTEMPTS)
    # the stale socket is replaced only after a connection is refused: here every attempt gets in
    resp = as_role("doctor").get(f"/patients/{adult.code}/reports/first-visit.pdf?lang=en")
    assert resp.status_code == 503 and resp.mimetype == "text/html"
    assert "The printout could not be made" in resp.get_data(as_text=True)


def test_a_renderer_that_does_not_answer_times_out(own_renderer):
    settings = own_renderer(timeout=0.5)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(settings.socket_path)
    listener.listen(4)  # accepts into the backlog, never answers
    try:
        started = time.monotonic()
        with pytest.raises(client.RendererUnavailable):
            client.render(HTML.format(n=1), settings)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_a_client_speaking_nonsense_does_not_stop_the_renderer(own_renderer):
    settings = own_renderer()
    client.render(HTML.format(n=1), settings)
    pid = client.ping(settings)["pid"]
    oversized = client.renderer.MAX_HEADER
    # a header the renderer refuses to read: it drops the connection, stays up and serves the next
    sock = client._connect(settings.socket_path)
    sock.sendall(b"x" * (oversized + 10))
    sock.close()
    assert client.render(HTML.format(n=2), settings).startswith(b"%PDF-")
    assert client.ping(settings)["pid"] == pid


def test_sixteen_printouts_at_once_start_one_renderer(own_renderer):
    settings = own_renderer()
    barrier = threading.Barrier(16)

    def one(n):
        barrier.wait()
        return client.render(HTML.format(n=n), settings)
    with ThreadPoolExecutor(16) as pool:
        pdfs = list(pool.map(one, range(16)))
    assert all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    assert len(_renderer_pids(settings)) == 1
    assert client.ping(settings)["renders"] == 16


def test_the_socket_lives_in_the_instance_folder_unless_too_long(tmp_path):
    from portal.config import pdf_render_socket
    assert pdf_render_socket(tmp_path) == str(tmp_path.resolve() / "pdf-renderer.sock")
    deep = tmp_path / ("x" * 120)
    fallback = pdf_render_socket(deep)
    assert len(fallback.encode()) <= 100 and fallback != pdf_render_socket(tmp_path / ("y" * 120))
