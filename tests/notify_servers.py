"""Real local endpoints for channel tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    """A local SMS gateway. Like real providers it drops a repeat of an idempotency key it has
    already accepted. `slow_first` makes the first request wait, so a test can kill a sender mid-send."""

    def __init__(self, slow_first: float = 0.0, fail_times: int = 0):
        self.requests, self.delivered, self.lock = [], {}, threading.Lock()
        self.slow_first, self.fail_times = slow_first, fail_times
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
                self.send_response(503 if failing else 200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

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
