"""Rendered schedule grids, kept until the schedule changes.

A busy day (20 chairs, 320 visits, ~1,000 bookable cells) takes ~25 ms to build and draw,
and the front desk reloads it all day. Database triggers move `schedule_version.n` on every
change the grid shows (migration 0008), so a grid drawn at version n stays right for as long
as the counter reads n, whoever changed what and from which process.

Correctness rests on two orders:
- the version is read *before* the grid's data, so a kept grid is never older than its key
  (a change landing in between makes a newer grid under an older key, which the next
  request replaces);
- nothing is kept while the request holds an open transaction: its own uncommitted writes
  could be rolled back after being drawn.
Each process keeps its own few grids; a restart or a second worker just draws them again.
"""
import logging
import threading
from collections import OrderedDict

from flask import current_app

from portal.db import db, is_postgres

log = logging.getLogger(__name__)

_VERSION_SQL = "SELECT n FROM schedule_version WHERE id = 1"


def schedule_version() -> int | None:
    """The counter, or None where the row is missing (then nothing may be kept)."""
    row = db.execute_sql(_VERSION_SQL).fetchone()
    return row[0] if row else None


def missing_triggers() -> list[str]:
    """The triggers migration 0008 made that this database lacks (a hand-restored dump, say).
    Without all of them a kept grid could outlive a change, so nothing is kept."""
    from portal.migrations.m0008_schedule_version import trigger_names
    if is_postgres():
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND strpos(tgname, '_sv_') > 0"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND instr(name, '_sv_') > 0"
    present = {name for (name,) in db.execute_sql(sql).fetchall()}
    return sorted(set(trigger_names("postgres" if is_postgres() else "sqlite")) - present)


class GridCache:
    """A small LRU of rendered fragments, all of one schedule version."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._version = None
        self._lock = threading.Lock()
        self._checked = False

    def _usable(self) -> bool:
        if not self._checked:
            missing = missing_triggers()
            if missing:
                log.warning("schedule grids are drawn every time: triggers missing: %s", ", ".join(missing))
                self.size = 0
            self._checked = True
        return self.size > 0

    def get_or_build(self, key: tuple, build):
        if self.size <= 0 or db.in_transaction() or not self._usable():
            return build()
        version = schedule_version()
        if version is None:
            return build()
        with self._lock:
            if version == self._version and key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        html = build()
        with self._lock:
            if version != self._version:
                # One version at a time: the others' grids can never be served again. (Two
                # requests straddling a change may swap versions back and forth; each grid is
                # still only served while the counter reads the version it was drawn at.)
                self._entries.clear()
                self._version = version
            self._entries[key] = html
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html


class PartCache:
    """Drawn parts of grids (a day's column, a cell of the week), keyed by everything they show.

    A change moves the version, and the whole grid is built again from its rows; but of a day's
    20 columns a booking or status change alters one, so the other 19 come from here, and of
    the changed column its background and its other blocks. The key
    is the part's content (rows as the database sent them, alerts, what the viewer may see and
    do, labels, language), never a version: a part can only be found again by identical inputs,
    so nothing here can go stale and nothing needs clearing."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_or_draw(self, key: tuple, draw):
        key = _Key(key)
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                return html
        html = draw()
        with self._lock:
            self._entries[key] = html
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html


class _Key:
    """A part's key with its hash worked out once: a week cell's key holds its ~16 rows, and a
    tuple hashes all of them again at every dictionary step."""
    __slots__ = ("value", "hash")

    def __init__(self, value: tuple):
        self.value, self.hash = value, hash(value)

    def __hash__(self):
        return self.hash

    def __eq__(self, other):
        return self.hash == other.hash and self.value == other.value


def part_cache(app=None) -> PartCache:
    """The app's drawn parts: a busy day is ~360 (columns, their backgrounds, 320 blocks of ~0.5 KB),
    a week 140 cells of ~4 KB; 2,000 parts are a few MB."""
    return _of_app(app, "schedule_parts", lambda config: PartCache(config.get("SCHEDULE_PART_CACHE", 2000)))


def grid_cache(app=None) -> GridCache:
    """The app's cache (one per app, so a test's fresh database never meets an old grid)."""
    return _of_app(app, "schedule_grids", lambda config: GridCache(config.get("SCHEDULE_GRID_CACHE", 32)))


def _of_app(app, name: str, make):
    app = app or current_app._get_current_object()
    cache = app.extensions.get(name)
    if cache is None:
        cache = app.extensions.setdefault(name, make(app.config))
    return cache
