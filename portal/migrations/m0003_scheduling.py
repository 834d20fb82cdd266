"""Chairs, shifts, appointments (no overlaps), the outbox and calendar feeds."""


def up(run):
    run("""CREATE TABLE chair (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        name VARCHAR(30) NOT NULL,
        room VARCHAR(30) NOT NULL DEFAULT '',
        is_vip {bool} NOT NULL DEFAULT {false},
        active {bool} NOT NULL DEFAULT {true},
        sort_order INTEGER NOT NULL DEFAULT 0)""")
    run("""CREATE TABLE shift_pattern (
        id {pk},
        doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
        weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
        start_time TIME NOT NULL,
        end_time TIME NOT NULL,
        chair_id INTEGER REFERENCES chair (id) ON DELETE SET NULL,
        valid_from DATE NOT NULL,
        valid_to DATE,
        CHECK (start_time < end_time))""")
    run("CREATE INDEX shift_pattern_doctor_id ON shift_pattern (doctor_id, weekday)")
    run("CREATE INDEX shift_pattern_chair_id ON shift_pattern (chair_id)")
    run("""CREATE TABLE shift_exception (
        id {pk},
        doctor_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
        day DATE NOT NULL,
        kind VARCHAR(10) NOT NULL,
        start_time TIME,
        end_time TIME,
        note VARCHAR(100) NOT NULL DEFAULT '',
        created_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL)""")
    run("CREATE INDEX shift_exception_day ON shift_exception (day)")
    run("CREATE INDEX shift_exception_doctor_id ON shift_exception (doctor_id)")
    run("CREATE INDEX shift_exception_created_by_id ON shift_exception (created_by_id)")
    run("""CREATE TABLE appointment (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE CASCADE,
        doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        chair_id INTEGER NOT NULL REFERENCES chair (id) ON DELETE RESTRICT,
        start_at {ts} NOT NULL,
        end_at {ts} NOT NULL,
        visit_type VARCHAR(12) NOT NULL,
        planned VARCHAR(200) NOT NULL DEFAULT '',
        notes {text} NOT NULL DEFAULT '',
        source VARCHAR(12) NOT NULL DEFAULT 'frontdesk',
        status VARCHAR(12) NOT NULL DEFAULT 'booked',
        confirmed_at {ts},
        arrived_at {ts},
        seated_at {ts},
        completed_at {ts},
        cancel_reason VARCHAR(200) NOT NULL DEFAULT '',
        rescheduled_to_id INTEGER REFERENCES appointment (id) ON DELETE SET NULL,
        created_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        created_at {ts} NOT NULL,
        updated_at {ts} NOT NULL,
        CHECK (start_at < end_at))""")
    # Range lookups per day, per doctor, per chair, per patient stay on indexes at any size.
    run("CREATE INDEX appointment_start_at ON appointment (start_at)")
    run("CREATE INDEX appointment_doctor_start ON appointment (doctor_id, start_at)")
    run("CREATE INDEX appointment_chair_start ON appointment (chair_id, start_at)")
    run("CREATE INDEX appointment_patient_start ON appointment (patient_id, start_at)")
    run("CREATE INDEX appointment_created_by_id ON appointment (created_by_id)")
    run("CREATE INDEX appointment_rescheduled_to_id ON appointment (rescheduled_to_id)")
    # PostgreSQL refuses overlapping active appointments itself, whatever the application does.
    run("CREATE EXTENSION IF NOT EXISTS btree_gist", only="postgres")
    for column in ("doctor_id", "chair_id", "patient_id"):
        run(f"""ALTER TABLE appointment ADD CONSTRAINT appointment_no_overlap_{column}
                EXCLUDE USING gist ({column} WITH =, tsrange(start_at, end_at) WITH &&)
                WHERE (status IN ('booked', 'arrived', 'seated', 'completed'))""", only="postgres")
    run("""CREATE TABLE appointment_event (
        id {pk},
        appointment_id INTEGER NOT NULL REFERENCES appointment (id) ON DELETE CASCADE,
        at {ts} NOT NULL,
        by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        change VARCHAR(30) NOT NULL,
        from_status VARCHAR(12) NOT NULL DEFAULT '',
        to_status VARCHAR(12) NOT NULL DEFAULT '',
        note VARCHAR(200) NOT NULL DEFAULT '')""")
    run("CREATE INDEX appointment_event_appointment_id ON appointment_event (appointment_id)")
    run("CREATE INDEX appointment_event_by_id ON appointment_event (by_id)")
    run("""CREATE TABLE outbox_message (
        id {pk},
        patient_id INTEGER REFERENCES patient (id) ON DELETE CASCADE,
        staff_id INTEGER REFERENCES staff (id) ON DELETE CASCADE,
        appointment_id INTEGER REFERENCES appointment (id) ON DELETE CASCADE,
        channel VARCHAR(10) NOT NULL,
        recipient VARCHAR(120) NOT NULL,
        template VARCHAR(40) NOT NULL,
        locale VARCHAR(10) NOT NULL DEFAULT 'zh_CN',
        context {text} NOT NULL DEFAULT '{{}}',
        scheduled_at {ts} NOT NULL,
        not_after {ts},
        status VARCHAR(10) NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at {ts},
        claimed_at {ts},
        sent_at {ts},
        last_error VARCHAR(300) NOT NULL DEFAULT '',
        unique_key VARCHAR(120) NOT NULL UNIQUE,
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX outbox_message_scheduled_at ON outbox_message (scheduled_at)")
    run("CREATE INDEX outbox_message_status ON outbox_message (status)")
    run("CREATE INDEX outbox_message_due ON outbox_message (status, scheduled_at)")
    run("CREATE INDEX outbox_message_patient_id ON outbox_message (patient_id)")
    run("CREATE INDEX outbox_message_appointment_id ON outbox_message (appointment_id)")
    run("CREATE INDEX outbox_message_staff_id ON outbox_message (staff_id)")
    run("""CREATE TABLE calendar_feed (
        id {pk},
        doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        created_at {ts} NOT NULL,
        revoked_at {ts})""")
    run("CREATE INDEX calendar_feed_doctor_id ON calendar_feed (doctor_id)")
