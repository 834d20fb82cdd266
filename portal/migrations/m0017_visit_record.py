"""The structured outpatient record (issue 14): the visit gains present illness (现病史), past
history (既往史), allergy history (过敏史), investigations (辅助检查) and treatment plan (治疗计划)
beside the fields it had; and note templates / quick phrases, a clinic set and each doctor's own."""

FIELDS = ("present_illness", "past_history", "allergy_history", "investigations", "treatment_plan")


def up(run):
    for name in FIELDS:
        run(f"ALTER TABLE visit ADD COLUMN {name} {{text}} NOT NULL DEFAULT ''")
    run("""CREATE TABLE note_template (
        id {pk},
        code VARCHAR(12) NOT NULL UNIQUE,
        owner_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        procedure_id INTEGER REFERENCES procedure (id) ON DELETE RESTRICT,
        title VARCHAR(80) NOT NULL,
        chief_complaint {text} NOT NULL DEFAULT '',
        present_illness {text} NOT NULL DEFAULT '',
        past_history {text} NOT NULL DEFAULT '',
        allergy_history {text} NOT NULL DEFAULT '',
        examination {text} NOT NULL DEFAULT '',
        investigations {text} NOT NULL DEFAULT '',
        diagnosis {text} NOT NULL DEFAULT '',
        treatment_plan {text} NOT NULL DEFAULT '',
        treatment {text} NOT NULL DEFAULT '',
        advice {text} NOT NULL DEFAULT '',
        active {bool} NOT NULL,
        version INTEGER NOT NULL,
        updated_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        updated_at {ts} NOT NULL,
        created_at {ts} NOT NULL)""")
    run("CREATE INDEX note_template_owner_id_active ON note_template (owner_id, active)")
    run("CREATE INDEX note_template_procedure_id ON note_template (procedure_id)")
    run("CREATE INDEX note_template_updated_by_id ON note_template (updated_by_id)")
