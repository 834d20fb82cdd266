"""Chart and receipt numbers from a locked counter row (issue 12), not MAX()+1: on PostgreSQL two
desks registering at the same instant read the same MAX and one of them failed.

The counter starts where the numbers already issued stop, per year, so an existing clinic
continues its sequence. Only numbers in the portal's own format count (2026000123, R2026000123);
an imported chart number in another format does not move the sequence.
"""

# (dialect or None for both, SQL): also run by tests/test_sequences.py to check the seeding
SEED = [
    ("sqlite", """INSERT INTO counter (name, year, value)
        SELECT 'chart', CAST(substr(chart_no, 1, 4) AS INTEGER), MAX(CAST(substr(chart_no, 5) AS INTEGER))
        FROM patient WHERE chart_no GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
        GROUP BY substr(chart_no, 1, 4)"""),
    ("sqlite", """INSERT INTO counter (name, year, value)
        SELECT 'receipt', CAST(substr(receipt_no, 2, 4) AS INTEGER), MAX(CAST(substr(receipt_no, 6) AS INTEGER))
        FROM bill WHERE receipt_no GLOB 'R[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
        GROUP BY substr(receipt_no, 2, 4)"""),
    ("postgres", """INSERT INTO counter (name, year, value)
        SELECT 'chart', CAST(substr(chart_no, 1, 4) AS INTEGER), MAX(CAST(substr(chart_no, 5) AS INTEGER))
        FROM patient WHERE chart_no ~ '^[0-9]{{10}}$'
        GROUP BY substr(chart_no, 1, 4)"""),
    ("postgres", """INSERT INTO counter (name, year, value)
        SELECT 'receipt', CAST(substr(receipt_no, 2, 4) AS INTEGER), MAX(CAST(substr(receipt_no, 6) AS INTEGER))
        FROM bill WHERE receipt_no ~ '^R[0-9]{{10}}$'
        GROUP BY substr(receipt_no, 2, 4)"""),
]


def up(run):
    run("""CREATE TABLE counter (
        name VARCHAR(20) NOT NULL,
        year INTEGER NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (name, year))""")
    for only, sql in SEED:
        run(sql, only=only)
