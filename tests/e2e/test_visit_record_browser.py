"""The structured visit record in a browser (1024×768 tablet, and a phone): the doctor opens a
visit whose past history comes forward from the last signed one, fills the record from a clinic
template with one tap (htmx, tooth and age filled in), adds a quick phrase, saves and signs."""
from datetime import date

import pytest
from playwright.sync_api import expect

from portal.models import Staff, Visit
from portal.services import chart as charts
from portal.services import chart_visits as visits
from portal.services import visit_record as record
from tests import factories
from tests.clock import clinic_today
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


@pytest.fixture()
def clinic(live_app):
    with live_app.app_context():
        desk, doctor = Staff.get(Staff.username == "frontdesk"), Staff.get(Staff.username == "doctor")
        manager = Staff.get(Staff.username == "manager")
        patient = factories.patient(desk, name="覃大文", birth_date=date(1981, 3, 11))
        old = visits.open_visit(patient, doctor, date(2025, 3, 1))
        visits.update_notes(old, visits.VisitNotes(chief_complaint="洁牙", diagnosis="牙龈炎",
                                                   past_history="Hypertension for ten years",
                                                   allergy_history="Penicillin"), doctor)
        visits.sign(old, doctor)
        today = visits.open_visit(patient, doctor, clinic_today())
        charts.record(patient, charts.EntryData(46, "caries", "existing", "O"), doctor, clinic_today(), today)
        record.create_template(record.TemplateData(title="Deep caries filling", body={
            "chief_complaint": "Tooth {tooth} sensitive to cold", "examination": "{tooth} {surfaces} deep caries",
            "diagnosis": "{tooth} deep caries", "treatment": "{tooth} composite filling"}), manager)
        record.create_template(record.TemplateData(title="No chewing 2 h", body={"advice": "Patient aged {age}: no chewing for 2 hours"}),
                               doctor)
    return {"visit": today.code}


def test_doctor_fills_the_record_from_a_template_and_signs(live_app, web, clinic):
    page = web.login("doctor")
    page.goto(f"/visits/{clinic['visit']}")
    notes = page.locator("#visit-notes")
    expect(notes.locator("textarea[name=past_history]")).to_have_value("Hypertension for ten years")
    expect(notes).to_contain_text("From the last visit")
    notes.get_by_role("button", name="Deep caries filling").click()
    expect(notes.locator("textarea[name=chief_complaint]")).to_have_value("Tooth 46 sensitive to cold")
    expect(notes.locator("textarea[name=examination]")).to_have_value("46 O deep caries")
    notes.get_by_role("button", name="No chewing 2 h").click()
    age = clinic_today().year - 1981 - ((clinic_today().month, clinic_today().day) < (3, 11))
    expect(notes.locator("textarea[name=advice]")).to_have_value(f"Patient aged {age}: no chewing for 2 hours")
    expect(notes.locator("textarea[name=past_history]")).to_have_value("Hypertension for ten years")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "visit-record-1024.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=ARTIFACTS / "visit-record-390.png", full_page=True)
    page.set_viewport_size({"width": 1024, "height": 768})
    notes.get_by_role("button", name="Save notes").click()
    expect(page.locator(".flash")).to_contain_text("Saved")
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.locator(".flash")).to_contain_text("Signed")
    with live_app.app_context():
        v = Visit.get(Visit.code == clinic["visit"])
        assert v.status == "signed" and v.diagnosis == "46 deep caries" and v.allergy_history == "Penicillin"
    expect(page.locator("#visit-notes")).to_have_count(0)
