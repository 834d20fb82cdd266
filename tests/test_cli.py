"""The `portal` command, run through click as an operator would: init, demo, create-user,
backup/restore and check, on the test's own database (SQLite copy, or the shared PostgreSQL).

Note: every command calls create_app(), which re-points the global `db` proxy at the command's
database; the tests pass the fixture's DATABASE_URL so the proxy stays on the same database.
"""
import re
import sqlite3
from pathlib import Path

import peewee as pw
import pytest
from click.testing import CliRunner

from portal.cli import main as cli
from portal.db import db, is_postgres
from portal.demo import DEMO_STAFF, DEMO_TAGS
from portal.migrations import latest_version
from portal.models import AuditEvent, Consent, Family, Patient, PatientTag, Staff, Tag
from portal.services import ServiceError
from portal.services import patients as registry
from portal.services.auth import authenticate
from tests import factories

DEFAULT_DEMO_PASSWORD = "demo-pass-2026"


def run(url, *args, **env):
    """Invoke `portal <args>` against `url`; English messages so the tests can read them."""
    full_env = {"DATABASE_URL": str(url), "PORTAL_LOCALE": "en", "PORTAL_DEMO_PASSWORD": None}
    full_env.update(env)
    return CliRunner().invoke(cli, [str(a) for a in args], env=full_env)


def clean_failure(result):
    """A refusal the operator can read: click's "Error: …" and exit 1, not a traceback."""
    return (result.exit_code == 1 and isinstance(result.exception, SystemExit)
            and "Error:" in result.output and "Traceback" not in result.output)


def counts():
    """Rows in every table (the named models, plus whatever else the demo or a command writes)."""
    found = {m.__name__: m.select().count() for m in (Staff, Tag, Family, Patient, PatientTag, Consent, AuditEvent)}
    for table in db.get_tables():
        found[table] = db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    return found


def sqlite_tables(path):
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"))
    finally:
        con.close()


# --- init ---------------------------------------------------------------------------------

def test_init_on_an_empty_sqlite_file_creates_the_schema_and_is_idempotent(tmp_path):
    path = tmp_path / "fresh.db"
    path.touch()  # an empty file, as a new VPS would have after `touch`
    url = f"sqlite:///{path}"
    first = run(url, "init")
    assert first.exit_code == 0, first.output
    assert f"schema at version {latest_version()}" in first.output and "applied 0001_" in first.output
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == latest_version()
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    schema = sqlite_tables(path)
    assert {"staff", "staff_session", "login_attempt", "audit_event", "patient", "family", "tag",
            "patient_tag", "consent", "audit_event_no_update", "audit_event_no_delete"} <= set(schema)

    second = run(url, "init")
    assert second.exit_code == 0, second.output
    assert "applied" not in second.output
    assert sqlite_tables(path) == schema
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == latest_version()
    finally:
        con.close()


def test_init_on_the_migrated_test_database_applies_nothing(database_url):
    result = run(database_url, "init")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"schema at version {latest_version()}"


# --- demo ---------------------------------------------------------------------------------

def test_demo_seeds_a_clinic_once_and_its_users_can_sign_in(app):
    url = app.config["DATABASE_URL"]
    first = run(url, "demo", "--first-run")  # what `make run` calls on a fresh install
    assert first.exit_code == 0, first.output
    seeded = counts()
    assert {s.username for s in Staff.select()} >= {"doctor", "nurse", "frontdesk", "consultant", "manager"}
    assert seeded["Staff"] == len(DEMO_STAFF)
    assert {t.name for t in Tag.select()} == {name for name, *_ in DEMO_TAGS}
    assert seeded["Family"] == 300
    assert 650 <= seeded["Patient"] <= 950, seeded
    assert seeded["PatientTag"] > 100 and seeded["Consent"] >= 3 * seeded["Patient"]
    # every patient is a member of a family whose contact exists, and the chain holds
    assert Patient.select().where(Patient.family.is_null()).count() == 0
    assert Family.select().where(Family.guarantor.is_null()).count() == 0
    assert "demo logins: doctor" in first.output and DEFAULT_DEMO_PASSWORD in first.output

    again = run(url, "demo")
    assert again.exit_code == 0, again.output
    assert counts() == seeded
    assert "already exist" in again.output

    with app.test_request_context():
        for username, _, role in DEMO_STAFF:
            person = authenticate(username, DEFAULT_DEMO_PASSWORD, "127.0.0.1", app.config)
            assert (person.username, person.role, person.must_change_password) == (username, role, False)
        with pytest.raises(ServiceError):
            authenticate("doctor", "not-the-demo-password", "127.0.0.1", app.config)


