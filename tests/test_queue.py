"""The job queue on its real storage (RedisHuey or PostgresHuey as HUEY_URL says, else SqliteHuey
in a file), not immediate mode: tasks are serialised, stored, taken by a worker and their results read back.
The periodic tasks of tasks.py run against the test's database inside an app context.
"""
import logging
import os
import signal
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer

import tasks
from portal.audit import verify_chain
from portal.db import db, is_sqlite
from portal.jobs import huey as portal_huey
from portal.jobs import PostgresHuey, make_huey
from portal.models import AuditEvent, LoginAttempt, StaffSession, utcnow

HUEY_URL = os.environ.get("HUEY_URL", "")


@pytest.fixture()
def queue(tmp_path):
    """queue() -> a new Huey instance on the configured storage, under a name of its own, so
    nothing here touches the app's "portal" queue or another run's keys. Several instances made
    in one test share the name: a producer and a worker, as two processes would."""
    url = HUEY_URL or f"sqlite:///{tmp_path / 'jobs' / 'huey.db'}"
    name = f"portaltest{uuid.uuid4().hex[:12]}"
    made = []

    def make():
        h = make_huey(url)
        assert not h.immediate
        h.name = name
        h.storage = h.create_storage()
        made.append(h)
        return h

    yield make
    if made:
        made[0].storage.flush_all()
        if isinstance(made[0], RedisHuey):
            leftover = made[0].storage.conn.keys(f"*{name}*")
            assert leftover == [], leftover


def add(a, b):
    return a + b


def test_make_huey_picks_the_storage_from_the_url(tmp_path):
    assert isinstance(make_huey(f"sqlite:///{tmp_path / 'q.db'}"), SqliteHuey)
    assert (tmp_path / "q.db").parent.exists()
    assert isinstance(make_huey("redis://127.0.0.1:6379/15"), RedisHuey)
    with pytest.raises(ValueError, match="HUEY_URL not supported"):
        make_huey("amqp://localhost")


def test_a_task_goes_through_storage_to_a_worker_and_back(queue):
    producer, worker = queue(), queue()
    expected = RedisHuey if HUEY_URL.startswith("redis") else PostgresHuey if HUEY_URL.startswith("postgres") else SqliteHuey
    assert isinstance(producer, expected)
    enqueue_add = producer.task(name="test.add")(add)
    worker.task(name="test.add")(add)  # the worker process imports the same tasks module

    result = enqueue_add(2, 3)
    assert producer.pending_count() == 1 and worker.pending_count() == 1
    assert result.get() is None  # nothing ran yet: not immediate mode

    task = worker.dequeue()
    assert task is not None and (task.name, task.args) == ("test.add", (2, 3))
    assert worker.pending_count() == 0
    worker.execute(task)
    assert result.get(blocking=True, timeout=5) == 5
    assert worker.dequeue() is None


def test_a_consumer_runs_queued_and_scheduled_tasks(queue):
    h = queue()
    ran_in = []

    @h.task(name="test.shout")
    def shout(text):
        ran_in.append(threading.current_thread().name)
        return text.upper()

    consumer = Consumer(h, workers=2, worker_type="thread", periodic=False, initial_delay=0.05,
                        max_delay=0.2, scheduler_interval=1)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()  # worker and scheduler threads; start() also installs signal handlers
    try:
        now = shout("now")
        scheduled_at = time.monotonic()
        later = shout.schedule(("later",), delay=1)
        assert now.get(blocking=True, timeout=10) == "NOW"
        assert later.get(blocking=True, timeout=10) == "LATER"
        assert time.monotonic() - scheduled_at >= 0.9  # not before its time
    finally:
        consumer.stop(graceful=True)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert len(ran_in) == 2 and threading.current_thread().name not in ran_in


# --- the periodic tasks of tasks.py -------------------------------------------------------

def _due(hour, minute):
    """Names of the periodic tasks the consumer's scheduler enqueues at this clinic time."""
    clinic = ZoneInfo(os.environ.get("PORTAL_TZ", "Asia/Shanghai"))
    at = datetime(2026, 3, 10, hour, minute, tzinfo=clinic).astimezone(timezone.utc).replace(tzinfo=None)
    return {t.name for t in portal_huey.read_periodic(at)}


def test_the_nightly_tasks_run_at_night_on_the_clinic_clock():
    assert "portal.purge_sessions" in _due(3, 17)
    assert "portal.verify_audit_chain" in _due(2, 40)
    for hour, minute in ((3, 18), (2, 41), (11, 17), (10, 40), (15, 17)):
        assert not {"portal.purge_sessions", "portal.verify_audit_chain"} & _due(hour, minute), (hour, minute)


def _run_through_queue(app, queue, wrapper):
    """Enqueue the task's function on the real storage, then take it and run it as a worker
    thread does: in an app context, so it sees this test's database."""
    h = queue()
    job = h.task(name=wrapper.name)(wrapper.func)
    result = job()
    with app.app_context():
        task = h.dequeue()
        assert task is not None and task.name == wrapper.name
        h.execute(task)
    return result.get(blocking=True, timeout=5)


