"""The Huey instance: SqliteHuey in its own file by default, RedisHuey when HUEY_URL says redis://.

Tasks live in the top-level tasks.py; they take ids, not objects, and run inside an app context.
"""
import os
from datetime import timezone
from pathlib import Path

from huey import RedisHuey, SqliteHuey

from portal.config import default_huey_url


def make_huey(url: str, immediate: bool = False):
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("portal", url=url, immediate=immediate)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("portal", filename=path, immediate=immediate)
    raise ValueError(f"HUEY_URL not supported: {url!r} (use sqlite:///path or redis://host:port/db)")


huey = make_huey(default_huey_url(),
                 immediate=os.environ.get("HUEY_IMMEDIATE", "") == "1")

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
        return value == b"ok", type(huey).__name__
    except Exception as exc:  # the check reports, it does not crash
        return False, f"{type(huey).__name__}: {exc}"
