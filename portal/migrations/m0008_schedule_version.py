"""A counter that moves whenever anything the schedule grid shows changes (issue 3).

The day view keeps rendered grids keyed by this number, so a busy day is drawn once per change
instead of once per request. Triggers move it, not the application, so every writer is caught:
the web app, the worker, a bulk import, a manager's SQL console.

SQLite serialises writers anyway, so its triggers bump the row as they go. On PostgreSQL a bump
in mid-transaction would hold the row until commit, queueing every booking behind it and
inviting deadlocks with the booking locks; the triggers there are deferred to commit time, where
a transaction takes no other lock afterwards, and bump once per transaction however many rows
it touched (a transaction-local setting remembers it has).
"""

# table -> (columns whose change alters the grid, or None for any change; also on insert?)
WATCHED = {
    "appointment": (None, True),
    "chair": (None, True),
    "shift_pattern": (None, True),
    "shift_exception": (None, True),
    "patient_tag": (None, True),
    "staff": (("display_name", "role", "active"), True),
    "patient": (("code", "name", "restricted", "attending_doctor_id", "referred_by_id"), False),
    "membership": (("patient_id", "tier"), True),
    "tag": (("name",), False),
}


def trigger_names(dialect: str) -> list[str]:
    """What up() creates, for `portal check` and the grid cache to verify."""
    names = []
    for table, (_, on_insert) in WATCHED.items():
        if dialect == "postgres":
            names += [f"{table}_sv_change", f"{table}_sv_update"]
        else:
            names += [f"{table}_sv_delete", f"{table}_sv_update"] + ([f"{table}_sv_insert"] if on_insert else [])
    return names


def _changed(columns, old="OLD", new="NEW", distinct="IS NOT") -> str:
    return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in columns)


def up(run):
    run("CREATE TABLE schedule_version (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
    run("INSERT INTO schedule_version (id, n) VALUES (1, 0)")
    run("""CREATE FUNCTION bump_schedule_version() RETURNS trigger AS $$
           BEGIN
             IF current_setting('portal.schedule_bumped', true) = txid_current()::text THEN
               RETURN NULL;
             END IF;
             PERFORM set_config('portal.schedule_bumped', txid_current()::text, true);
             UPDATE schedule_version SET n = n + 1 WHERE id = 1;
             RETURN NULL;
           END $$ LANGUAGE plpgsql""", only="postgres")
    create_triggers(run, WATCHED)


def create_triggers(run, tables):
    """The triggers on `tables` (names from WATCHED); `run(sql, only=dialect)` as in migrate()."""
    bump = "UPDATE schedule_version SET n = n + 1 WHERE id = 1;"
    for table in tables:
        columns, on_insert = WATCHED[table]
        events = ["DELETE"] + (["INSERT"] if on_insert else [])
        for event in events:
            run(f"CREATE TRIGGER {table}_sv_{event.lower()} AFTER {event} ON {table} BEGIN {bump} END",
                only="sqlite")
        if columns is None:
            run(f"CREATE TRIGGER {table}_sv_update AFTER UPDATE ON {table} BEGIN {bump} END", only="sqlite")
        else:
            run(f"CREATE TRIGGER {table}_sv_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
                f"WHEN {_changed(columns)} BEGIN {bump} END", only="sqlite")

    for table in tables:
        columns, on_insert = WATCHED[table]
        events = " OR ".join(["DELETE"] + (["INSERT"] if on_insert else []))
        run(f"""CREATE CONSTRAINT TRIGGER {table}_sv_change AFTER {events} ON {table}
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_schedule_version()""",
            only="postgres")
        of = "" if columns is None else f" OF {', '.join(columns)}"
        when = "" if columns is None else f" WHEN ({_changed(columns, distinct='IS DISTINCT FROM')})"
        run(f"""CREATE CONSTRAINT TRIGGER {table}_sv_update AFTER UPDATE{of} ON {table}
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{when} EXECUTE FUNCTION bump_schedule_version()""",
            only="postgres")
