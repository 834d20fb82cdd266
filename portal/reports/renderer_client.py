"""Asking the renderer process (portal/reports/renderer.py) for a PDF.

Every process of the portal that prints (gunicorn's web workers, the Huey worker, tests) shares
one renderer through its Unix socket. When none is listening, the first process to notice starts
one under a file lock (the others wait on the lock, then use it). When the renderer dies with a
printout in hand (killed, crashed, out of memory), the printout is asked again of a fresh
renderer, once; a renderer that does not answer within the timeout is killed so that the next
printout gets a fresh one, and this printout fails with RendererUnavailable.
"""
import fcntl
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from portal.reports import renderer

log = logging.getLogger(__name__)
RENDERER_SCRIPT = Path(renderer.__file__).resolve()
START_TIMEOUT = 60.0  # a fresh interpreter, WeasyPrint's imports and fontconfig's scan, on a loaded VPS
# A printout is asked again when its renderer goes away without answering: it was killed or
# crashed, or it retired (recycled, idle) with the printout still queued. Three tries: a queued
# printout refused by a retiring renderer, then a crash of its successor, still get an answer.
ATTEMPTS = 3
_started: list[subprocess.Popen] = []  # renderers this process started: reaped when they exit


class RendererUnavailable(Exception):
    """The renderer could not be started, died twice, or did not answer in time."""


class RenderFailed(Exception):
    """The renderer answered, but WeasyPrint could not render this HTML."""


@dataclass(frozen=True)
class Settings:
    socket_path: str
    recycle_after: int = 50
    idle_seconds: float = 120.0
    timeout: float = 60.0

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(socket_path=str(config["PDF_RENDER_SOCKET"]), recycle_after=int(config["PDF_RENDER_RECYCLE"]),
                   idle_seconds=float(config["PDF_RENDER_IDLE_SECONDS"]), timeout=float(config["PDF_RENDER_TIMEOUT"]))


def render(html: str, settings: Settings, base_url: str = renderer.BASE_URL) -> bytes:
    """PDF bytes of `html`, rendered by the shared renderer process."""
    body = html.encode("utf-8")
    header = {"op": "render", "size": len(body), "base_url": base_url}
    for attempt in range(1, ATTEMPTS + 1):
        sock = _connect_or_start(settings)
        try:
            answer, pdf = _exchange(sock, header, body, settings.timeout)
        except socket.timeout:
            _kill_stuck(settings.socket_path)
            raise RendererUnavailable(f"no PDF within {settings.timeout:g} s") from None
        except (ConnectionError, ValueError) as exc:
            # Died with our printout in hand (or retired under us): a fresh renderer, once.
            log.warning("PDF renderer went away (%s); attempt %d", type(exc).__name__, attempt)
            continue
        finally:
            sock.close()
        if not answer.get("ok"):
            raise RenderFailed(answer.get("error", "unknown error"))
        return pdf
    raise RendererUnavailable(f"the PDF renderer went away {ATTEMPTS} times with this printout")


def ping(settings: Settings) -> dict | None:
    """The running renderer's pid and render count; None when none is listening."""
    try:
        sock = _connect(settings.socket_path)
    except OSError:
        return None
    try:
        return _exchange(sock, {"op": "ping"}, b"", 5.0)[0]
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


def stop(settings: Settings) -> bool:
    """Ask the running renderer to finish what is queued and exit (`portal serve` stopping)."""
    try:
        sock = _connect(settings.socket_path)
    except OSError:
        return False
    try:
        _exchange(sock, {"op": "stop"}, b"", 5.0)
        return True
    except (OSError, ValueError):
        return False
    finally:
        sock.close()


# --- inside ---------------------------------------------------------------------------------------

def _exchange(sock: socket.socket, header: dict, body: bytes, timeout: float) -> tuple[dict, bytes]:
    sock.settimeout(timeout)
    renderer.send(sock, header, body)
    with sock.makefile("rb") as stream:
        answer = renderer.read_header(stream)
        if answer is None:
            raise ConnectionError("the renderer closed the connection without answering")
        data = renderer.read_body(stream, int(answer.get("size", 0))) if answer.get("ok") else b""
    return answer, data


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def _connect_or_start(settings: Settings) -> socket.socket:
    try:
        return _connect(settings.socket_path)
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    Path(settings.socket_path).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{settings.socket_path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter; the others find its renderer listening
        try:
            return _connect(settings.socket_path)
        except (FileNotFoundError, ConnectionRefusedError):
            _start(settings)
        try:
            return _connect(settings.socket_path)
        except OSError as exc:
            raise RendererUnavailable(f"the PDF renderer started but cannot be reached: {exc}") from exc


def _start(settings: Settings) -> None:
    global _started
    _started = [p for p in _started if p.poll() is None]  # reap those that retired
    # A fresh interpreter (posix_spawn/vfork + exec): nothing of this process's memory is copied.
    # -I: the renderer imports WeasyPrint and its own module only, whatever the environment says.
    # No stdout/stderr of ours: a renderer idling after its starter has gone must not hold the
    # starter's terminal or pipe open. Errors reach the client in the answers.
    proc = subprocess.Popen(
        [sys.executable, "-I", str(RENDERER_SCRIPT), "--socket", settings.socket_path,
         "--recycle", str(settings.recycle_after), "--idle", str(settings.idle_seconds)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
    _started.append(proc)
    deadline = time.monotonic() + START_TIMEOUT
    with proc.stdout:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if ready:
                if proc.stdout.readline().strip() == b"ready":
                    log.info("PDF renderer started (pid %d)", proc.pid)
                    return
                break  # exited before it was ready
    proc.kill()
    raise RendererUnavailable("the PDF renderer did not start (is WeasyPrint installed? try `portal check`)")


def _kill_stuck(socket_path: str) -> None:
    """Kill the renderer that did not answer, if the pid file still names a renderer on our socket."""
    try:
        pid = int(Path(f"{socket_path}.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if str(RENDERER_SCRIPT).encode() in cmdline and socket_path.encode() in cmdline:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.warning("PDF renderer %d killed after not answering", pid)
