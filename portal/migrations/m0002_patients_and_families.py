"""The registry: families, patients, tags and consent decisions."""


def up(run):
    run("""CREATE TABLE family (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        name VARCHAR(60) NOT NULL,
        guarantor_id INTEGER,
        note {text} NOT NULL DEFAULT '',
        created_at {ts} NOT NULL)""")
    run("""CREATE TABLE patient (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        chart_no VARCHAR(20){c} NOT NULL UNIQUE,
        name VARCHAR(40){c} NOT NULL,
        name_pinyin VARCHAR(120){c} NOT NULL,
        name_initials VARCHAR(40){c} NOT NULL,
        sex VARCHAR(1) NOT NULL,
        birth_date DATE NOT NULL,
        phone VARCHAR(20){c} NOT NULL,
        phone_rev VARCHAR(20){c} NOT NULL,
        phone2 VARCHAR(20) NOT NULL DEFAULT '',
        email VARCHAR(120) NOT NULL DEFAULT '',
        id_number VARCHAR(18) NOT NULL DEFAULT '',
        address VARCHAR(200) NOT NULL DEFAULT '',
        occupation_group VARCHAR(10) NOT NULL,
        preferred_channel VARCHAR(10) NOT NULL DEFAULT 'sms',
        preferred_time VARCHAR(10) NOT NULL DEFAULT 'any',
        allergies {text} NOT NULL DEFAULT '',
        medical_alerts {text} NOT NULL DEFAULT '',
        referred_by_id INTEGER REFERENCES patient (id) ON DELETE SET NULL,
        referral_channel VARCHAR(20) NOT NULL DEFAULT 'walk_in',
        family_id INTEGER REFERENCES family (id) ON DELETE SET NULL,
        attending_doctor_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        restricted {bool} NOT NULL DEFAULT {false},
        created_at {ts} NOT NULL,
        created_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        updated_at {ts} NOT NULL)""")
    for column in ("name", "name_pinyin", "name_initials", "phone", "phone_rev", "birth_date",
                   "family_id", "referred_by_id", "attending_doctor_id"):
        run(f"CREATE INDEX patient_{column} ON patient ({column})")
    # Guarantor points back at a patient; PostgreSQL needs the table to exist first.
    run("""ALTER TABLE family ADD CONSTRAINT family_guarantor_fk FOREIGN KEY (guarantor_id)
           REFERENCES patient (id) ON DELETE SET NULL""", only="postgres")
    run("""CREATE TABLE tag (
        id {pk},
        name VARCHAR(30) NOT NULL UNIQUE,
        color VARCHAR(7) NOT NULL DEFAULT '#64748b',
        clinical_alert {bool} NOT NULL DEFAULT {false})""")
    run("""CREATE TABLE patient_tag (
        id {pk},
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tag (id) ON DELETE CASCADE,
        created_at {ts} NOT NULL)""")
    run("CREATE UNIQUE INDEX patient_tag_patient_tag ON patient_tag (patient_id, tag_id)")
    run("CREATE INDEX patient_tag_tag_id ON patient_tag (tag_id)")
    run("""CREATE TABLE consent (
        id {pk},
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE CASCADE,
        kind VARCHAR(20) NOT NULL,
        version VARCHAR(20) NOT NULL,
        granted {bool} NOT NULL,
        method VARCHAR(20) NOT NULL DEFAULT 'paper',
        recorded_at {ts} NOT NULL,
        recorded_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL)""")
    run("CREATE INDEX consent_patient_kind ON consent (patient_id, kind)")
