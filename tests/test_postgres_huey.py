"""Huey on PostgreSQL (HUEY_URL=postgresql://…): a clinic on PostgreSQL runs its queue there, with
no Redis, and several workers (one per node) share it. Run in the PostgreSQL pass; the queue lives
in the test database's huey_* tables.

- Huey's own claim statements hand a task to one consumer only, 16 at once (queue and schedule).
- An idle worker waits on LISTEN and an enqueue's NOTIFY wakes it (no polling).
- Retries, results, scheduled and periodic tasks work through a real consumer on this storage.
- Two real `portal worker` processes, one of them `--no-periodic`, deliver every due outbox message
  exactly once, one of them killed mid-send; only the other enqueues periodic tasks.
- `portal check` says whether the queue's database answers; the portal's queue keeps no results.
"""
import signal
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from huey import crontab
from huey.consumer import Consumer
from huey.exceptions import TaskException

from portal.jobs import PostgresHuey, PostgresStorage, huey, make_huey
from portal.models import OutboxMessage
from portal.notify import outbox
from tests.conftest import PG_URL
from tests.notify_servers import Gateway
from tests.races import race
from tests.test_outbox_lease import make_due
from tests.worker_nodes import WorkerProcess

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgresHuey needs DATABASE_URL=postgresql://…")


@pytest.fixture()
def pg_queue(app):
    """pg_queue() -> a PostgresHuey in the test database under a name of its own (several made in
    one test share it: a producer and a worker, as two processes would)."""
    name = f"pgtest{uuid.uuid4().hex[:12]}"
    made = []

    def make():
        made.append(PostgresHuey(name, url=PG_URL))
        return made[-1]

    yield make
    if made:
        made[0].storage.flush_all()


def add(a, b):
    return a + b


def test_postgresql_url_gives_a_queue_beside_the_clinic_tables(app, pg_queue):
    from portal.db import db
    h = pg_queue()
    assert isinstance(make_huey(PG_URL), PostgresHuey) and isinstance(h, PostgresHuey)
    job = h.task(name="test.add")(add)
    result = job(2, 3)
    assert h.pending_count() == 1
    h.execute(h.dequeue())
    assert result.get() == 5
    assert {"huey_task", "huey_schedule", "huey_kv", "huey_counter"} <= set(db.get_tables())
    # Huey's counters beside the portal's own `counter` table (its default table name would be that one).
    assert h.storage.incr("retries") == 1 and h.storage.incr("retries") == 2
    assert {c.name for c in db.get_columns("counter")} == {"name", "year", "value"}


def test_sixteen_consumers_never_take_one_task_twice(app, pg_queue):
    """16 threads (each its own connection, as consumer threads and other nodes have) empty a
    queue of 400 tasks and a schedule of 200 due ones: every task is taken exactly once."""
    producer, worker = pg_queue(), pg_queue()
    job = producer.task(name="test.add")(add)
    worker.task(name="test.add")(add)
    queued = [job(i, 0).id for i in range(400)]
    past = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=5)
    scheduled = []
    for i in range(200):  # due tasks waiting in the schedule, as a worker leaves them when it reads an eta
        task = job.s(i, 1)
        task.eta = past
        producer.add_schedule(task)
        scheduled.append(task.id)
    assert worker.pending_count() == 400 and worker.scheduled_count() == 200
    taken = [[] for _ in range(16)]

    def drain(i):
        moved = worker.read_schedule(datetime.now(timezone.utc).replace(tzinfo=None))
        taken[i].extend(t.id for t in moved)
        while (task := worker.dequeue()) is not None:
            taken[i].append(task.id)

    _, errors = race(app, 16, drain)
    assert not errors, errors
    everything = [task_id for mine in taken for task_id in mine]
    assert len(everything) == len(set(everything)), "a task reached two consumers"
    assert set(everything) == set(queued) | set(scheduled)
    assert sum(1 for mine in taken if mine) > 1  # they really competed
    assert worker.pending_count() == 0 and worker.scheduled_count() == 0


