"""One-time form keys (issue 12): a repeated submission of the same form gets the first answer."""


def up(run):
    run("""CREATE TABLE form_submission (
        key VARCHAR(32) NOT NULL PRIMARY KEY,
        staff_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
        created_at {ts} NOT NULL,
        status VARCHAR(10) NOT NULL,
        response_status INTEGER,
        headers {text} NOT NULL,
        body {text} NOT NULL)""")
    run("CREATE INDEX form_submission_created_at ON form_submission (created_at)")
    run("CREATE INDEX form_submission_staff_id ON form_submission (staff_id)")
