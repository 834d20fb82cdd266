"""Fixtures: an app on a real database per test, a client, personas for every role.

SQLite (default): the schema is migrated once into a template file, copied for each test.
PostgreSQL (DATABASE_URL=postgresql://…): migrated once, tables emptied between tests.
"""
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PORTAL_INSTANCE", "/tmp/portal-test-instance")

from portal import create_app  # noqa: E402
from portal.db import db, is_postgres  # noqa: E402
from portal.jobs import huey  # noqa: E402
from portal.migrations import migrate  # noqa: E402
from portal.models import Staff  # noqa: E402
from portal.services.auth import hash_password, start_session  # noqa: E402
from tests import factories  # noqa: E402
from tests.clock import Clock, suite_start  # noqa: E402

PG_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
ROLES = ("doctor", "nurse", "frontdesk", "consultant", "manager")
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def clock(request):
    """Every test runs at a known clinic time (tests/clock.py): PORTAL_TEST_NOW or the suite's
    default, or the test's own @pytest.mark.clock("YYYY-MM-DD HH:MM"). The clock ticks."""
    marker = request.node.get_closest_marker("clock")
    ticking = Clock(marker.args[0] if marker else suite_start())
    yield ticking
    ticking.stop()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A migrated, empty database to start every test from."""
    if PG_URL:
        app = create_app({"DATABASE_URL": PG_URL, "TESTING": True, "SECRET_KEY": "t"})
        with app.app_context():
            db.connect(reuse_if_open=True)
            db.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            migrate()
            db.close()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "portal.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate()
        db.close()
    return path


def _truncate_all():
    tables = [t for t in db.get_tables() if t != "schema_version"]
    db.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    db.execute_sql("INSERT INTO schedule_version (id, n) VALUES (1, 0)")  # as migration 0008 left it


@pytest.fixture()
def database_url(template_db, tmp_path):
    if PG_URL:
        return PG_URL
    path = tmp_path / "portal.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture()
def app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False, "PORTAL_LOCALE": "en", "BABEL_DEFAULT_LOCALE": "en"})
    app.instance_path = str(tmp_path / "instance")
    huey.immediate = True
    # No app context is held during the test: each request gets its own, as in production
    # (a held context would share flask.g, and so the signed-in user, between requests).
    db.connect(reuse_if_open=True)
    if is_postgres():
        _truncate_all()
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture()
def csrf_app(app):
    """The same app with CSRF protection on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def password_hash():
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once per run


@pytest.fixture()
def staff(app, password_hash):
    """One account per role: staff["doctor"], …"""
    return {role: Staff.create(username=role, display_name=f"Demo {role}", role=role,
                               password_hash=password_hash) for role in ROLES}


def sign_in(client, person):
    """Sign a test client in through a real session record (password checks are tested apart)."""
    key = start_session(person, "127.0.0.1", "pytest")
    with client.session_transaction() as sess:
        sess["_user_id"] = key
        sess["_fresh"] = True
    return client


@pytest.fixture()
def as_role(app, staff):
    """as_role("frontdesk") -> a client signed in as that role."""
    def make(role):
        return sign_in(app.test_client(), staff[role])
    return make


@pytest.fixture()
def make_patient(app, staff):
    def make(**kw):
        return factories.patient(staff["frontdesk"], **kw)
    return make
