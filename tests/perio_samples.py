"""Test data for perio charts (issue 14): two exams of the walk's patient, so the compare view has a pair."""
from portal.services import perio
from tests.clock import clinic_today


def perio_samples(app, staff, patient):
    """(URL prefix, code) pairs for the route walk."""
    older = perio.open_exam(patient, staff["nurse"], clinic_today())
    perio.save_readings(older, {"t16_pd_0": "5", "t16_gm_0": "1", "t16_bop_0": "y"}, staff["nurse"])
    newer = perio.open_exam(patient, staff["nurse"], clinic_today())
    perio.save_readings(newer, {"t16_pd_0": "3", "t16_gm_0": "1"}, staff["nurse"])
    return [("/perio", newer.code)]
