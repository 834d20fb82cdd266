"""The outbox at full size (issue 12): 120 messages due at once through a gateway taking 5 s each,
a 20 s lease, a real `portal worker` (4 threads: send tasks and the minute's sweeps side by side),
once left alone and once killed six times mid-send.

- Left alone: 120 delivered, none sent twice (sending them all takes 150 s, over seven leases).
- Killed six times: none missed; a message is sent again only if it was claimed when the worker
  died (the same key, which the gateway drops).

`make bench` runs the full size (10 minutes or so); the sizes scale through the environment, e.g.
`BENCH_OUTBOX_MESSAGES=24 BENCH_OUTBOX_SEND_SECONDS=0.5 BENCH_OUTBOX_LEASE=2 BENCH_OUTBOX_KILLS=3
pytest -m bench tests/bench/test_outbox_lease_bench.py` for a quick look. The scaled-down twin that
runs in `make test` is tests/test_outbox_lease.py.
"""
import os
import time

import pytest

from portal.jobs import huey, make_huey
from portal.models import OutboxMessage
from tests.bench.conftest import report, size
from tests.notify_servers import Gateway
from tests.test_outbox_lease import make_due
from tests.worker_nodes import WorkerProcess

MESSAGES = size("BENCH_OUTBOX_MESSAGES", 120, 24)
SEND_SECONDS = float(os.environ.get("BENCH_OUTBOX_SEND_SECONDS", 5))
LEASE = int(os.environ.get("BENCH_OUTBOX_LEASE", 20))
KILLS = int(os.environ.get("BENCH_OUTBOX_KILLS", 6))
THREADS = 4

pytestmark = pytest.mark.bench


class Worker(WorkerProcess):
    """A real `portal worker` on the test's clock, its database, its own queue and the gateway."""

    def __init__(self, app, clock, tmp_path, gateway):
        self.huey_url = f"sqlite:///{tmp_path / 'huey.db'}"
        super().__init__(clock, tmp_path / "worker.log",
                         {"DATABASE_URL": app.config["DATABASE_URL"], "HUEY_URL": self.huey_url,
                          "SMS_GATEWAY_URL": gateway.url, "OUTBOX_LEASE_SECONDS": str(LEASE),
                          "PORTAL_INSTANCE": str(tmp_path)},
                         "--workers", str(THREADS))

    def start(self):
        super().start()
        time.sleep(3)  # up, and its start-up sweep has looked

    def enqueue(self, *task_calls):
        queue = make_huey(self.huey_url)
        for call in task_calls:
            queue.storage.enqueue(huey.serialize_task(call))

    def dispatch(self, ids):
        """What outbox.dispatch() does in the web process: one send task per message."""
        import tasks
        self.enqueue(*(tasks.send_message.s(message_id) for message_id in ids))

    def sweep(self):
        """The minute's sweep (at full size the real ones come round too, every minute)."""
        import tasks
        self.enqueue(tasks.sweep_outbox.s())

    def stop(self):
        super().stop(30)


def _unsent(ids) -> int:
    return OutboxMessage.select().where(OutboxMessage.id.in_(ids), OutboxMessage.status != "sent").count()


def _wait_all_sent(ids, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and _unsent(ids):
        time.sleep(0.5)


def _run(app, clock, tmp_path, kills: int):
    if not app.config["DATABASE_URL"].startswith("sqlite") and not os.environ.get("DATABASE_URL"):
        pytest.skip("needs the database the worker can reach")
    gateway = Gateway(delay=SEND_SECONDS)
    worker = Worker(app, clock, tmp_path, gateway)
    stuck: dict[str, int] = {}  # key -> kills it was claimed at
    started = time.time()
    try:
        worker.start()
        ids = make_due(MESSAGES, "bench")
        worker.sweep()  # a sweep starts on the backlog, the send tasks run beside it …
        worker.dispatch(ids)
        time.sleep(LEASE * 1.25)
        worker.sweep()  # … and the next sweep starts while the first is still sending
        serial = MESSAGES * SEND_SECONDS
        for _ in range(kills):  # spread over the first half of the run, each one mid-send
            time.sleep(serial / THREADS / 2 / kills)
            worker.kill()
            for row in OutboxMessage.select(OutboxMessage.unique_key).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.status == "sending"):
                stuck[row.unique_key] = stuck.get(row.unique_key, 0) + 1
            worker.start()
        # A dead worker's claims wait out the lease, then the minute's sweep takes them.
        _wait_all_sent(ids, serial / THREADS * 3 + LEASE * (kills + 1) + 120)
    finally:
        worker.stop()
        gateway.close()
    return ids, gateway, stuck, time.time() - started


def test_backlog_through_a_slow_gateway_goes_out_exactly_once(app, clock, tmp_path, request):
    ids, gateway, _, took = _run(app, clock, tmp_path, kills=0)
    keys = {f"bench:{i}" for i in range(MESSAGES)}
    report(request.config, "outbox: backlog through a slow gateway", [
        f"{MESSAGES} due at once, {SEND_SECONDS:g} s a send, {LEASE} s lease, {THREADS} worker threads: "
        f"{len(gateway.delivered)} delivered, {len(gateway.repeats())} sent twice, {took:.0f} s"])
    assert _unsent(ids) == 0 and set(gateway.delivered) == keys
    assert gateway.repeats() == {}, "a live claim was taken over"
    assert len(gateway.requests) == MESSAGES


def test_worker_killed_again_and_again_misses_nothing(app, clock, tmp_path, request):
    ids, gateway, stuck, took = _run(app, clock, tmp_path, kills=KILLS)
    keys = {f"bench:{i}" for i in range(MESSAGES)}
    repeats = gateway.repeats()
    report(request.config, "outbox: worker killed mid-send", [
        f"{MESSAGES} due, {KILLS} kills: {len(gateway.delivered)} delivered, {len(stuck)} claimed at a kill, "
        f"{len(repeats)} of those sent again (same key), {took:.0f} s"])
    assert _unsent(ids) == 0 and set(gateway.delivered) == keys, "a message was missed"
    # Only what a dead worker had claimed is sent again, at most once per kill that caught it.
    assert set(repeats) <= set(stuck), {k: n for k, n in repeats.items() if k not in stuck}
    assert all(n <= 1 + stuck[k] for k, n in repeats.items())
