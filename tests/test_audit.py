"""The audit trail: reads and writes recorded, append-only, tampering detected."""
import peewee as pw
import pytest
from click.testing import CliRunner

from portal import audit
from portal.cli import main as cli
from portal.db import db, is_sqlite
from portal.models import AuditEvent


def test_reading_a_patient_is_recorded_with_who_and_where(as_role, staff, make_patient):
    p = make_patient()
    as_role("nurse").get(f"/patients/{p.code}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    e = AuditEvent.select().where(AuditEvent.action == "read").get()
    assert (e.actor_id, e.role, e.patient_id, e.ip) == (staff["nurse"].id, "nurse", p.id, "192.0.2.7")


def test_denied_access_is_recorded(as_role, staff):
    as_role("nurse").get("/admin/audit")
    e = AuditEvent.select().where(AuditEvent.action == "denied").get()
    assert e.actor_id == staff["nurse"].id and e.object_ref == "admin.audit_trail"


def test_failed_login_is_recorded(client, staff):
    client.post("/login", data={"username": "doctor", "password": "nope-nope-nope"})
    assert AuditEvent.select().where(AuditEvent.action == "login_failed", AuditEvent.actor_label == "doctor").exists()


def test_rows_cannot_be_updated_or_deleted(app, staff, make_patient):
    make_patient()
    with pytest.raises((pw.IntegrityError, pw.InternalError, pw.OperationalError, pw.DatabaseError)):
        with db.atomic():
            AuditEvent.update(actor_label="someone-else").execute()
    with pytest.raises((pw.IntegrityError, pw.InternalError, pw.OperationalError, pw.DatabaseError)):
        with db.atomic():
            AuditEvent.delete().execute()


def _drop_guards():
    if is_sqlite():
        db.execute_sql("DROP TRIGGER audit_event_no_update")
    else:
        db.execute_sql("DROP TRIGGER audit_event_append_only ON audit_event")


def _restore_guards():
    """PostgreSQL's test database is shared by the whole run: put the guard back."""
    if not is_sqlite():
        db.execute_sql("""CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
                          FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")


def test_tampering_outside_the_app_is_detected_by_check(app, staff, make_patient):
    for name in ("甲", "乙", "丙"):
        make_patient(name=f"王{name}")
    assert audit.verify_chain()[0]
    runner = CliRunner()
    env = {"DATABASE_URL": app.config["DATABASE_URL"]}
    assert "chain intact" in runner.invoke(cli, ["check"], env=env).output
    _drop_guards()  # someone with database access, bypassing the portal
    try:
        victim = AuditEvent.select().order_by(AuditEvent.id).offset(1).first()
        AuditEvent.update(actor_label="nobody").where(AuditEvent.id == victim.id).execute()
    finally:
        _restore_guards()
    intact, checked, broken = audit.verify_chain()
    assert (intact, broken) == (False, victim.id)
    result = runner.invoke(cli, ["check"], env=env)
    assert result.exit_code == 1 and f"chain broken at event #{victim.id}" in result.output


def test_manager_filters_the_trail(as_role, staff, make_patient):
    p = make_patient(name="钱多多")
    make_patient(name="孙少少")
    as_role("doctor").get(f"/patients/{p.code}")
    page = as_role("manager").get("/admin/audit", query_string={"patient": p.chart_no, "action": "read"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "钱多多" in body and "孙少少" not in body and "doctor" in body