def test_demo_password_comes_from_the_environment(app):
    """Only the staff part is checked here: a database with patients skips the families."""
    factories.patient(None, name="王已有")
    result = run(app.config["DATABASE_URL"], "demo", PORTAL_DEMO_PASSWORD="another-demo-pass")
    assert result.exit_code == 0, result.output
    assert Patient.select().count() == 1  # patients present: left as they are
    with app.test_request_context():
        assert authenticate("manager", "another-demo-pass", "127.0.0.1", app.config).role == "manager"


def test_demo_first_run_on_a_database_with_staff_does_nothing(app, staff):
    before = counts()
    result = run(app.config["DATABASE_URL"], "demo", "--first-run")
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output
    assert counts() == before and Patient.select().count() == 0 and Tag.select().count() == 0
    # the fixture's own accounts were not given the demo password
    assert Staff.get(Staff.username == "doctor").display_name == "Demo doctor"


# --- create-user --------------------------------------------------------------------------

def test_create_user_makes_an_account_that_signs_in(app):
    result = run(app.config["DATABASE_URL"], "create-user", "boss", "--role", "manager",
                 "--name", "孙经理", "--password", "a-long-enough-password")
    assert result.exit_code == 0, result.output
    assert "created boss (manager)" in result.output
    person = Staff.get(Staff.username == "boss")
    assert (person.role, person.display_name, person.must_change_password, person.active) == \
        ("manager", "孙经理", False, True)
    assert person.password_hash.startswith("$argon2")
    with app.test_request_context():
        assert authenticate("boss", "a-long-enough-password", "127.0.0.1", app.config).id == person.id


def test_create_user_takes_the_password_from_the_environment(app):
    result = run(app.config["DATABASE_URL"], "create-user", "nurse2", "--role", "nurse",
                 PORTAL_NEW_PASSWORD="from-the-env-var-1")
    assert result.exit_code == 0, result.output
    with app.test_request_context():
        assert authenticate("nurse2", "from-the-env-var-1", "127.0.0.1", app.config).role == "nurse"


@pytest.mark.parametrize("username,password,message", [
    ("Bad User", "a-long-enough-password", "User names are 3–40 lower-case letters"),
    ("1abc", "a-long-enough-password", "User names are 3–40 lower-case letters"),
    ("ab", "a-long-enough-password", "User names are 3–40 lower-case letters"),
    ("x" * 41, "a-long-enough-password", "User names are 3–40 lower-case letters"),
    ("newdoc", "short", "at least 10 characters"),
    ("newdoc", "newdoc-password", "must not contain the user name"),
    ("frontdesk", "a-long-enough-password", "This user name is taken"),
])
def test_create_user_refuses_bad_input_clearly_and_writes_nothing(app, staff, username, password, message):
    before = counts()
    result = run(app.config["DATABASE_URL"], "create-user", username, "--role", "doctor",
                 "--password", password)
    assert clean_failure(result), (result.exit_code, result.output, result.exception)
    assert message in result.output
    assert counts() == before
    assert Staff.get(Staff.username == "frontdesk").role == "frontdesk"


def test_create_user_refuses_an_unknown_role(app):
    result = run(app.config["DATABASE_URL"], "create-user", "someone", "--role", "admin",
                 "--password", "a-long-enough-password")
    assert result.exit_code == 2 and "Invalid value for '--role'" in result.output
    assert Staff.select().count() == 0


# --- backup and restore -------------------------------------------------------------------

def _backup(url, out_dir):
    result = run(url, "backup", "--out", out_dir)
    assert result.exit_code == 0, (result.output, result.exception)
    match = re.search(r"backup written and verified: (\S+)", result.output)
    assert match, result.output
    path = Path(match.group(1))
    assert path.exists() and path.parent == Path(out_dir) and path.stat().st_size > 0
    return path


def _state():
    return sorted((p.chart_no, p.name, p.phone) for p in Patient.select()), counts()


