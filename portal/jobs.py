"""The Huey instance, chosen by HUEY_URL: SqliteHuey in its own file by default, PostgresHuey for
postgresql:// (a clinic on PostgreSQL needs no Redis, and several nodes share one queue), RedisHuey
for redis://.

Tasks live in the top-level tasks.py; they take ids, not objects, and run inside an app context.
"""
import os
import select
import threading
import zlib
from datetime import timezone
from pathlib import Path

import peewee as pw
from huey import Huey, RedisHuey, SqliteHuey
from huey.contrib.sql_huey import SqlStorage

from portal.config import default_huey_url


class PostgresStorage(SqlStorage):
    """Huey's SQL storage on PostgreSQL, its tables named huey_* so the queue may live in the
    clinic's own database (which has a `counter` table of its own) or in a database of its own.

    Several consumers, on one node or several, are safe with Huey's own statements: a worker takes
    a task with SELECT … FOR UPDATE SKIP LOCKED and deletes it in the same transaction, and the
    scheduler moves due tasks the same way, so no task reaches two workers (tests/test_postgres_huey.py
    races 16 of them). The tables are made when the storage is made, under an advisory lock
    (processes starting together would otherwise race in CREATE TABLE IF NOT EXISTS); if the
    database is down then, on first use once it is back, so a process still starts."""

    TABLE_LOCK = zlib.crc32(b"portal huey tables")
    # Workers wait for an enqueue's NOTIFY instead of polling the table (a due reminder is taken the
    # moment the scheduler moves it, and idle workers cost the database one wait a second each).
    blocking = True
    WAIT_SECONDS = 1.0  # one wait; the consumer looks at its stop flag between waits

    def __init__(self, name="huey", url=None, **kwargs):
        from portal.db import make_database
        super().__init__(name, database=make_database(url), create_tables=False, **kwargs)
        self.tables_ready = False
        self.channel = f"huey_{zlib.crc32(name.encode()):08x}"
        self._listening = threading.local()
        try:
            with self.database.connection_context():  # closed again: a forked process must not share it
                self.create_tables()
        except pw.OperationalError:
            pass  # check_conn() makes them on first use

    def create_models(self):
        models = super().create_models()
        for model in models:
            model._meta.set_table_name(f"huey_{model._meta.table_name}")
        # Huey's indexes keep names from its own table names (index names are per schema in PostgreSQL).
        _, schedule, task, _ = models
        schedule._meta.indexes = [pw.ModelIndex(schedule, (schedule.queue, schedule.timestamp),
                                                name="huey_schedule_queue_timestamp")]
        task._meta.indexes = [pw.ModelIndex(task, (task.priority.desc(), task.id), name="huey_task_priority_id")]
        return models

    def create_tables(self):
        with self.database.atomic():
            self.database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (self.TABLE_LOCK,))
            self.database.create_tables([self.KV, self.Schedule, self.Task, self.Counter])
        self.tables_ready = True

    def check_conn(self):
        super().check_conn()
        if not self.tables_ready:
            self.create_tables()

    def enqueue(self, data, priority=None):
        self.check_conn()
        with self.atomic():  # the NOTIFY goes out when the task is committed
            self.Task.create(queue=self.name, data=data, priority=priority or 0)
            self.database.execute_sql("SELECT pg_notify(%s, '')", (self.channel,))

    def dequeue(self):
        data = super().dequeue()
        if data is None and self._wait_for_work():
            data = super().dequeue()
        return data

    def _wait_for_work(self) -> bool:
        """True when an enqueue may have happened: a NOTIFY arrived within WAIT_SECONDS. LISTEN stays
        on for the connection, so one that came after the empty dequeue is already waiting there."""
        conn = self.database.connection()
        if getattr(self._listening, "conn", None) is not conn:  # a new connection: listen, look again
            self.database.execute_sql(f'LISTEN "{self.channel}"')
            self._listening.conn = conn
            return True
        if not conn.notifies:
            select.select([conn], [], [], self.WAIT_SECONDS)
            conn.poll()
        woken = bool(conn.notifies)
        conn.notifies.clear()
        return woken


class PostgresHuey(Huey):
    storage_class = PostgresStorage


def make_huey(url: str, immediate: bool = False, **options):
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("portal", url=url, immediate=immediate, **options)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHuey("portal", url=url, immediate=immediate, **options)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("portal", filename=path, immediate=immediate, **options)
    raise ValueError(f"HUEY_URL not supported: {url!r} "
                     "(use sqlite:///path, postgresql://user@host/db or redis://host:port/db)")


# No task's return value is ever read: kept, every message sent would leave its outcome in huey_kv
# (or Redis, or the SQLite file) for good.
huey = make_huey(default_huey_url(),
                 immediate=os.environ.get("HUEY_IMMEDIATE", "") == "1", results=False)

_worker_app = None


def app_context():
    """The app context a task runs in: the caller's (immediate mode, tests) or the worker's own."""
    from flask import current_app, has_app_context
    global _worker_app
    if has_app_context():
        return current_app.app_context()
    if _worker_app is None:
        from portal import create_app
        _worker_app = create_app()
    return _worker_app.app_context()


# An idle worker polls SqliteHuey at most this far apart (Huey's default backs off to 10 s, which
# would make a lone reminder up to 10 s late). Redis blocks on the queue instead of polling.
WORKER_MAX_POLL_SECONDS = 0.25


def at_utc(naive_utc):
    """An eta for Huey. The portal keeps naive UTC datetimes, but Huey reads a naive eta as the
    server's local time: on a VPS set to Asia/Shanghai it would fire 8 hours early. Aware UTC
    is unambiguous whatever the server's time zone."""
    return naive_utc.replace(tzinfo=timezone.utc) if naive_utc.tzinfo is None else naive_utc


def make_consumer(workers: int = 2, periodic: bool = True, **options):
    """The consumer `portal worker` runs; the latency bench measures this same configuration."""
    from huey.consumer import Consumer
    options.setdefault("max_delay", WORKER_MAX_POLL_SECONDS)
    options.setdefault("initial_delay", 0.05)
    return Consumer(huey, workers=workers, worker_type="thread", periodic=periodic, **options)


def check_queue() -> tuple[bool, str]:
    """Round-trip a value through the queue's storage."""
    try:
        key = "portal-check"
        huey.storage.put_data(key, b"ok")
        value = huey.storage.pop_data(key)
        where = f", database {huey.storage.database.database}" if isinstance(huey, PostgresHuey) else ""
        return value == b"ok", type(huey).__name__ + where
    except Exception as exc:  # the check reports, it does not crash
        first_line = " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__
        return False, f"{type(huey).__name__}: {first_line}"