def test_an_idle_worker_is_woken_by_the_enqueue_not_by_polling(app, pg_queue):
    """A worker with nothing to do waits on LISTEN; a task enqueued by another process (its own
    connection) wakes it at once: the waiting dequeue() itself returns that task."""
    producer, worker = pg_queue(), pg_queue()
    job = producer.task(name="test.add")(add)
    worker.task(name="test.add")(add)
    worker.storage.WAIT_SECONDS = 60  # without the NOTIFY the second dequeue would come back empty after a minute
    got, listening = [], threading.Event()

    def consumer_thread():
        got.append(worker.dequeue())  # the first, on a new connection: LISTEN there, nothing yet
        listening.set()
        got.append(worker.dequeue())  # waits

    waiting = threading.Thread(target=consumer_thread, daemon=True)
    waiting.start()
    assert listening.wait(30)
    time.sleep(0.3)  # let it reach its wait
    sent = job(20, 22)
    waiting.join(30)
    assert not waiting.is_alive(), "the enqueue did not wake the waiting worker"
    assert got[0] is None and got[1] is not None and got[1].id == sent.id


def test_retries_results_schedules_and_periodic_tasks_through_a_consumer(app, pg_queue):
    """A consumer on PostgresHuey retries a failing task, keeps results, runs a scheduled task not
    before its time and enqueues its periodic task; a consumer without periodic tasks does not."""
    h = pg_queue()
    quiet = PostgresHuey(f"pgquiet{uuid.uuid4().hex[:12]}", url=PG_URL)
    attempts, periodic_runs = [], {"loud": 0, "quiet": 0}

    @h.task(name="test.flaky", retries=2, retry_delay=1)
    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise RuntimeError("the gateway hiccupped")
        return "sent"

    @h.task(name="test.later")
    def later(text):
        return text.upper()

    for queue, key in ((h, "loud"), (quiet, "quiet")):
        def tick(key=key):
            periodic_runs[key] += 1
        queue.periodic_task(crontab(minute="*"), name=f"test.tick.{key}")(tick)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumers = [Consumer(q, workers=2, worker_type="thread", periodic=periodic, initial_delay=0.05,
                          max_delay=0.2, scheduler_interval=1) for q, periodic in ((h, True), (quiet, False))]
    for consumer in consumers:
        consumer.start()
    try:
        result = flaky()
        scheduled_at = time.monotonic()
        shouted = later.schedule(("later",), delay=1)
        with pytest.raises(TaskException, match="hiccupped"):  # the first attempt's error is kept …
            result.get(blocking=True, timeout=15)
        result.reset()
        assert result.get(blocking=True, timeout=15) == "sent"  # … then the retry's result
        assert shouted.get(blocking=True, timeout=15) == "LATER"
        assert time.monotonic() - scheduled_at >= 0.9  # not before its time
        deadline = time.time() + 10
        while not periodic_runs["loud"] and time.time() < deadline:
            time.sleep(0.1)
    finally:
        for consumer in consumers:
            consumer.stop(graceful=True)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        quiet.storage.flush_all()
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.9  # retried after its delay
    assert periodic_runs == {"loud": 1, "quiet": 0}
    assert quiet.pending_count() == 0


def _worker(clock, tmp_path, gateway, name, *options) -> WorkerProcess:
    """A real `portal worker` on the test's database and the PostgreSQL queue, 2 threads."""
    env = {"DATABASE_URL": PG_URL, "HUEY_URL": PG_URL, "SMS_GATEWAY_URL": gateway.url,
           "OUTBOX_LEASE_SECONDS": "2", "PORTAL_INSTANCE": str(tmp_path)}
    return WorkerProcess(clock, tmp_path / f"{name}.log", env, "--workers", "2", *options)


