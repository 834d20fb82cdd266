"""How late a due reminder leaves when two worker nodes share the queue: two real `portal worker`
processes (2 threads each; one runs the periodic tasks, the other `--no-periodic`, as a deployment
of several nodes runs them), on PostgresHuey and on RedisHuey, against a real local SMS gateway.
(SqliteHuey serves one node with one worker: tests/bench/test_schedule_bench.py measures that.)

Budget (DESIGN.md): p99 ≤ 2 s from due time to the gateway, for 60 reminders falling due together
and for lone ones falling due after the workers sat idle (an idle poller backs off).
PostgresHuey runs when DATABASE_URL is PostgreSQL (its queue goes in that server's test database),
RedisHuey when HUEY_URL is redis://.
"""
import os
import statistics
import time
from datetime import datetime, timedelta

import pytest

from portal.jobs import huey, make_huey
from portal.models import Staff, utcnow
from portal.notify import outbox
from tests import factories
from tests.bench.conftest import budget, report
from tests.conftest import PG_URL
from tests.notify_servers import Gateway
from tests.worker_nodes import WorkerProcess

pytestmark = pytest.mark.bench

TOGETHER, LONE, IDLE_SECONDS = 60, 3, 12.0
REDIS_URL = os.environ.get("HUEY_URL", "") if os.environ.get("HUEY_URL", "").startswith("redis") else ""


def _queue_url(backend: str) -> str:
    return {"PostgresHuey": PG_URL, "RedisHuey": REDIS_URL}[backend]


class ArrivalGateway(Gateway):
    """The local SMS gateway, noting when each key first arrived."""

    def __init__(self):
        super().__init__()
        self.arrived: dict[str, float] = {}
        handler = self.server.RequestHandlerClass
        forward, arrived = handler.do_POST, self.arrived

        def do_post(request):
            at = time.time()
            forward(request)
            arrived.setdefault(request.headers.get("Idempotency-Key"), at)
        handler.do_POST = do_post


def _send_at(app, patient, due: dict[str, datetime]) -> None:
    """Queue reminders due at these times and dispatch them, as a booking does on a web node."""
    with app.app_context():
        ids = [outbox.queue(patient, "reminder_hours_before", when, key, app.config,
                            context={"start": "2030-01-01T09:00"}) for key, when in due.items()]
        outbox.dispatch(ids)


def _wait_for(gateway, keys, seconds) -> None:
    deadline = time.time() + seconds
    while not set(keys) <= set(gateway.arrived) and time.time() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["PostgresHuey", "RedisHuey"])
def test_due_reminders_leave_within_two_seconds_with_two_worker_nodes(bench_app, clock, tmp_path, request,
                                                                      monkeypatch, backend):
    url = _queue_url(backend)
    if not url:
        pytest.skip(f"{backend} needs {'DATABASE_URL=postgresql://…' if backend == 'PostgresHuey' else 'HUEY_URL=redis://…'}")
    queue = make_huey(url)
    assert type(queue).__name__ == backend
    queue.flush()  # nothing left from an earlier run in this queue
    gateway = ArrivalGateway()
    env = {"DATABASE_URL": bench_app.config["DATABASE_URL"], "HUEY_URL": url, "SMS_GATEWAY_URL": gateway.url,
           "PORTAL_INSTANCE": str(tmp_path), "QUIET_FROM": "00:00", "QUIET_UNTIL": "00:00"}
    nodes = [WorkerProcess(clock, tmp_path / "periodic.log", env, "--workers", "2"),
             WorkerProcess(clock, tmp_path / "extra.log", env, "--workers", "2", "--no-periodic")]
    bench_app.config.update(SMS_GATEWAY_URL=gateway.url, QUIET_HOURS=("00:00", "00:00"))
    monkeypatch.setattr(huey, "immediate", False)  # the web side enqueues into the same queue
    monkeypatch.setattr(huey, "storage", queue.storage)
    desk = Staff.get_or_none(Staff.username == "nodes-desk") or Staff.create(
        username="nodes-desk", display_name="Desk", role="frontdesk", password_hash="x")
    patient = factories.patient(desk, name="准时", consents={"reminders": True})
    run = f"{backend}:{time.time():.0f}"
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.wait_started()
        time.sleep(1)  # their start-up sweeps have looked
        base = utcnow()
        due = {f"{run}:{i}": base + timedelta(seconds=1 + i * 0.1) for i in range(TOGETHER)}
        _send_at(bench_app, patient, due)
        _wait_for(gateway, due, 30)
        # The usual case in a clinic: a reminder queued long before, falling due while both
        # workers sit idle.
        base = utcnow()
        lone = {f"{run}:lone:{i}": base + timedelta(seconds=IDLE_SECONDS * (i + 1)) for i in range(LONE)}
        _send_at(bench_app, patient, lone)
        _wait_for(gateway, lone, IDLE_SECONDS * LONE + 15)
    finally:
        for node in nodes:
            node.stop()
        gateway.close()
    epoch = datetime(1970, 1, 1)

    def lateness(keys: dict) -> list[float]:
        return sorted(gateway.arrived.get(k, float("inf")) - (when - epoch).total_seconds() for k, when in keys.items())

    together, alone = lateness(due), lateness(lone)
    p99 = together[min(len(together) - 1, int(0.99 * (len(together) - 1)))]
    repeats = {k: n for k, n in gateway.repeats().items() if k.startswith(run)}
    shared = all("Executing tasks.portal.send_message" in node.log() for node in nodes)
    report(request.config, f"reminder latency, two worker nodes on {backend}", [
        f"{TOGETHER} reminders due 1–7 s ahead: p50 {statistics.median(together):.2f} s, "
        f"p99 {p99:.2f} s late (budget 2 s)",
        f"{LONE} lone reminders, each due after {IDLE_SECONDS:.0f} s idle: "
        + ", ".join(f"{v:.2f} s" for v in alone) + " late",
        f"sent twice: {len(repeats)}; both nodes sent: {'yes' if shared else 'no'}"])
    if backend == "PostgresHuey":
        budget(request.config, "due reminder lateness p99, two workers on PostgresHuey", max(p99, max(alone)),
               "60 due together and 3 after idling")
    assert repeats == {}
    assert p99 <= 2.0, together
    assert max(alone) <= 2.0, alone
    assert "Enqueueing periodic task" not in nodes[1].log()