def test_backup_then_restore_brings_back_the_old_state(app, staff, tmp_path):
    url = app.config["DATABASE_URL"]
    if is_postgres():  # the append-only guard as migrated (tests/test_audit.py drops it on the shared database)
        db.execute_sql("CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                       "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    kept = factories.patient(staff["frontdesk"], name="李保留", phone="13900000001")
    registry.create_family("李家", kept, staff["frontdesk"])
    saved = _state()
    path = _backup(url, tmp_path / "backups")
    assert path.suffix == (".dump" if is_postgres() else ".db")

    # the clinic keeps working after the backup ...
    factories.patient(staff["frontdesk"], name="赵新来", phone="13900000002")
    Patient.update(name="李改名").where(Patient.id == kept.id).execute()
    Family.delete().execute()
    assert _state() != saved

    result = run(url, "restore", path, "--yes")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "restored" in result.output
    db.close()  # reconnect: see the database as a new request would
    assert _state() == saved
    assert Patient.get(Patient.name == "李保留").family.name == "李家"

    # the restored database is whole: migrated, chain intact, append-only guard still in place
    check = run(url, "check")
    assert "[ok] database" in check.output and "chain intact" in check.output, check.output
    with pytest.raises((pw.IntegrityError, pw.InternalError, pw.OperationalError, pw.DatabaseError)):
        with db.atomic():
            AuditEvent.update(actor_label="someone-else").execute()
    # and it keeps working: a new registration gets the next chart number
    newcomer = factories.patient(staff["frontdesk"], name="钱后来", phone="13900000003")
    assert newcomer.chart_no > kept.chart_no


def test_restore_without_yes_asks_and_a_no_changes_nothing(app, staff, tmp_path):
    url = app.config["DATABASE_URL"]
    path = _backup(url, tmp_path / "backups")  # empty registry
    factories.patient(staff["frontdesk"], name="周留下")
    result = CliRunner().invoke(cli, ["restore", str(path)], input="n\n",
                                env={"DATABASE_URL": url, "PORTAL_LOCALE": "en"})
    assert result.exit_code == 1 and "Aborted" in result.output
    db.close()
    assert Patient.select().count() == 1


def _truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    bad = path.with_name("truncated-" + path.name)
    bad.write_bytes(data[:int(len(data) * keep)])
    return bad


@pytest.mark.parametrize("damage", ["cut-in-half", "cut-tail", "garbage", "empty", "missing"])
def test_restore_refuses_a_damaged_backup_and_leaves_the_database_alone(app, staff, tmp_path, damage):
    url = app.config["DATABASE_URL"]
    factories.patient(staff["frontdesk"], name="吴甲", phone="13900000011")
    factories.patient(staff["frontdesk"], name="吴乙", phone="13900000012")
    good = _backup(url, tmp_path / "backups")
    factories.patient(staff["frontdesk"], name="吴丙", phone="13900000013")
    current = _state()
    if damage == "cut-in-half":
        bad = _truncate(good, 0.5)
    elif damage == "cut-tail":
        bad = _truncate(good, 0.9)
    elif damage == "garbage":
        bad = tmp_path / "garbage.db"
        bad.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 64)
    elif damage == "empty":
        bad = tmp_path / "empty.db"
        bad.write_bytes(b"")
    else:
        bad = tmp_path / "no-such-backup.db"

    result = run(url, "restore", bad, "--yes")
    assert clean_failure(result), (result.exit_code, result.output, repr(result.exception))
    assert str(bad) in result.output or "backup" in result.output.lower()
    db.close()
    assert _state() == current
    if damage != "missing":
        assert bad.exists()  # the refused file is left for investigation
    # the good one still restores
    assert run(url, "restore", good, "--yes").exit_code == 0
    db.close()
    assert Patient.select().count() == 2


def test_backup_of_sqlite_is_a_consistent_verified_copy(app, staff, tmp_path):
    if is_postgres():
        pytest.skip("SQLite online backup; the PostgreSQL dump is covered by the restore tests")
    factories.patient(staff["frontdesk"], name="郑备份")
    path = _backup(app.config["DATABASE_URL"], tmp_path / "b")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT name FROM patient").fetchall() == [("郑备份",)]
        assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == latest_version()
    finally:
        con.close()


def test_backup_refuses_to_report_an_unverifiable_copy(tmp_path):
    """An unmigrated SQLite database backs up, but the copy fails verification (no schema)."""
    path = tmp_path / "bare.db"
    sqlite3.connect(path).close()
    result = run(f"sqlite:///{path}", "backup", "--out", tmp_path / "out")
    assert clean_failure(result), (result.output, repr(result.exception))
    assert "verification" in result.output


