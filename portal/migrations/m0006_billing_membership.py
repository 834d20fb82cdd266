"""Billing and membership (issue 7): bills, lines and payments in integer fen; member cards and
tiers; the append-only points ledger; yearly benefits and their uses; referrals; gifts and their
movements; the desk's hand-over tasks; change-of-doctor requests; the manager's settings."""


def up(run):
    run("""CREATE TABLE bill (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        receipt_no VARCHAR(20) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        visit_id INTEGER UNIQUE REFERENCES visit (id) ON DELETE RESTRICT,
        status VARCHAR(10) NOT NULL DEFAULT 'open',
        created_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        paid_at {ts})""")
    run("CREATE INDEX bill_created_by_id ON bill (created_by_id)")
    run("CREATE INDEX bill_patient_id_created_at ON bill (patient_id, created_at)")
    run("""CREATE TABLE bill_line (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        bill_id INTEGER NOT NULL REFERENCES bill (id) ON DELETE RESTRICT,
        kind VARCHAR(12) NOT NULL,
        description VARCHAR(120) NOT NULL,
        department VARCHAR(20) NOT NULL DEFAULT '',
        procedure_id INTEGER REFERENCES procedure (id) ON DELETE RESTRICT,
        visit_procedure_id INTEGER REFERENCES visit_procedure (id) ON DELETE RESTRICT,
        amount_fen INTEGER NOT NULL,
        reason VARCHAR(200) NOT NULL DEFAULT '',
        state VARCHAR(10) NOT NULL DEFAULT 'approved',
        created_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        decided_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        decided_at {ts})""")
    run("CREATE INDEX bill_line_bill_id ON bill_line (bill_id)")
    run("CREATE INDEX bill_line_procedure_id ON bill_line (procedure_id)")
    run("CREATE INDEX bill_line_visit_procedure_id ON bill_line (visit_procedure_id)")
    run("CREATE INDEX bill_line_created_by_id ON bill_line (created_by_id)")
    run("CREATE INDEX bill_line_decided_by_id ON bill_line (decided_by_id)")
    run("""CREATE TABLE payment (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        bill_id INTEGER NOT NULL REFERENCES bill (id) ON DELETE RESTRICT,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        kind VARCHAR(10) NOT NULL DEFAULT 'payment',
        method VARCHAR(10) NOT NULL,
        amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
        state VARCHAR(10) NOT NULL DEFAULT 'done',
        refund_of_id INTEGER REFERENCES payment (id) ON DELETE RESTRICT,
        reference VARCHAR(60) NOT NULL DEFAULT '',
        reason VARCHAR(200) NOT NULL DEFAULT '',
        points_earned INTEGER NOT NULL DEFAULT 0,
        taken_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        taken_at {ts} NOT NULL,
        decided_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        decided_at {ts})""")
    run("CREATE INDEX payment_bill_id ON payment (bill_id)")
    run("CREATE INDEX payment_patient_id ON payment (patient_id)")
    run("CREATE INDEX payment_refund_of_id ON payment (refund_of_id)")
    run("CREATE INDEX payment_taken_by_id ON payment (taken_by_id)")
    run("CREATE INDEX payment_taken_at ON payment (taken_at)")
    run("CREATE INDEX payment_decided_by_id ON payment (decided_by_id)")
    run("""CREATE TABLE member_setting (
        id {pk},
        key VARCHAR(40) NOT NULL UNIQUE,
        value VARCHAR(200) NOT NULL,
        updated_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        updated_at {ts} NOT NULL)""")
    run("CREATE INDEX member_setting_updated_by_id ON member_setting (updated_by_id)")
    run("""CREATE TABLE membership (
        id {pk},
        patient_id INTEGER NOT NULL UNIQUE REFERENCES patient (id) ON DELETE RESTRICT,
        card_no VARCHAR(20) NOT NULL UNIQUE,
        tier VARCHAR(10) NOT NULL DEFAULT '',
        tier_reached_at {ts},
        paid_total_fen BIGINT NOT NULL DEFAULT 0,
        points INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX membership_tier ON membership (tier)")
    run("""CREATE TABLE tier_change (
        id {pk},
        membership_id INTEGER NOT NULL REFERENCES membership (id) ON DELETE RESTRICT,
        from_tier VARCHAR(10) NOT NULL DEFAULT '',
        to_tier VARCHAR(10) NOT NULL,
        basis VARCHAR(12) NOT NULL,
        amount_fen BIGINT NOT NULL,
        payment_id INTEGER REFERENCES payment (id) ON DELETE RESTRICT,
        reached_at {ts} NOT NULL)""")
    run("CREATE INDEX tier_change_membership_id ON tier_change (membership_id)")
    run("CREATE INDEX tier_change_payment_id ON tier_change (payment_id)")
    run("""CREATE TABLE point_entry (
        id {pk},
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        delta INTEGER NOT NULL,
        reason VARCHAR(12) NOT NULL,
        note VARCHAR(200) NOT NULL DEFAULT '',
        payment_id INTEGER REFERENCES payment (id) ON DELETE RESTRICT,
        expires_on DATE,
        remaining INTEGER NOT NULL DEFAULT 0 CHECK (remaining >= 0),
        unique_key VARCHAR(80) UNIQUE,
        created_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX point_entry_payment_id ON point_entry (payment_id)")
    run("CREATE INDEX point_entry_created_by_id ON point_entry (created_by_id)")
    run("CREATE INDEX point_entry_patient_id_created_at ON point_entry (patient_id, created_at)")
    run("CREATE INDEX point_entry_expires_on_remaining ON point_entry (expires_on, remaining)")
    run("""CREATE TABLE benefit_grant (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        year INTEGER NOT NULL,
        kind VARCHAR(20) NOT NULL,
        child_id INTEGER REFERENCES patient (id) ON DELETE RESTRICT,
        quantity INTEGER NOT NULL,
        used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
        grant_key VARCHAR(60) NOT NULL UNIQUE,
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX benefit_grant_child_id ON benefit_grant (child_id)")
    run("CREATE INDEX benefit_grant_patient_id_year ON benefit_grant (patient_id, year)")
    run("""CREATE TABLE benefit_use (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        member_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        beneficiary_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        grant_id INTEGER REFERENCES benefit_grant (id) ON DELETE RESTRICT,
        kind VARCHAR(20) NOT NULL,
        points INTEGER NOT NULL DEFAULT 0,
        transferred {bool} NOT NULL DEFAULT {false},
        registration_waived {bool} NOT NULL DEFAULT {false},
        note VARCHAR(200) NOT NULL DEFAULT '',
        used_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        used_at {ts} NOT NULL)""")
    run("CREATE INDEX benefit_use_grant_id ON benefit_use (grant_id)")
    run("CREATE INDEX benefit_use_used_by_id ON benefit_use (used_by_id)")
    run("CREATE INDEX benefit_use_member_id_used_at ON benefit_use (member_id, used_at)")
    run("CREATE INDEX benefit_use_beneficiary_id_used_at ON benefit_use (beneficiary_id, used_at)")
    run("""CREATE TABLE referral (
        id {pk},
        referrer_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        referee_id INTEGER NOT NULL UNIQUE REFERENCES patient (id) ON DELETE RESTRICT,
        rewarded_at {ts} NOT NULL)""")
    run("CREATE INDEX referral_referrer_id ON referral (referrer_id)")
    run("""CREATE TABLE gift_item (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        name VARCHAR(60) NOT NULL,
        stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
        low_stock INTEGER NOT NULL DEFAULT 5,
        unit_cost_fen INTEGER NOT NULL DEFAULT 0,
        active {bool} NOT NULL DEFAULT {true})""")
    run("""CREATE TABLE gift_movement (
        id {pk},
        item_id INTEGER NOT NULL REFERENCES gift_item (id) ON DELETE RESTRICT,
        delta INTEGER NOT NULL,
        kind VARCHAR(10) NOT NULL,
        patient_id INTEGER REFERENCES patient (id) ON DELETE RESTRICT,
        reason VARCHAR(200) NOT NULL,
        by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        at {ts} NOT NULL)""")
    run("CREATE INDEX gift_movement_item_id ON gift_movement (item_id)")
    run("CREATE INDEX gift_movement_patient_id ON gift_movement (patient_id)")
    run("CREATE INDEX gift_movement_by_id ON gift_movement (by_id)")
    run("CREATE INDEX gift_movement_at ON gift_movement (at)")
    run("""CREATE TABLE desk_task (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        kind VARCHAR(12) NOT NULL,
        detail VARCHAR(200) NOT NULL DEFAULT '',
        unique_key VARCHAR(80) NOT NULL UNIQUE,
        status VARCHAR(10) NOT NULL DEFAULT 'open',
        created_at {ts} NOT NULL,
        done_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        done_at {ts})""")
    run("CREATE INDEX desk_task_patient_id ON desk_task (patient_id)")
    run("CREATE INDEX desk_task_status ON desk_task (status)")
    run("CREATE INDEX desk_task_done_by_id ON desk_task (done_by_id)")
    run("""CREATE TABLE doctor_change_request (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        from_doctor_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        to_doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        reason VARCHAR(300) NOT NULL,
        status VARCHAR(10) NOT NULL DEFAULT 'pending',
        requested_by_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        requested_at {ts} NOT NULL,
        decided_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        decided_at {ts},
        decision_note VARCHAR(300) NOT NULL DEFAULT '')""")
    run("CREATE INDEX doctor_change_request_patient_id ON doctor_change_request (patient_id)")
    run("CREATE INDEX doctor_change_request_from_doctor_id ON doctor_change_request (from_doctor_id)")
    run("CREATE INDEX doctor_change_request_to_doctor_id ON doctor_change_request (to_doctor_id)")
    run("CREATE INDEX doctor_change_request_status ON doctor_change_request (status)")
    run("CREATE INDEX doctor_change_request_requested_by_id ON doctor_change_request (requested_by_id)")
    run("CREATE INDEX doctor_change_request_decided_by_id ON doctor_change_request (decided_by_id)")

    # The ledger is append-only: an entry is never removed, and only a lot's `remaining` moves.
    run("""CREATE TRIGGER point_entry_no_delete BEFORE DELETE ON point_entry
           BEGIN SELECT RAISE(ABORT, 'point_entry is append-only'); END""", only="sqlite")
    run("""CREATE TRIGGER point_entry_no_rewrite BEFORE UPDATE OF patient_id, delta, reason, payment_id,
           expires_on, created_at, created_by_id ON point_entry
           BEGIN SELECT RAISE(ABORT, 'point_entry is append-only'); END""", only="sqlite")
    run("""CREATE FUNCTION point_entry_append_only() RETURNS trigger AS $$
           BEGIN
             IF TG_OP = 'DELETE' OR NEW.delta <> OLD.delta OR NEW.patient_id <> OLD.patient_id
                OR NEW.reason <> OLD.reason OR NEW.created_at <> OLD.created_at THEN
               RAISE EXCEPTION 'point_entry is append-only';
             END IF;
             RETURN NEW;
           END $$ LANGUAGE plpgsql""", only="postgres")
    run("""CREATE TRIGGER point_entry_append_only BEFORE UPDATE OR DELETE ON point_entry
           FOR EACH ROW EXECUTE FUNCTION point_entry_append_only()""", only="postgres")