def test_two_workers_on_postgres_deliver_every_due_message_exactly_once(app, clock, tmp_path, monkeypatch):
    """30 due messages. The `--no-periodic` worker starts alone and is killed while the gateway
    holds its first request; after the lease it comes back beside a periodic worker, and every
    message is dispatched twice (two web nodes). Each key reaches the gateway once, except what
    was claimed at the kill (sent again under the same key, which the gateway drops)."""
    gateway = Gateway(slow_first=30, delay=0.05)
    periodic = _worker(clock, tmp_path, gateway, "periodic")
    extra = _worker(clock, tmp_path, gateway, "extra", "--no-periodic")
    ids = make_due(30, "pg")
    keys = {f"pg:{i}" for i in range(30)}
    try:
        extra.start()  # its start-up catch-up takes the backlog
        assert gateway.received.wait(20), extra.log()
        extra.kill()  # mid-send: the gateway holds the request, the row says 'sending'
        stuck = {m.unique_key for m in OutboxMessage.select().where(OutboxMessage.status == "sending")}
        assert stuck, "the kill should leave a claimed, unfinished message"
        time.sleep(2.5)  # the dead worker's claims go stale
        periodic.start()
        extra.start()
        periodic.wait_started()
        extra.wait_started()
        monkeypatch.setattr(huey, "immediate", False)  # the web side, on the same PostgreSQL queue
        monkeypatch.setattr(huey, "storage", PostgresStorage("portal", url=PG_URL))
        with app.app_context():
            for _ in range(2):  # two web nodes
                outbox.dispatch(ids)
        deadline = time.time() + 20
        while time.time() < deadline and OutboxMessage.select().where(
                OutboxMessage.id.in_(ids), OutboxMessage.status != "sent").exists():
            time.sleep(0.2)
    finally:
        periodic.stop()
        extra.stop()
        gateway.close()
    rows = list(OutboxMessage.select().where(OutboxMessage.id.in_(ids)))
    assert {r.status for r in rows} == {"sent"}, [(r.unique_key, r.status) for r in rows if r.status != "sent"]
    assert set(gateway.delivered) == keys
    requested = [r["key"] for r in gateway.requests]
    held = requested[0]
    assert held in stuck and requested.count(held) == 2
    assert all(requested.count(k) == 1 for k in keys - stuck), gateway.repeats()
    assert all(requested.count(k) <= 2 for k in stuck)
    # Both shared the queue's work; only the periodic one enqueued periodic tasks.
    assert "Executing tasks.portal.send_message" in periodic.log()
    assert "Executing tasks.portal.send_message" in extra.log()
    assert "Enqueueing periodic task tasks.portal.sweep_outbox" in periodic.log()
    assert "Periodic tasks are disabled" in extra.log() and "Enqueueing periodic task" not in extra.log()


def test_portal_check_reports_whether_the_queue_database_answers(app, monkeypatch):
    import portal.jobs as jobs
    from portal.checks import check_queue
    monkeypatch.setattr(jobs, "huey", make_huey(PG_URL))
    ok, detail, fix = check_queue()
    assert ok and detail == f"PostgresHuey, database {PG_URL.rsplit('/', 1)[-1]}" and fix is None
    monkeypatch.setattr(jobs, "huey", make_huey("postgresql://postgres@127.0.0.1:9/nowhere"))  # nothing listens
    ok, detail, fix = check_queue()
    assert not ok and detail.startswith("PostgresHuey: ") and "connect" in detail
    assert "systemctl start postgresql" in fix and "HUEY_URL" in fix


def test_the_portal_queue_keeps_no_results(app, monkeypatch):
    """Nothing reads a task's return value, so the portal's queue stores none: every message
    sent would otherwise leave its outcome in huey_kv for good."""
    import tasks
    storage = PostgresStorage("portal", url=PG_URL)
    monkeypatch.setattr(huey, "immediate", False)
    monkeypatch.setattr(huey, "storage", storage)
    storage.flush_results()
    tasks.send_message(10**9)  # a send task, as dispatch() enqueues it (no such message)
    task = huey.dequeue()
    with app.app_context():
        assert huey.execute(task) == "not-due"  # it ran and returned its outcome …
    assert storage.result_store_size() == 0  # … which was not kept