# --- check --------------------------------------------------------------------------------

def test_check_passes_on_a_healthy_migrated_database(app, staff):
    factories.patient(staff["frontdesk"], name="冯健康")
    result = run(app.config["DATABASE_URL"], "check")
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in lines] == [
        "[ok] database", "[ok] queue", "[ok] CJK font", "[ok] HarfBuzz subsetting", "[ok] audit chain",
        "[ok] schedule triggers", "[ok] consent forms"]
    assert f"schema version {latest_version()}" in result.output
    assert ("PostgresqlDatabase" if is_postgres() else "SqliteDatabase") in result.output
    assert "FAIL" not in result.output and "fix:" not in result.output
    quiet = run(app.config["DATABASE_URL"], "check", "--quiet-ok")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_check_fails_on_an_unmigrated_database_and_names_the_fix(tmp_path):
    path = tmp_path / "new.db"
    url = f"sqlite:///{path}"
    result = run(url, "check")
    assert result.exit_code == 1, result.output
    assert "[FAIL] database: schema version 0, code expects" in result.output
    assert "portal init" in result.output
    assert "[FAIL] schedule triggers: not created yet" in result.output
    assert "Traceback" not in result.output
    # following the advice fixes it
    assert run(url, "init").exit_code == 0
    again = run(url, "check")
    assert again.exit_code == 0, again.output


def test_check_fails_on_an_unreachable_database(tmp_path):
    url = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    result = run(url, "check")
    assert result.exit_code == 1
    assert "[FAIL] database: cannot connect" in result.output and "DATABASE_URL" in result.output


def test_backup_keeps_the_clinical_images_and_restore_puts_them_back(app, staff, tmp_path):
    """A restored clinic must have its X-rays too: backup mirrors each image (verified against the
    hash recorded at upload), copies only new ones next time, and restore puts missing ones back."""
    from portal.services import chart_images as images
    from tests.chart_samples import tiny_png
    url, root = app.config["DATABASE_URL"], tmp_path / "images"
    app.config["IMAGE_ROOT"] = str(root)
    patient = factories.patient(staff["frontdesk"], name="影像", phone="13900000009")
    first = images.store(patient, "a.png", tiny_png(), "intraoral", staff["doctor"], root)
    out = tmp_path / "backups"

    result = run(url, "backup", "--out", out, IMAGE_ROOT=str(root))
    assert result.exit_code == 0, result.output
    assert "images: 1 new, 1 in all" in result.output
    kept = out / "images" / first.stored_name[:2] / first.stored_name
    assert kept.read_bytes() == (root / first.stored_name[:2] / first.stored_name).read_bytes()

    second = images.store(patient, "b.png", tiny_png(extra=b"second"), "intraoral", staff["doctor"], root)
    result = run(url, "backup", "--out", out, IMAGE_ROOT=str(root))
    assert "images: 1 new, 2 in all" in result.output, result.output  # the first is not copied again
    path = Path(re.findall(r"backup written and verified: (\S+)", result.output)[-1])

    # the disk loses both files; restore brings the database and the images back
    for image in (first, second):
        (root / image.stored_name[:2] / image.stored_name).unlink()
    result = run(url, "restore", path, "--yes", IMAGE_ROOT=str(root))
    assert result.exit_code == 0 and "2 images put back" in result.output, result.output
    for image in (first, second):
        assert images.path_of(image, root).read_bytes() == (out / "images" / image.stored_name[:2] / image.stored_name).read_bytes()


def test_backup_refuses_to_report_images_it_could_not_copy(app, staff, tmp_path):
    from portal.services import chart_images as images
    from tests.chart_samples import tiny_png
    root = tmp_path / "images"
    patient = factories.patient(staff["frontdesk"], name="缺图", phone="13900000008")
    image = images.store(patient, "a.png", tiny_png(), "intraoral", staff["doctor"], root)
    (root / image.stored_name[:2] / image.stored_name).unlink()
    result = run(app.config["DATABASE_URL"], "backup", "--out", tmp_path / "b", IMAGE_ROOT=str(root))
    assert clean_failure(result) and "missing" in result.output and image.stored_name in result.output
