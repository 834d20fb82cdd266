"""What `portal serve` becomes once it has read its options: a small supervisor that starts
gunicorn (and the Huey worker with --with-worker), passes signals on, and stops the PDF renderer
when the server stops.

It runs as a script (`python -I serve_supervisor.py`), importing neither the portal nor Flask:
it lives as long as the server, and on a 1 GB VPS the ~35 MiB of an idle Flask import is memory
the web workers and the PDF renderer need.

Usage: serve_supervisor.py RENDERER_SOCKET -- WEB_ARGV... [--also-- OTHER_ARGV...]
"""
import json
import signal
import socket
import subprocess
import sys


def stop_renderer(path: str) -> None:
    """Ask the PDF renderer to exit; else it would idle on for PDF_RENDER_IDLE_SECONDS."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sock.sendall(json.dumps({"op": "stop"}).encode() + b"\n")
            sock.recv(4096)
    except OSError:
        pass  # none running


def main(argv: list[str]) -> int:
    renderer_socket, rest = argv[0], argv[2:]
    commands, current = [], []
    for arg in rest:
        if arg == "--also--":
            commands.append(current)
            current = []
        else:
            current.append(arg)
    commands.append(current)
    children = [subprocess.Popen(command) for command in commands]
    web = children[0]

    def stop(signum, _frame):
        # A `kill` of this process (systemd, a terminal closing) must not leave orphans serving
        # old code: pass the signal on to gunicorn and the worker, which both stop gracefully.
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        web.wait()
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        stop_renderer(renderer_socket)
    return web.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
