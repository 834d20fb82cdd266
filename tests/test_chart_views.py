"""Chart pages: the odontogram markup, the tooth panel, recording through the form, refusals."""
import re
from datetime import date

import pytest

from portal.db import db
from portal.services import chart as charts
from tests.clock import clinic_today


@pytest.fixture()
def child(make_patient):
    return make_patient(name="李小宝", birth_date=date(clinic_today().year - 7, 1, 1))


def test_seven_year_old_chart_shows_mixed_dentition_in_fdi_order(as_role, child):
    html = as_role("doctor").get(f"/patients/{child.code}/chart").get_data(as_text=True)
    assert "Mixed dentition" in html
    teeth = [int(t) for t in re.findall(r'data-tooth="(\d\d)"', html)]
    assert {16, 36, 75, 85, 55} <= set(teeth) and 17 not in teeth
    upper = [t for t in teeth if t // 10 in (1, 2, 5, 6)]
    # patient's right on the viewer's left: 16 … 55 54 53 52 | 11 21 … 65 26 (the 7-year-old's incisors)
    assert upper.index(16) < upper.index(55) < upper.index(11) < upper.index(21) < upper.index(65) < upper.index(26)
    for t in teeth:
        assert re.search(rf'data-tooth="{t}" aria-label="Tooth {t}, ', html)


def test_adult_chart_is_permanent(as_role, make_patient):
    adult = make_patient(name="张大人", birth_date=date(1980, 1, 1))
    html = as_role("nurse").get(f"/patients/{adult.code}/chart").get_data(as_text=True)
    teeth = [int(t) for t in re.findall(r'data-tooth="(\d\d)"', html)]
    assert teeth == [*range(18, 10, -1), *range(21, 29), *range(48, 40, -1), *range(31, 39)]
    assert "Record a finding" not in html  # nurses see the chart but do not diagnose


def test_tooth_panel_fragment_and_recording(as_role, child):
    client = as_role("doctor")
    panel = client.get(f"/patients/{child.code}/chart/teeth/75", headers={"HX-Request": "true", "HX-Target": "tooth-panel"})
    body = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "<html" not in body and "Tooth 75" in body and "Record a finding" in body
    resp = client.post(f"/patients/{child.code}/chart/teeth/75/entries",
                       data={"kind": "caries", "status": "existing", "surface": ["O", "D"]})
    assert resp.status_code == 303
    assert charts.entries_of(child)[0].surfaces == "OD"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Recorded Caries on tooth 75." in page and "C" in page


@pytest.mark.parametrize("tooth, form, message", [
    (19, {"kind": "caries", "status": "existing", "surface": "O"}, "is not an FDI tooth"),
    (56, {"kind": "caries", "status": "existing", "surface": "O"}, "primary quadrants have teeth 1 to 5"),
    (11, {"kind": "caries", "status": "existing", "surface": "O"}, "not O"),
    (36, {"kind": "caries", "status": "existing"}, "Choose at least one surface"),
])
def test_invalid_teeth_and_surfaces_are_refused_with_clear_messages(as_role, child, tooth, form, message):
    client = as_role("doctor")
    resp = client.post(f"/patients/{child.code}/chart/teeth/{tooth}/entries", data=form, follow_redirects=True)
    assert message in resp.get_data(as_text=True)
    assert charts.entries_of(child) == []


def test_invalid_tooth_panel_is_a_400_with_a_message(as_role, child):
    resp = as_role("doctor").get(f"/patients/{child.code}/chart/teeth/99")
    assert resp.status_code == 400 and "is not an FDI tooth" in resp.get_data(as_text=True)


def test_chart_on_a_past_date_via_the_timeline(as_role, child, staff):
    charts.record(child, charts.EntryData(75, "caries", "existing", "O"), staff["doctor"], date(2025, 1, 10))
    charts.record(child, charts.EntryData(36, "sealant", "done", "O"), staff["doctor"], date(2025, 6, 10))
    client = as_role("doctor")
    frag = client.get(f"/patients/{child.code}/chart?on=2025-02-01",
                      headers={"HX-Request": "true", "HX-Target": "chart-area"}).get_data(as_text=True)
    assert "<html" not in frag and "Past date" in frag
    assert "Sealant" not in re.search(r'data-tooth="36"[^>]*aria-label="([^"]*)"', frag).group(1)
    assert "Caries" in re.search(r'data-tooth="75"[^>]*aria-label="([^"]*)"', frag).group(1)


def test_frontdesk_and_consultant_do_not_see_clinical_notes(as_role, child):
    assert as_role("frontdesk").get(f"/patients/{child.code}/chart").status_code == 403
    assert as_role("frontdesk").get(f"/patients/{child.code}/visits").status_code == 403
    assert as_role("consultant").get(f"/patients/{child.code}/visits").status_code == 403
    assert as_role("consultant").get(f"/patients/{child.code}/chart").status_code == 200


def test_restricted_patient_chart_is_refused_to_others(as_role, child, staff):
    child.restricted, child.attending_doctor = True, staff["doctor"]
    child.save()
    assert as_role("doctor").get(f"/patients/{child.code}/chart").status_code == 200
    assert as_role("nurse").get(f"/patients/{child.code}/chart").status_code == 403
    assert db.is_closed() or True
