"""Staff accounts, server-side sessions, login attempts and the append-only audit trail."""


def up(run):
    run("""CREATE TABLE staff (
        id {pk},
        username VARCHAR(40) NOT NULL UNIQUE,
        display_name VARCHAR(60) NOT NULL,
        role VARCHAR(20) NOT NULL,
        password_hash VARCHAR(200) NOT NULL,
        active {bool} NOT NULL DEFAULT {true},
        locale VARCHAR(10),
        must_change_password {bool} NOT NULL DEFAULT {false},
        created_at {ts} NOT NULL,
        password_changed_at {ts} NOT NULL)""")
    run("""CREATE TABLE staff_session (
        id {pk},
        key_hash VARCHAR(64) NOT NULL UNIQUE,
        staff_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
        created_at {ts} NOT NULL,
        last_seen_at {ts} NOT NULL,
        ip VARCHAR(64),
        user_agent VARCHAR(200),
        ended_at {ts},
        end_reason VARCHAR(30))""")
    run("CREATE INDEX staff_session_staff_id ON staff_session (staff_id)")
    run("""CREATE TABLE login_attempt (
        id {pk},
        username VARCHAR(40) NOT NULL,
        ip VARCHAR(64) NOT NULL,
        at {ts} NOT NULL,
        success {bool} NOT NULL)""")
    run("CREATE INDEX login_attempt_username ON login_attempt (username)")
    run("CREATE INDEX login_attempt_ip ON login_attempt (ip)")
    run("CREATE INDEX login_attempt_at ON login_attempt (at)")
    run("""CREATE TABLE audit_event (
        id {pk},
        at {ts} NOT NULL,
        actor_id INTEGER,
        actor_label VARCHAR(60) NOT NULL,
        role VARCHAR(20),
        action VARCHAR(30) NOT NULL,
        patient_id INTEGER,
        object_type VARCHAR(30),
        object_ref VARCHAR(40),
        detail {text} NOT NULL DEFAULT '',
        ip VARCHAR(64),
        prev_hash VARCHAR(64) NOT NULL,
        hash VARCHAR(64) NOT NULL UNIQUE)""")
    run("CREATE INDEX audit_event_at ON audit_event (at)")
    run("CREATE INDEX audit_event_actor_id ON audit_event (actor_id)")
    run("CREATE INDEX audit_event_action ON audit_event (action)")
    run("CREATE INDEX audit_event_patient_id ON audit_event (patient_id)")
    # Append-only at the database too: the app never updates or deletes audit rows.
    run("""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
           BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""", only="sqlite")
    run("""CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
           BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""", only="sqlite")
    run("""CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$ LANGUAGE plpgsql""",
        only="postgres")
    run("""CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
           FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""", only="postgres")