def test_purge_sessions_removes_old_ended_sessions_and_attempts_and_keeps_recent(app, staff, queue):
    now = utcnow()
    person = staff["nurse"]

    def session(key, seen_days_ago, ended_days_ago=None):
        seen = now - timedelta(days=seen_days_ago)
        return StaffSession.create(key_hash=key * 64, staff=person, created_at=seen - timedelta(hours=1),
                                   last_seen_at=seen,
                                   ended_at=None if ended_days_ago is None else now - timedelta(days=ended_days_ago),
                                   end_reason=None if ended_days_ago is None else "logout")

    old_logout = session("a", 45, ended_days_ago=45)
    old_timeout = session("b", 31, ended_days_ago=31)
    abandoned = session("c", 40)  # browser closed 40 days ago, never signed out
    recent_logout = session("d", 29, ended_days_ago=29)
    live = session("e", 0)
    for days, ok in ((31, False), (90, True), (29, False), (0, True)):
        LoginAttempt.create(username="nurse", ip="192.0.2.1", at=now - timedelta(days=days), success=ok)

    from portal.models import FormSubmission
    for key, hours in (("0" * 32, 25), ("1" * 32, 23)):
        FormSubmission.create(key=key, staff=person, created_at=now - timedelta(hours=hours), status="done")

    outcome = _run_through_queue(app, queue, tasks.purge_sessions)

    assert outcome == {"sessions": 3, "attempts": 2, "form_keys": 1}
    assert [f.key for f in FormSubmission.select()] == ["1" * 32]
    left = {s.id for s in StaffSession.select()}
    assert left == {recent_logout.id, live.id}
    assert not {old_logout.id, old_timeout.id, abandoned.id} & left
    assert sorted((now - a.at).days for a in LoginAttempt.select()) == [0, 29]
    assert person.sessions.count() == 2  # the staff row itself is untouched
    # a second run finds nothing more to do
    assert _run_through_queue(app, queue, tasks.purge_sessions) == {"sessions": 0, "attempts": 0, "form_keys": 0}


def _restore_guard():
    """Put the append-only trigger back, as the migration made it (PostgreSQL is shared by tests)."""
    if not is_sqlite():
        db.execute_sql("CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                       "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")


def test_verify_audit_chain_reports_intact_then_tampering(app, staff, make_patient, queue, caplog):
    for name in ("甲", "乙", "丙", "丁"):
        make_patient(name=f"陈{name}")
    total = AuditEvent.select().count()
    assert total >= 4

    assert _run_through_queue(app, queue, tasks.verify_audit_chain) == \
        {"intact": True, "checked": total, "broken_at": None}

    try:
        if is_sqlite():
            db.execute_sql("DROP TRIGGER audit_event_no_update")
        else:
            db.execute_sql("DROP TRIGGER audit_event_append_only ON audit_event")
        victim = AuditEvent.select().order_by(AuditEvent.id).offset(2).first()
        AuditEvent.update(detail='{"edited": true}').where(AuditEvent.id == victim.id).execute()
        with caplog.at_level(logging.ERROR, logger="portal.tasks"):
            outcome = _run_through_queue(app, queue, tasks.verify_audit_chain)
    finally:
        _restore_guard()

    assert outcome == {"intact": False, "checked": 2, "broken_at": victim.id}
    assert verify_chain() == (False, 2, victim.id)
    assert f"audit chain broken at event {victim.id}" in caplog.text


@pytest.mark.clock("2026-06-10 10:00")  # due in 3 hours, before the quiet hours begin
def test_a_message_is_scheduled_at_its_utc_time_whatever_the_server_time_zone(app, make_patient, tmp_path,
                                                                               monkeypatch):
    """Huey reads a naive eta as the server's local time. The outbox keeps naive UTC; on a VPS set
    to Asia/Shanghai a naive eta would wake the sender 8 hours early. Checked on that zone."""
    from huey.storage import SqliteStorage

    from portal.notify import outbox
    h = portal_huey
    monkeypatch.setattr(h, "immediate", False)
    monkeypatch.setattr(h, "storage", SqliteStorage("tz-check", filename=str(tmp_path / "huey.db")))
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        patient = make_patient(consents={"reminders": True})
        due = utcnow().replace(microsecond=0) + timedelta(hours=3)
        with app.app_context():
            message_id = outbox.queue(patient, "reminder_hours_before", due, "tz-check", app.config,
                                      context={"start": "2030-01-01T09:00"})
            outbox.dispatch([message_id])
        (task,) = h.pending()  # a worker moves it to the schedule when it reads the eta
        assert task.args == (message_id,)
        assert abs((task.eta - due).total_seconds()) < 1, (task.eta, due)  # Huey keeps naive UTC too
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
