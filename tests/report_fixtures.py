"""A demo child and a demo adult with a chart, a signed visit and a plan (for printouts and links)."""
from datetime import date, timedelta

from portal.demo_clinical import seed_catalogue
from portal.models import Procedure
from portal.services import chart as charts
from portal.services import chart_plans as plans
from portal.services import chart_visits as visits
from tests import factories
from tests.clock import clinic_today

CHILD_FINDINGS = [("54", "filling", "existing", "OD"), ("84", "caries", "existing", "O"),
                  ("16", "sealant", "done", "O"), ("26", "caries", "planned", "O"), ("75", "periapical", "existing", "")]
ADULT_FINDINGS = [("16", "crown", "existing", ""), ("26", "filling", "existing", "MOD"), ("36", "root_canal", "existing", ""),
                  ("36", "crown", "existing", ""), ("46", "missing", "existing", ""), ("47", "mobility", "existing", ""),
                  ("11", "caries", "planned", "MB"), ("21", "fracture", "existing", "I")]


def clinical_patient(staff, name, birth_date, findings, plan_codes, family=None):
    seed_catalogue()
    doctor = staff["doctor"]
    patient = factories.patient(staff["frontdesk"], name=name, birth_date=birth_date, family=family,
                                sex="F" if name.endswith("婷") else "M")
    visit = visits.open_visit(patient, doctor, clinic_today() - timedelta(days=3))
    visits.update_notes(visit, visits.VisitNotes(chief_complaint="定期检查", examination="全口检查",
                                                 diagnosis="见牙位图", treatment="口腔卫生指导", advice="半年后复查"), doctor)
    for tooth, kind, status, surfaces in findings:
        charts.record(patient, charts.EntryData(tooth, kind, status, surfaces, grade=2 if kind == "mobility" else None),
                      doctor, visit.visit_date, visit)
    visits.sign(visit, doctor)
    for i, code in enumerate(plan_codes):
        plans.add_item(patient, Procedure.get(Procedure.code == code), doctor, priority=1 + i % 3)
    return patient


def demo_child(staff, family=None):
    today = clinic_today()
    return clinical_patient(staff, "王小婷", date(today.year - 7, 3, 15), CHILD_FINDINGS, ["RES-CR", "PRV-FV", "PRV-PFS"],
                            family)


def demo_adult(staff, family=None):
    return clinical_patient(staff, "李建国", date(1980, 6, 2), ADULT_FINDINGS, ["RES-CR", "RES-CRN", "PER-SC"], family)
