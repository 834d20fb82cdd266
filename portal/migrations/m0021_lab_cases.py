"""Dental labs and lab cases (技工单, issue 14): the work sent out, its state, due date and costs."""


def up(run):
    run("""CREATE TABLE lab (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        name VARCHAR(80) NOT NULL,
        phone VARCHAR(30) NOT NULL DEFAULT '',
        contact VARCHAR(40) NOT NULL DEFAULT '',
        active {bool} NOT NULL DEFAULT {true},
        created_at {ts} NOT NULL)""")
    run("""CREATE TABLE lab_case (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        lab_id INTEGER NOT NULL REFERENCES lab (id) ON DELETE RESTRICT,
        plan_item_id INTEGER REFERENCES plan_item (id) ON DELETE SET NULL,
        visit_id INTEGER REFERENCES visit (id) ON DELETE SET NULL,
        work_type VARCHAR(20) NOT NULL,
        teeth VARCHAR(60) NOT NULL DEFAULT '',
        shade VARCHAR(20) NOT NULL DEFAULT '',
        material VARCHAR(60) NOT NULL DEFAULT '',
        note VARCHAR(200) NOT NULL DEFAULT '',
        sent_on DATE NOT NULL,
        due_on DATE NOT NULL,
        lab_fee_fen INTEGER NOT NULL DEFAULT 0 CHECK (lab_fee_fen >= 0),
        price_fen INTEGER NOT NULL DEFAULT 0 CHECK (price_fen >= 0),
        status VARCHAR(12) NOT NULL DEFAULT 'sent'
            CHECK (status IN ('sent', 'in_progress', 'received', 'fitted', 'remade', 'cancelled')),
        reason VARCHAR(200) NOT NULL DEFAULT '',
        received_on DATE,
        created_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        status_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        status_at {ts},
        CHECK (due_on >= sent_on))""")
    for column in ("patient_id", "lab_id", "plan_item_id", "visit_id", "created_by_id", "status_by_id"):
        run(f"CREATE INDEX lab_case_{column} ON lab_case ({column})")
    run("CREATE INDEX lab_case_status_due ON lab_case (status, due_on)")
