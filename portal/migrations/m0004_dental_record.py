"""The lifelong dental record: catalogue, protocols, visits, chart entries, plans, images."""


def up(run):
    run("""CREATE TABLE procedure (
        id {pk},
        code VARCHAR(20) NOT NULL UNIQUE,
        name_zh VARCHAR(60) NOT NULL,
        name_en VARCHAR(80) NOT NULL,
        department VARCHAR(20) NOT NULL,
        duration_minutes INTEGER NOT NULL DEFAULT 30 CHECK (duration_minutes > 0),
        price_fen INTEGER NOT NULL DEFAULT 0 CHECK (price_fen >= 0),
        instructions_adult {text} NOT NULL DEFAULT '',
        instructions_child {text} NOT NULL DEFAULT '',
        followup_rules {text} NOT NULL DEFAULT '[]',
        active {bool} NOT NULL DEFAULT {true},
        updated_at {ts} NOT NULL)""")
    run("""CREATE TABLE protocol_step (
        id {pk},
        procedure_id INTEGER NOT NULL REFERENCES procedure (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text_zh VARCHAR(200) NOT NULL,
        text_en VARCHAR(200) NOT NULL)""")
    run("CREATE UNIQUE INDEX protocol_step_procedure_position ON protocol_step (procedure_id, position)")
    run("""CREATE TABLE visit (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        appointment_id INTEGER REFERENCES appointment (id) ON DELETE SET NULL,
        visit_date DATE NOT NULL,
        chief_complaint {text} NOT NULL DEFAULT '',
        examination {text} NOT NULL DEFAULT '',
        diagnosis {text} NOT NULL DEFAULT '',
        treatment {text} NOT NULL DEFAULT '',
        advice {text} NOT NULL DEFAULT '',
        status VARCHAR(10) NOT NULL DEFAULT 'draft',
        signed_at {ts},
        signed_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL,
        CHECK (status IN ('draft', 'signed')))""")
    run("CREATE INDEX visit_patient_visit_date ON visit (patient_id, visit_date)")
    run("CREATE INDEX visit_doctor_id ON visit (doctor_id)")
    run("CREATE INDEX visit_appointment_id ON visit (appointment_id)")
    run("CREATE INDEX visit_signed_by_id ON visit (signed_by_id)")
    run("""CREATE TABLE visit_addendum (
        id {pk},
        visit_id INTEGER NOT NULL REFERENCES visit (id) ON DELETE RESTRICT,
        text {text} NOT NULL,
        author_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX visit_addendum_visit_id ON visit_addendum (visit_id)")
    run("CREATE INDEX visit_addendum_author_id ON visit_addendum (author_id)")
    run("""CREATE TABLE chart_entry (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        visit_id INTEGER REFERENCES visit (id) ON DELETE RESTRICT,
        tooth INTEGER NOT NULL CHECK ((tooth BETWEEN 11 AND 18) OR (tooth BETWEEN 21 AND 28)
            OR (tooth BETWEEN 31 AND 38) OR (tooth BETWEEN 41 AND 48) OR (tooth BETWEEN 51 AND 55)
            OR (tooth BETWEEN 61 AND 65) OR (tooth BETWEEN 71 AND 75) OR (tooth BETWEEN 81 AND 85)),
        surfaces VARCHAR(6) NOT NULL DEFAULT '',
        kind VARCHAR(20) NOT NULL,
        status VARCHAR(10) NOT NULL CHECK (status IN ('existing', 'planned', 'done')),
        grade INTEGER,
        note VARCHAR(200) NOT NULL DEFAULT '',
        recorded_on DATE NOT NULL,
        recorded_at {ts} NOT NULL,
        recorded_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        corrects_id INTEGER REFERENCES chart_entry (id) ON DELETE RESTRICT,
        entered_in_error {bool} NOT NULL DEFAULT {false})""")
    run("CREATE INDEX chart_entry_patient_recorded_on ON chart_entry (patient_id, recorded_on)")
    run("CREATE INDEX chart_entry_visit_id ON chart_entry (visit_id)")
    run("CREATE INDEX chart_entry_recorded_by_id ON chart_entry (recorded_by_id)")
    # A correction is made once: a second one must correct the correction.
    run("CREATE UNIQUE INDEX chart_entry_corrects_id ON chart_entry (corrects_id)")
    run("""CREATE TABLE visit_procedure (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        visit_id INTEGER NOT NULL REFERENCES visit (id) ON DELETE RESTRICT,
        procedure_id INTEGER NOT NULL REFERENCES procedure (id) ON DELETE RESTRICT,
        tooth INTEGER,
        status VARCHAR(12) NOT NULL DEFAULT 'in_progress',
        alerts_seen_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        started_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        started_at {ts} NOT NULL,
        completed_at {ts})""")
    for column in ("visit_id", "procedure_id", "alerts_seen_by_id", "started_by_id"):
        run(f"CREATE INDEX visit_procedure_{column} ON visit_procedure ({column})")
    run("""CREATE TABLE step_tick (
        id {pk},
        run_id INTEGER NOT NULL REFERENCES visit_procedure (id) ON DELETE RESTRICT,
        position INTEGER NOT NULL,
        text_zh VARCHAR(200) NOT NULL,
        text_en VARCHAR(200) NOT NULL,
        state VARCHAR(10) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'skipped')),
        by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        at {ts},
        skip_reason VARCHAR(200) NOT NULL DEFAULT '',
        CHECK (state <> 'skipped' OR skip_reason <> ''))""")
    run("CREATE UNIQUE INDEX step_tick_run_position ON step_tick (run_id, position)")
    run("CREATE INDEX step_tick_by_id ON step_tick (by_id)")
    run("""CREATE TABLE plan_item (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        procedure_id INTEGER NOT NULL REFERENCES procedure (id) ON DELETE RESTRICT,
        tooth INTEGER,
        price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
        priority INTEGER NOT NULL DEFAULT 2,
        phase INTEGER NOT NULL DEFAULT 1,
        alternative_to_id INTEGER REFERENCES plan_item (id) ON DELETE SET NULL,
        status VARCHAR(10) NOT NULL DEFAULT 'proposed'
            CHECK (status IN ('proposed', 'accepted', 'declined', 'scheduled', 'done')),
        decline_reason VARCHAR(200) NOT NULL DEFAULT '',
        appointment_id INTEGER REFERENCES appointment (id) ON DELETE SET NULL,
        note VARCHAR(200) NOT NULL DEFAULT '',
        created_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        status_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        status_at {ts},
        CHECK (status <> 'declined' OR decline_reason <> ''))""")
    for column in ("patient_id", "procedure_id", "alternative_to_id", "appointment_id",
                   "created_by_id", "status_by_id"):
        run(f"CREATE INDEX plan_item_{column} ON plan_item ({column})")
    run("CREATE INDEX plan_item_status ON plan_item (status)")
    run("""CREATE TABLE clinical_image (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        visit_id INTEGER REFERENCES visit (id) ON DELETE SET NULL,
        kind VARCHAR(12) NOT NULL,
        teeth VARCHAR(60) NOT NULL DEFAULT '',
        content_type VARCHAR(40) NOT NULL,
        size INTEGER NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        stored_name VARCHAR(80) NOT NULL UNIQUE,
        original_name VARCHAR(100) NOT NULL DEFAULT '',
        note VARCHAR(200) NOT NULL DEFAULT '',
        released {bool} NOT NULL DEFAULT {false},
        uploaded_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        uploaded_at {ts} NOT NULL)""")
    for column in ("patient_id", "visit_id", "uploaded_by_id"):
        run(f"CREATE INDEX clinical_image_{column} ON clinical_image ({column})")
