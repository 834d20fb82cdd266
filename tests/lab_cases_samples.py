"""Test data for lab cases (issue 14): a lab and a case of the walk's patient."""
from datetime import timedelta

from portal.services import lab_cases as labs
from tests.clock import clinic_today


def lab_cases_samples(app, staff, patient):
    """(URL prefix, code) pairs for the route walk."""
    lab = labs.save_lab("华美义齿加工厂", "021-55550000", "王师傅", staff["manager"])
    case = labs.order(patient, labs.CaseData(lab=lab, work_type="crown", teeth="36", shade="A2", material="全瓷",
                                             due_on=clinic_today() + timedelta(days=7)), staff["doctor"], clinic_today())
    return [("/lab-cases", case.code), ("/labs", lab.code)]
