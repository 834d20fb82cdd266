"""Prescriptions (issue 14): the drug catalogue, prescriptions and their lines. The catalogue starts
with drugs a dental clinic commonly prescribes; the manager edits, adds or retires them. Doses are in
the drug's dose unit; the child limit is per kg of body weight per day."""

# code, 中文名, English name, form, strength, dose unit, default dose, route, frequency, days,
# adult max per day, child limit mg/kg/day, pregnancy warning, allergy class, package unit
DRUGS = [
    ("AMOX", "阿莫西林胶囊", "Amoxicillin capsules", "capsule", "0.25 g", "mg", 500, "oral", "tid", 5,
     3000, 90, "", "penicillin", "box"),
    ("AMCL", "阿莫西林克拉维酸钾片", "Amoxicillin-clavulanate tablets", "tablet", "0.375 g", "mg", 375, "oral",
     "tid", 5, 2250, 45, "", "penicillin", "box"),
    ("CEFU", "头孢呋辛酯片", "Cefuroxime axetil tablets", "tablet", "0.25 g", "mg", 250, "oral", "bid", 5,
     1000, 30, "", "cephalosporin", "box"),
    ("METR", "甲硝唑片", "Metronidazole tablets", "tablet", "0.2 g", "mg", 400, "oral", "tid", 5, 1500, 30,
     "孕早期（前3个月）避免使用", "nitroimidazole", "box"),
    ("ORNI", "奥硝唑片", "Ornidazole tablets", "tablet", "0.25 g", "mg", 500, "oral", "bid", 5, 1500, 25,
     "孕早期避免使用", "nitroimidazole", "box"),
    ("CLIN", "盐酸克林霉素胶囊", "Clindamycin capsules", "capsule", "0.15 g", "mg", 300, "oral", "qid", 5, 1800,
     25, "", "lincosamide", "box"),
    ("AZIT", "阿奇霉素片", "Azithromycin tablets", "tablet", "0.25 g", "mg", 500, "oral", "qd", 3, 500, 10,
     "", "macrolide", "box"),
    ("IBUP", "布洛芬缓释胶囊", "Ibuprofen sustained-release capsules", "capsule", "0.3 g", "mg", 300, "oral",
     "bid", 3, 1200, 30, "孕晚期（30周后）禁用", "nsaid", "box"),
    ("PARA", "对乙酰氨基酚片", "Paracetamol tablets", "tablet", "0.5 g", "mg", 500, "oral", "prn", 3, 2000,
     60, "", "", "box"),
    ("CHXM", "复方氯己定含漱液", "Chlorhexidine mouthwash", "mouthwash", "0.12% 300 ml", "ml", 15, "rinse",
     "bid", 7, 60, None, "", "chlorhexidine", "bottle"),
    ("LIDG", "利多卡因凝胶", "Lidocaine gel", "gel", "2% 10 g", "g", 0.2, "topical", "prn", 3, 2, None, "",
     "amide_anaesthetic", "tube"),
    ("MINO", "盐酸米诺环素软膏", "Minocycline ointment", "ointment", "2% 0.5 g", "g", 0.05, "topical", "qd", 1,
     0.5, None, "孕妇禁用（四环素类）", "tetracycline", "box"),
]


def up(run):
    run("""CREATE TABLE drug (
        id {pk},
        code VARCHAR(12) NOT NULL,
        name_zh VARCHAR(60) NOT NULL,
        name_en VARCHAR(60) NOT NULL,
        form VARCHAR(20) NOT NULL,
        strength VARCHAR(40) NOT NULL,
        dose_unit VARCHAR(10) NOT NULL,
        default_dose NUMERIC(10, 2) NOT NULL,
        route VARCHAR(20) NOT NULL,
        frequency VARCHAR(10) NOT NULL,
        days INTEGER NOT NULL,
        max_daily NUMERIC(10, 2),
        child_mg_per_kg_day NUMERIC(10, 2),
        pregnancy_warning {text} NOT NULL,
        allergy_class VARCHAR(20) NOT NULL,
        package_unit VARCHAR(10) NOT NULL,
        active {bool} NOT NULL,
        updated_at {ts} NOT NULL)""")
    run("CREATE UNIQUE INDEX drug_code ON drug (code)")
    run("""CREATE TABLE prescription (
        id {pk},
        code VARCHAR(12) NOT NULL,
        patient_id INTEGER NOT NULL REFERENCES patient (id) ON DELETE RESTRICT,
        visit_id INTEGER NOT NULL REFERENCES visit (id) ON DELETE RESTRICT,
        doctor_id INTEGER NOT NULL REFERENCES staff (id) ON DELETE RESTRICT,
        status VARCHAR(10) NOT NULL,
        department VARCHAR(30) NOT NULL,
        diagnosis {text} NOT NULL,
        weight_kg NUMERIC(6, 1),
        pregnant {bool} NOT NULL,
        override_reason {text} NOT NULL,
        warnings {text} NOT NULL,
        replaces_id INTEGER REFERENCES prescription (id) ON DELETE RESTRICT,
        created_at {ts} NOT NULL,
        signed_at {ts},
        signed_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        voided_at {ts},
        voided_by_id INTEGER REFERENCES staff (id) ON DELETE RESTRICT,
        void_reason {text} NOT NULL)""")
    run("CREATE UNIQUE INDEX prescription_code ON prescription (code)")
    run("CREATE INDEX prescription_patient_id_created_at ON prescription (patient_id, created_at)")
    run("CREATE INDEX prescription_visit_id ON prescription (visit_id)")
    run("CREATE INDEX prescription_doctor_id ON prescription (doctor_id)")
    run("CREATE INDEX prescription_replaces_id ON prescription (replaces_id)")
    run("CREATE INDEX prescription_signed_by_id ON prescription (signed_by_id)")
    run("CREATE INDEX prescription_voided_by_id ON prescription (voided_by_id)")
    run("""CREATE TABLE prescription_line (
        id {pk},
        prescription_id INTEGER NOT NULL REFERENCES prescription (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        drug_id INTEGER NOT NULL REFERENCES drug (id) ON DELETE RESTRICT,
        dose NUMERIC(10, 2) NOT NULL,
        frequency VARCHAR(10) NOT NULL,
        days INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        note VARCHAR(100) NOT NULL)""")
    run("CREATE INDEX prescription_line_prescription_id ON prescription_line (prescription_id)")
    run("CREATE INDEX prescription_line_drug_id ON prescription_line (drug_id)")

    from portal.db import db
    from portal.models.base import utcnow
    marks = ", ".join([db.param] * 17)
    for row in DRUGS:  # as parameters: strengths carry "%", which a driver would read as a placeholder
        db.execute_sql("INSERT INTO drug (code, name_zh, name_en, form, strength, dose_unit, default_dose, route, "
                       "frequency, days, max_daily, child_mg_per_kg_day, pregnancy_warning, allergy_class, "
                       f"package_unit, active, updated_at) VALUES ({marks})", (*row, True, utcnow()))
