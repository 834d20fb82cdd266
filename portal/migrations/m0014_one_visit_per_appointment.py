"""One visit per appointment (issue 13): starting a visit from an appointment opens the same visit
however often or from however many tablets it is clicked; the database holds the rule.

Existing data first: where an appointment already has several visits (typed-in codes before this
issue), the earliest stays linked to it and the later ones keep their notes but lose the link
(appointment_id NULL); nothing clinical is deleted. Then the partial unique index.

A visit made or re-linked moves the schedule counter (migration 0008), so a kept day grid shows
"Open visit" instead of "Start visit" as soon as the visit exists.
"""


def up(run):
    run("""UPDATE visit SET appointment_id = NULL
           WHERE appointment_id IS NOT NULL
             AND id <> (SELECT MIN(v2.id) FROM visit v2 WHERE v2.appointment_id = visit.appointment_id)""")
    run("CREATE UNIQUE INDEX visit_appointment_once ON visit (appointment_id) WHERE appointment_id IS NOT NULL")
    bump = "UPDATE schedule_version SET n = n + 1 WHERE id = 1;"
    run(f"CREATE TRIGGER visit_sv_insert AFTER INSERT ON visit WHEN NEW.appointment_id IS NOT NULL "
        f"BEGIN {bump} END", only="sqlite")
    run(f"CREATE TRIGGER visit_sv_delete AFTER DELETE ON visit WHEN OLD.appointment_id IS NOT NULL "
        f"BEGIN {bump} END", only="sqlite")
    run(f"CREATE TRIGGER visit_sv_update AFTER UPDATE OF appointment_id ON visit "
        f"WHEN OLD.appointment_id IS NOT NEW.appointment_id BEGIN {bump} END", only="sqlite")
    for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
        run(f"""CREATE CONSTRAINT TRIGGER visit_sv_{event.lower()} AFTER {event} ON visit
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({row}.appointment_id IS NOT NULL)
                EXECUTE FUNCTION bump_schedule_version()""", only="postgres")
    run("""CREATE CONSTRAINT TRIGGER visit_sv_update AFTER UPDATE OF appointment_id ON visit
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           WHEN (OLD.appointment_id IS DISTINCT FROM NEW.appointment_id) EXECUTE FUNCTION bump_schedule_version()""",
        only="postgres")
