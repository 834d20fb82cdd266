"""The outbox's lease: a claim is stamped when it is made and renewed while the message is being
sent, so a slow gateway never makes a live claim look abandoned, and a message goes out once.

The failure this guards (issue 12): a sweep stamped every claim with the time the sweep *started*;
120 messages through a gateway taking 5 s each outlast a 20 s lease many times over, so the sweep's
later claims looked expired the moment they were made and a concurrent send task or the next
sweep sent the same message again. Here the numbers are scaled down for `make test` (24 messages,
0.5 s a send, a 2 s lease: sending them all still takes far longer than the lease); the full-size
run, with a real `portal worker` killed six times, is tests/bench/test_outbox_lease_bench.py.
"""
import json
import queue
import threading
import time
from datetime import timedelta

from portal.db import db
from portal.models import OutboxMessage, utcnow
from portal.notify import outbox
from tests.notify_servers import Gateway


def make_due(count: int, prefix: str = "lease") -> list[int]:
    """`count` messages, all due now (a backlog after a quiet night, a recall batch)."""
    now = utcnow()
    ids = []
    for i in range(count):
        row = OutboxMessage.create(channel="sms", recipient=f"139{i:08d}", template="recall_reminder", locale="en",
                                   context=json.dumps({"clinic": "Lease Clinic"}), unique_key=f"{prefix}:{i}",
                                   scheduled_at=now - timedelta(seconds=count - i))
        ids.append(row.id)
    return ids


def _in_thread(app, errors, fn, *args):
    """Run fn in a thread of its own, as a consumer thread does: own app context, own connection."""
    def run():
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                try:
                    fn(*args)
                finally:
                    db.close()
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_backlog_longer_than_the_lease_is_sent_exactly_once_by_concurrent_senders(app):
    """24 due at once, 0.5 s a send, 2 s lease: a sweep, two consumer threads running the send
    tasks, and the next sweep starting while the first is still busy. Every message reaches the
    gateway once: no sender takes over a claim that is alive."""
    import tasks
    gw = Gateway(delay=0.5)
    app.config.update(SMS_GATEWAY_URL=gw.url, OUTBOX_LEASE_SECONDS=2)
    try:
        ids = make_due(24)
        send_tasks: queue.Queue = queue.Queue()
        for message_id in ids:  # dispatch() enqueued one send task per message
            send_tasks.put(message_id)

        def consumer_thread():
            while True:
                try:
                    message_id = send_tasks.get_nowait()
                except queue.Empty:
                    return
                tasks.send_message.call_local(message_id)

        errors: list = []
        senders = [_in_thread(app, errors, outbox.send_due, app.config)]  # the minute's sweep
        senders += [_in_thread(app, errors, consumer_thread) for _ in range(2)]
        time.sleep(2.5)  # the next minute's sweep, while the first one is still sending
        senders.append(_in_thread(app, errors, outbox.send_due, app.config))
        for thread in senders:
            thread.join(60)
        assert not errors, errors
        assert gw.repeats() == {}, "sent twice while the first sender was still at it"
        assert set(gw.delivered) == {f"lease:{i}" for i in range(24)}
        assert len(gw.requests) == 24
        rows = list(OutboxMessage.select().where(OutboxMessage.id.in_(ids)))
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    finally:
        gw.close()


def test_a_send_slower_than_the_lease_keeps_its_claim(app):
    """One request that takes 4 s against a 2 s lease: the sender renews its claim while it waits,
    so a sweep 2.8 s in finds nothing to take over, and the row ends 'sent' after one attempt."""
    gw = Gateway(delay=4)
    app.config.update(SMS_GATEWAY_URL=gw.url, OUTBOX_LEASE_SECONDS=2)
    try:
        [message_id] = make_due(1, "slow")
        errors: list = []
        first = _in_thread(app, errors, outbox.send_one, message_id, app.config)
        assert gw.received.wait(5)
        time.sleep(2.8)
        assert OutboxMessage.get_by_id(message_id).status == "sending"
        assert outbox.send_due(app.config) == {}, "a live claim was taken over"
        assert outbox.send_one(message_id, app.config) == "not-due"
        first.join(10)
        assert not errors, errors
        assert [r["key"] for r in gw.requests] == ["slow:0"]
        row = OutboxMessage.get_by_id(message_id)
        assert row.status == "sent" and row.attempts == 1
    finally:
        gw.close()


def test_claim_is_stamped_when_it_is_made_not_when_the_sweep_began(app):
    """A sweep given its start time stamps each claim with that time plus how long it has run."""
    gw = Gateway(delay=0.4)
    app.config.update(SMS_GATEWAY_URL=gw.url, OUTBOX_LEASE_SECONDS=60)
    try:
        ids = make_due(3, "stamp")
        started = utcnow()
        assert outbox.send_due(app.config, now=started) == {"sent": 3}
        claimed = [OutboxMessage.get_by_id(i).claimed_at for i in ids]
        assert claimed[0] >= started and claimed[2] >= started + timedelta(seconds=0.75)
    finally:
        gw.close()


def test_a_sender_that_lost_its_claim_does_not_overwrite_the_new_one(app):
    """A worker paused past its lease (a stopped VM) comes back after another took the message
    over: its late outcome does not touch the row the new claimant owns."""
    app.config.update(OUTBOX_LEASE_SECONDS=2)
    [message_id] = make_due(1, "fence")
    now = utcnow()
    mine = outbox.claim(message_id, app.config, now)
    assert mine is not None and mine.attempts == 1
    theirs = outbox.claim(message_id, app.config, now + timedelta(seconds=3))  # the lease ran out
    assert theirs is not None and theirs.attempts == 2
    outbox._finish(mine, status="pending", next_attempt_at=now + timedelta(minutes=5), last_error="late")
    row = OutboxMessage.get_by_id(message_id)
    assert row.status == "sending" and row.attempts == 2 and row.last_error == ""
