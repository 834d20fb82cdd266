"""The PDF renderer: WeasyPrint, in a process of its own.

WeasyPrint's caches and allocations grow a process by ~300 MiB once it has rendered printouts;
in a web worker that memory stays for the worker's life. So the web workers (and the Huey
worker) send the printout's HTML to ONE renderer process over a Unix socket and get PDF bytes
back (portal/reports/renderer_client.py). The renderer:

- is started on demand by the first process that needs it, as a fresh interpreter (`python -I
  renderer.py`: no fork of a big web worker, and none of the portal or Flask imported here);
- renders one printout at a time (others wait in the socket's backlog);
- retires after `--recycle` renders or `--idle` seconds without work, giving its memory back:
  it unlinks its socket (the next printout starts a fresh renderer) and exits; printouts queued
  behind the last one are refused and their clients ask the fresh renderer;
- fetches only files under portal/static and data: URIs (`StaticOnlyFetcher`), never the network.

Wire format, both ways: one JSON header line, then the body (`size` bytes).
Request {"op": "render", "size": n, "base_url": u} + HTML (UTF-8) → {"ok": true, "size": n} + PDF,
or {"ok": false, "error": "…"}. {"op": "ping"} and {"op": "stop"} carry no body.

Fonts come from fontconfig (Noto Sans CJK); WeasyPrint subsets them with HarfBuzz when
libharfbuzz-subset is present. One FontConfiguration per process: fontconfig's scan is done once.
"""
import gc
import json
import mimetypes
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATIC_ROOT = (Path(__file__).resolve().parent.parent / "static").resolve()
BASE_URL = STATIC_ROOT.as_uri() + "/"
MAX_HEADER = 64 * 1024
_local = threading.local()


# --- what a printout may load --------------------------------------------------------------------

class FetchRefused(Exception):
    """A printout asked for something outside the app's static files."""


def _static_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise FetchRefused(url)
        path = Path(unquote(parts.path))
    elif parts.scheme == "" and parts.path.startswith("/static/"):
        path = STATIC_ROOT / unquote(parts.path[len("/static/"):])
    else:
        raise FetchRefused(url)
    resolved = path.resolve()
    if resolved != STATIC_ROOT and STATIC_ROOT not in resolved.parents:
        raise FetchRefused(url)
    if not resolved.is_file():
        raise FetchRefused(url)
    return resolved


def fetch_static(url: str) -> tuple[bytes, str]:
    """(body, mime type) of an allowed URL; FetchRefused for anything else."""
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher
        result = default_url_fetcher(url)
        return result["string"], result.get("mime_type", "")
    path = _static_path(url)
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            body, mime = fetch_static(url)
            return URLFetcherResponse(url, body, headers={"Content-Type": mime})
    return StaticOnlyFetcher


def url_fetcher():
    if not hasattr(_local, "fetcher"):
        _local.fetcher = _fetcher_class()()
    return _local.fetcher


def font_config():
    if not hasattr(_local, "fonts"):
        from weasyprint.text.fonts import FontConfiguration
        _local.fonts = FontConfiguration()
    return _local.fonts


def render_here(html: str, base_url: str = BASE_URL) -> bytes:
    """HTML → PDF in this process."""
    from weasyprint import HTML
    return HTML(string=html, base_url=base_url, url_fetcher=url_fetcher()).write_pdf(font_config=font_config())


# --- the wire ------------------------------------------------------------------------------------

def read_header(stream) -> dict | None:
    line = stream.readline(MAX_HEADER)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise ValueError("header too long or cut off")
    return json.loads(line)


def read_body(stream, size: int) -> bytes:
    body = stream.read(size)
    if len(body) != size:
        raise ConnectionError("the other side closed mid-message")
    return body


def send(sock: socket.socket, header: dict, body: bytes = b"") -> None:
    sock.sendall(json.dumps(header).encode() + b"\n" + body)


# --- the process ---------------------------------------------------------------------------------

def _give_back_memory() -> None:
    """After a render: collect its layout's reference cycles now (boxes point to their parents),
    not when the collector's thresholds happen to be met during the next, larger render; then
    return the freed heap pages to the system (glibc keeps them otherwise)."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Renderer:
    def __init__(self, socket_path: str, recycle_after: int, idle_seconds: float):
        self.path = socket_path
        self.recycle_after = max(1, recycle_after)
        self.idle_seconds = idle_seconds
        self.renders = 0
        self.retiring = False

    def listen(self) -> None:
        """Bind beside the final path and rename into place, so a client never connects to a
        half-made socket and a stale one (from a killed renderer) is replaced atomically."""
        staging = f"{self.path}.{os.getpid()}"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # only the portal's own user may ask for printouts
        try:
            self.listener.bind(staging)
        finally:
            os.umask(old_umask)
        self.listener.listen(128)
        os.replace(staging, self.path)
        self.inode = os.stat(self.path).st_ino
        Path(f"{self.path}.pid").write_text(str(os.getpid()))

    def unlink(self) -> None:
        """Take our socket (and pid file) off the path, unless a successor's is already there."""
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
                pid_file = Path(f"{self.path}.pid")
                if pid_file.read_text().strip() == str(os.getpid()):
                    pid_file.unlink()
        except (FileNotFoundError, ValueError):
            pass

    def serve_forever(self) -> None:
        self.listener.settimeout(self.idle_seconds)
        while not self.retiring:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                break  # idle: give the memory back
            self.answer(conn)
        self.retire()

    def retire(self) -> None:
        """Off the path first (new printouts start a successor), then close at once: printouts
        queued in the backlog are refused and asked again of the successor (no work was done on
        them), so two renderers never hold their memory side by side for long."""
        self.retiring = True
        self.unlink()
        self.listener.close()

    def answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            try:
                header = read_header(stream)
                if header is None:
                    return
                op = header.get("op")
                if op == "ping":
                    send(conn, {"ok": True, "pid": os.getpid(), "renders": self.renders})
                elif op == "stop":
                    self.retiring = True
                    send(conn, {"ok": True, "pid": os.getpid()})
                elif op == "render":
                    html = read_body(stream, int(header["size"])).decode("utf-8")
                    try:
                        pdf = render_here(html, header.get("base_url") or BASE_URL)
                    except Exception as exc:  # the printout's own fault: tell the client, keep serving
                        send(conn, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]})
                    else:
                        send(conn, {"ok": True, "size": len(pdf), "pid": os.getpid()}, pdf)
                    finally:
                        self.renders += 1
                        _give_back_memory()
                        if self.renders >= self.recycle_after:
                            self.retiring = True
                else:
                    send(conn, {"ok": False, "error": f"unknown op {op!r}"})
            except (OSError, ValueError):
                pass  # the client went away or spoke nonsense: nothing to answer


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="The portal's PDF renderer (started by the portal itself).")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--recycle", type=int, default=50)
    parser.add_argument("--idle", type=float, default=120)
    args = parser.parse_args(argv)

    renderer = Renderer(args.socket, args.recycle, args.idle)

    def stop(_signum, _frame):
        renderer.unlink()
        os._exit(0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)

    font_config()  # fontconfig's scan before the first printout is waited for
    renderer.listen()
    # The starter waits for this line; afterwards nothing is written to its pipe.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    renderer.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
