"""The schedule grids show each patient's alerts (issue 13): allergies, medical alerts and
clinical-alert tags appear on the day grid and the week book, which are kept until the schedule
version moves (migration 0008). So the counter must also move when a patient's allergies or
medical alerts change, or a tag becomes (or stops being) a clinical alert. The two update
triggers are made again with the longer column lists; their names stay the same.
"""

# table -> the columns whose change alters what a grid shows (0008's list plus the alert columns)
COLUMNS = {
    "patient": ("code", "name", "restricted", "attending_doctor_id", "referred_by_id", "allergies",
                "medical_alerts"),
    "tag": ("name", "clinical_alert"),
}


def up(run):
    bump = "UPDATE schedule_version SET n = n + 1 WHERE id = 1;"
    for table, columns in COLUMNS.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        run(f"DROP TRIGGER IF EXISTS {table}_sv_update", only="sqlite")
        run(f"CREATE TRIGGER {table}_sv_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"WHEN {changed} BEGIN {bump} END", only="sqlite")
        distinct = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        run(f"DROP TRIGGER IF EXISTS {table}_sv_update ON {table}", only="postgres")
        run(f"""CREATE CONSTRAINT TRIGGER {table}_sv_update AFTER UPDATE OF {', '.join(columns)} ON {table}
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({distinct})
                EXECUTE FUNCTION bump_schedule_version()""", only="postgres")
