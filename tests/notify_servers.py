"""Real local endpoints for channel tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    """A local SMS gateway. Like real providers it drops a repeat of an idempotency key it has
    already accepted. `slow_first` makes the first request wait, so a test can kill a sender mid-send;
    `delay` makes every request take that long (a slow provider). `requests` is every attempt, so a
    test counts duplicates there: `delivered` has already dropped them, as a real provider would."""

    def __init__(self, slow_first: float = 0.0, fail_times: int = 0, delay: float = 0.0):
        self.requests, self.delivered, self.lock = [], {}, threading.Lock()
        self.slow_first, self.fail_times, self.delay = slow_first, fail_times, delay
        self.received = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
                key = self.headers.get("Idempotency-Key", "")
                with gateway.lock:
                    gateway.requests.append({"key": key, "body": json.loads(body), "auth": self.headers.get("Authorization")})
                    first = len(gateway.requests) == 1
                    failing = gateway.fail_times > 0
                    if failing:
                        gateway.fail_times -= 1
                    elif key not in gateway.delivered:
                        gateway.delivered[key] = json.loads(body)
                gateway.received.set()
                if first and gateway.slow_first:
                    time.sleep(gateway.slow_first)
                if gateway.delay:
                    time.sleep(gateway.delay)
                try:
                    self.send_response(503 if failing else 200)
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except (BrokenPipeError, ConnectionResetError):  # the sender was killed mid-request
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def repeats(self) -> dict:
        """Keys the gateway was asked to send more than once, with how often."""
        with self.lock:
            keys = [r["key"] for r in self.requests]
        return {k: keys.count(k) for k in set(keys) if keys.count(k) > 1}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append(envelope)
                return "250 OK"

        with socket.socket() as probe:  # a free port: the controller checks it can connect to itself
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()
