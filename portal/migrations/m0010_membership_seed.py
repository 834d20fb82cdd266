"""Membership as seed 002 says (issue 11): joining with recorded consent, one-off perks apart from
yearly ones, a benefit use tied to the bill it covered, and a history of the manager's setting changes.

Cards that existed before this step were treated as members, so they count as joined when created."""


def up(run):
    run("ALTER TABLE membership ADD COLUMN joined_at {ts}")
    run("ALTER TABLE membership ADD COLUMN joined_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL")
    run("CREATE INDEX membership_joined_by_id ON membership (joined_by_id)")
    run("UPDATE membership SET joined_at = created_at")
    run("ALTER TABLE benefit_grant ADD COLUMN once {bool} NOT NULL DEFAULT {false}")
    run("ALTER TABLE benefit_use ADD COLUMN bill_id INTEGER REFERENCES bill (id) ON DELETE RESTRICT")
    run("CREATE INDEX benefit_use_bill_id ON benefit_use (bill_id)")
    run("""CREATE TABLE member_setting_change (
        id {pk},
        key VARCHAR(40) NOT NULL,
        old_value VARCHAR(200) NOT NULL,
        new_value VARCHAR(200) NOT NULL,
        changed_by_id INTEGER REFERENCES staff (id) ON DELETE SET NULL,
        changed_at {ts} NOT NULL)""")
    run("CREATE INDEX member_setting_change_changed_at ON member_setting_change (changed_at)")
    run("CREATE INDEX member_setting_change_changed_by_id ON member_setting_change (changed_by_id)")
