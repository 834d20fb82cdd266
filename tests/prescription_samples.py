"""Test data for prescriptions: the catalogue as migration 0018 seeds it (PostgreSQL tests empty every
table between tests, so the seed is made again here), and a draft prescription for the route walk."""
from decimal import Decimal

from portal.migrations.m0018_prescriptions import DRUGS
from portal.models.prescription import Drug
from portal.services import chart_visits as visits
from portal.services import prescriptions as rxs
from tests.clock import clinic_today

FIELDS = ("code", "name_zh", "name_en", "form", "strength", "dose_unit", "default_dose", "route", "frequency", "days",
          "max_daily", "child_mg_per_kg_day", "pregnancy_warning", "allergy_class", "package_unit")


def ensure_drugs() -> dict:
    """{code: Drug} for the seeded catalogue."""
    out = {}
    for row in DRUGS:
        values = dict(zip(FIELDS, row))
        drug = Drug.get_or_none(Drug.code == values["code"])
        if drug is None:
            drug = Drug.create(**{k: (Decimal(str(v)) if isinstance(v, float) else v) for k, v in values.items()})
        out[drug.code] = drug
    return out


def line(code, dose, frequency="tid", days=5, quantity=1, note=""):
    return rxs.Line(code, str(dose), frequency, str(days), str(quantity), note)


def prescription_samples(app, staff, patient):
    """(prefix codes) for the route walk: a draft prescription on a visit of the patient, a drug."""
    drugs = ensure_drugs()
    visit = visits.open_visit(patient, staff["doctor"], clinic_today())
    rx = rxs.write(visit, rxs.Draft(lines=[line("PARA", 500, "tid", 3, 1)], diagnosis="牙髓炎", weight_kg="60"),
                   staff["doctor"], clinic_today())
    return [("/prescriptions", rx.code), ("/drugs", drugs["PARA"].code)]
