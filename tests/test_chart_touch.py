"""The chart by touch (issue 13), server side: every tooth is its own swappable group with five
named surface regions; a tap on a surface opens the panel with that surface picked; the panel's
forms answer htmx with the panel and that one tooth redrawn out of band (no redirect), a plain
browser still with a 303."""
import re
from datetime import date

import pytest

from portal.services import chart as charts
from tests.clock import clinic_today

HX = {"HX-Request": "true", "HX-Target": "tooth-panel"}


@pytest.fixture()
def adult(make_patient):
    return make_patient(name="覃大文", birth_date=date(1981, 3, 11))


def test_each_tooth_is_a_group_with_five_named_surfaces(as_role, adult):
    html = as_role("doctor").get(f"/patients/{adult.code}/chart").get_data(as_text=True)
    for tooth, centre in ((36, "O"), (11, "I")):
        group = re.search(rf'<g id="tooth-{tooth}" class="tooth-slot">(.*?)</g>\s*(?=<g id="tooth-|\s*</svg>)', html, re.S).group(1)
        assert f'data-tooth="{tooth}"' in group
        regions = re.findall(r'data-surface="(\w)"><title>([^<]+)</title>', group)
        assert sorted(letter for letter, _ in regions) == sorted("MDBL" + centre)
        assert all(title.startswith(f"{tooth} {letter} · ") for letter, title in regions)
    assert 'src="/static/js/chart.js"' in html


def test_a_tapped_surface_opens_the_panel_with_it_picked(as_role, adult):
    client = as_role("doctor")
    body = client.get(f"/patients/{adult.code}/chart/teeth/36?surface=M&surface=Z&surface=O", headers=HX).get_data(as_text=True)
    checked = re.findall(r'name="surface" value="(\w)" checked', body)
    assert checked == ["M", "O"]
    assert re.findall(r'role="checkbox" aria-checked="true" data-surface="(\w)"', body) == ["M", "O"]
    assert 'data-panel-tooth="36"' in body and "<html" not in body
    page = client.get(f"/patients/{adult.code}/chart?tooth=36&surface=D").get_data(as_text=True)  # without script
    assert re.findall(r'name="surface" value="(\w)" checked', page) == ["D"]


def test_htmx_recording_answers_with_the_panel_and_the_tooth_in_place(as_role, adult):
    client = as_role("doctor")
    resp = client.post(f"/patients/{adult.code}/chart/teeth/36/entries", headers=HX,
                       data={"kind": "caries", "status": "existing", "surface": ["O", "D"]})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Redirect" not in resp.headers
    assert resp.headers["HX-Trigger"] == "chartChanged"
    assert "<html" not in body and 'data-panel-tooth="36"' in body
    assert "Recorded Caries on tooth 36." in body
    oob = re.findall(r'<svg hx-swap-oob="innerHTML:#tooth-(\d+)"', body)
    assert oob == ["36"]
    assert re.search(r'data-tooth="36" aria-label="Tooth 36, [^"]*Caries OD', body)
    assert charts.entries_of(adult)[0].surfaces == "OD"
    full = client.get(f"/patients/{adult.code}/chart").get_data(as_text=True)
    assert len(body) < len(full) / 3


def test_htmx_refusal_stays_in_the_panel(as_role, adult):
    client = as_role("doctor")
    resp = client.post(f"/patients/{adult.code}/chart/teeth/36/entries", headers=HX,
                       data={"kind": "caries", "status": "existing"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Choose at least one surface" in body and 'class="flash error"' in body
    assert 'data-panel-tooth="36"' in body and charts.entries_of(adult) == []


def test_htmx_correction_and_withdrawal_swap_in_place(as_role, adult, staff):
    wrong = charts.record(adult, charts.EntryData(46, "caries", "existing", "M"), staff["doctor"], clinic_today())
    client = as_role("doctor")
    resp = client.post(f"/patients/{adult.code}/chart/entries/{wrong.code}/correct", headers=HX,
                       data={"kind": "caries", "status": "existing", "surface": ["M", "O"], "tooth": "46"})
    assert resp.status_code == 200 and re.findall(r'hx-swap-oob="innerHTML:#tooth-(\d+)"', resp.get_data(as_text=True)) == ["46"]
    fixed = [e for e in charts.entries_of(adult) if e.corrects_id == wrong.id][0]
    resp = client.post(f"/patients/{adult.code}/chart/entries/{fixed.code}/correct", headers=HX,
                       data={"withdraw": "1", "reason": "wrong tooth"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Withdrawn as entered in error" in body
    assert re.search(r'data-tooth="46" aria-label="Tooth 46, [^"]*no findings', body)


def test_plain_browser_still_gets_a_redirect(as_role, adult):
    resp = as_role("doctor").post(f"/patients/{adult.code}/chart/teeth/36/entries",
                                  data={"kind": "caries", "status": "existing", "surface": "O"})
    assert resp.status_code == 303 and "tooth=36" in resp.headers["Location"]
