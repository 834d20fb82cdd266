"""SQLite: one idle connection per process keeps the WAL between requests (portal.db.keep_wal_open)."""
import os

import pytest

from portal import db as portal_db
from portal.db import is_sqlite, sqlite_path


@pytest.fixture()
def sqlite_only(app):
    if not is_sqlite():
        pytest.skip("PostgreSQL has no WAL file to keep")


def test_the_wal_survives_the_request_that_wrote_to_it(app, as_role, sqlite_only):
    desk = as_role("frontdesk")
    assert desk.get("/patients").status_code == 200  # audited: a write, then the connection closes
    with app.app_context():
        wal = sqlite_path() + "-wal"
    assert os.path.exists(wal), "the last close would have checkpointed and deleted it"
    assert (os.getpid(), wal[:-4]) in portal_db._WAL_KEEPERS


def test_keepers_are_bounded_per_process(tmp_path, sqlite_only):
    import sqlite3
    paths = []
    for i in range(portal_db._KEEPERS_PER_PROCESS + 3):
        path = str(tmp_path / f"k{i}.db")
        sqlite3.connect(path).execute("PRAGMA journal_mode=wal").fetchone()
        portal_db.keep_wal_open(path)
        paths.append(path)
    ours = [path for (pid, path) in portal_db._WAL_KEEPERS if pid == os.getpid()]
    assert len(ours) <= portal_db._KEEPERS_PER_PROCESS and ours[-1] == paths[-1]
    assert paths[0] not in ours


def test_a_keeper_never_blocks_a_checkpoint(tmp_path, sqlite_only):
    """It holds no read snapshot, or the WAL would grow without end."""
    import sqlite3
    path = str(tmp_path / "ckpt.db")
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=wal").fetchone()
    writer.execute("CREATE TABLE t (x BLOB)")
    writer.commit()
    portal_db.keep_wal_open(path)
    for _ in range(50):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
        writer.commit()
    assert os.path.getsize(path + "-wal") > 0
    assert writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone() == (0, 0, 0)
    assert os.path.getsize(path + "-wal") == 0
    writer.close()
