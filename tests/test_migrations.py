"""Migrations build the schema from empty and upgrade the previous version without loss."""
from datetime import date

import pytest

from portal import create_app
from portal.db import db
from portal.migrations import current_version, latest_version, migrate
from portal.models import ALL_MODELS
from tests.conftest import PG_URL


@pytest.fixture()
def empty_app(tmp_path):
    url = PG_URL or f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        if PG_URL:
            db.execute_sql("DROP SCHEMA IF EXISTS migtest CASCADE; CREATE SCHEMA migtest; SET search_path TO migtest, public")
        yield app
        if PG_URL:
            db.execute_sql("SET search_path TO public; DROP SCHEMA migtest CASCADE")
        db.close()


def test_from_empty_to_latest_matches_models(empty_app):
    assert current_version() == 0
    applied = migrate()
    assert len(applied) == latest_version()
    assert current_version() == latest_version()
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {c.name for c in db.get_columns(table)}
        expected = {f.column_name for f in model._meta.sorted_fields}
        assert columns == expected, f"{table}: migrations and models disagree"
    assert migrate() == []  # idempotent


def test_upgrade_from_previous_version_keeps_data(empty_app):
    migrate(target=latest_version() - 1)
    now = "2026-01-01 00:00:00"
    db.execute_sql(f"INSERT INTO staff (username, display_name, role, password_hash, active, "
                   f"must_change_password, created_at, password_changed_at) VALUES "
                   f"({db.param}, {db.param}, {db.param}, {db.param}, {db.param}, {db.param}, {db.param}, {db.param})",
                   ("old", "Old Hand", "doctor", "x", True, False, now, now))
    migrate()
    assert current_version() == latest_version()
    assert db.execute_sql("SELECT display_name FROM staff WHERE username = 'old'").fetchone()[0] == "Old Hand"
    from portal.models import Patient, Staff
    from portal.services.patients import PatientData, register
    with empty_app.app_context():
        p = register(PatientData(name="王芳", sex="F", birth_date=date(1980, 1, 2), phone="13800001111"),
                     Staff.get(Staff.username == "old"), date(2026, 1, 1))
    assert Patient.get_by_id(p.id).chart_no == "2026000001"
