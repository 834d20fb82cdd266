"""`portal demo`'s clinical paperwork (issue 14): the tour finds a signed consent with drawn
signatures, a signed prescription, a confirmed perio exam with pockets, a crown at the lab and an
overdue denture, and a second run adds nothing."""
import json
from datetime import date

from portal.demo_paperwork import seed_paperwork
from portal.models import ConsentForm, Prescription
from portal.models.lab_cases import LabCase
from portal.models.perio import PerioExam
from portal.services import consent as consents
from portal.services import lab_cases as labs
from portal.services import perio
from tests.clock import clinic_today
from tests.prescription_samples import ensure_drugs


def test_demo_paperwork_is_there_once(app, staff, make_patient):
    ensure_drugs()  # PostgreSQL tests empty every table, the migration's seed with them
    make_patient(name="小孩", birth_date=date(clinic_today().year - 8, 1, 1))  # a child is not chosen
    tour = make_patient(name="导览", birth_date=date(1980, 4, 2))
    other = make_patient(name="另一位", birth_date=date(1975, 9, 9))
    today = clinic_today()
    with app.app_context():
        assert "lab cases" in seed_paperwork(list(staff.values()), today)
        assert seed_paperwork(list(staff.values()), today) == "paperwork already there"

    form = ConsentForm.get()
    assert form.patient_id == tour.id and form.status == "signed" and consents.hash_matches(form)
    assert json.loads(form.patient_strokes) and json.loads(form.doctor_strokes)
    rx = Prescription.get()
    assert rx.patient_id == tour.id and rx.status == "signed"
    exam = PerioExam.get()
    figures = perio.summary_of(exam)
    assert exam.status == "confirmed" and figures["ge4"] > 0 and figures["sites"] == 168
    crown, denture = LabCase.select().order_by(LabCase.id)
    assert (crown.patient_id, crown.status) == (tour.id, "in_progress") and crown.due_on > today
    assert denture.patient_id == other.id and [c.id for c in labs.overdue(today)] == [denture.id]
