"""Clinic rules edited by the manager (issue 11): one row per change of one setting."""


def up(run):
    run("""CREATE TABLE clinic_setting (
        id {pk},
        key VARCHAR(60) NOT NULL,
        value VARCHAR(200) NOT NULL,
        version INTEGER NOT NULL,
        changed_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        changed_at {ts} NOT NULL)""")
    run("CREATE UNIQUE INDEX clinic_setting_key_version ON clinic_setting (key, version)")
    run("CREATE INDEX clinic_setting_changed_by_id ON clinic_setting (changed_by_id)")
