"""Perio charts (issue 14): one row per dated exam, the readings as one JSON text."""


def up(run):
    run("""CREATE TABLE perio_exam (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        visit_id INTEGER REFERENCES visit (id) ON DELETE SET NULL,
        exam_date DATE NOT NULL,
        teeth INTEGER NOT NULL DEFAULT 28 CHECK (teeth IN (28, 32)),
        readings {text} NOT NULL DEFAULT '{{}}',
        summary {text} NOT NULL DEFAULT '{{}}',
        sites_4mm INTEGER NOT NULL DEFAULT 0,
        status VARCHAR(10) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'confirmed')),
        version INTEGER NOT NULL DEFAULT 1,
        recorded_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        updated_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        confirmed_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        confirmed_at {ts},
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL)""")
    run("CREATE INDEX perio_exam_patient_exam_date ON perio_exam (patient_id, exam_date)")
