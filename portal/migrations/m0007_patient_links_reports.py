"""Patient read-only links (hashed tokens, exchanged sessions, knowledge-check attempts) and
background print jobs (issue 5)."""


def up(run):
    run("""CREATE TABLE patient_link (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        scope VARCHAR(10) NOT NULL CHECK (scope IN ('patient', 'guardian', 'family')),
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE CASCADE,
        holder_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE CASCADE,
        family_id INTEGER REFERENCES family (id) ON DELETE CASCADE,
        purpose VARCHAR(10) NOT NULL DEFAULT 'link',
        created_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        expires_at {ts} NOT NULL,
        revoked_at {ts},
        revoked_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        replaced_by_id INTEGER REFERENCES patient_link (id) ON DELETE SET NULL,
        last_used_at {ts},
        uses INTEGER NOT NULL DEFAULT 0)""")
    run("CREATE INDEX patient_link_patient_id ON patient_link (patient_id)")
    run("CREATE INDEX patient_link_holder_id ON patient_link (holder_id)")
    run("CREATE INDEX patient_link_family_id ON patient_link (family_id)")
    run("CREATE INDEX patient_link_created_by_id ON patient_link (created_by_id)")
    run("CREATE INDEX patient_link_revoked_by_id ON patient_link (revoked_by_id)")
    run("CREATE INDEX patient_link_replaced_by_id ON patient_link (replaced_by_id)")
    run("""CREATE TABLE patient_link_session (
        id {pk},
        session_hash VARCHAR(64) NOT NULL UNIQUE,
        link_id INTEGER NOT NULL REFERENCES patient_link (id) ON DELETE CASCADE,
        created_at {ts} NOT NULL,
        expires_at {ts} NOT NULL,
        verified_at {ts})""")
    run("CREATE INDEX patient_link_session_link_id ON patient_link_session (link_id)")
    run("""CREATE TABLE patient_link_attempt (
        id {pk},
        link_id INTEGER REFERENCES patient_link (id) ON DELETE CASCADE,
        ip VARCHAR(45) NOT NULL DEFAULT '',
        ok {bool} NOT NULL,
        at {ts} NOT NULL)""")
    run("CREATE INDEX patient_link_attempt_link_id_at ON patient_link_attempt (link_id, at)")
    run("CREATE INDEX patient_link_attempt_ip_at ON patient_link_attempt (ip, at)")
    run("""CREATE TABLE print_job (
        id {pk},
        code VARCHAR(24) NOT NULL UNIQUE,
        kind VARCHAR(20) NOT NULL,
        patient_id INTEGER REFERENCES patient (id) ON DELETE CASCADE,
        params {text} NOT NULL DEFAULT '{{}}',
        locale VARCHAR(10) NOT NULL DEFAULT 'zh_CN',
        requested_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
        status VARCHAR(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
        done_count INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        stored_name VARCHAR(80),
        filename VARCHAR(120) NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        error VARCHAR(200) NOT NULL DEFAULT '',
        created_at {ts} NOT NULL,
        finished_at {ts})""")
    run("CREATE INDEX print_job_patient_id ON print_job (patient_id)")
    run("CREATE INDEX print_job_requested_by_id ON print_job (requested_by_id)")
