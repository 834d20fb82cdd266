"""The doctor's home lists their unsigned paperwork (issue 14): draft prescriptions and consent forms
still waiting for a signature, those left over from an earlier day flagged; another doctor's are
not there; the list costs the same statements however long it is. Clock frozen at a Wednesday 10:00."""
import json
import re
from datetime import timedelta

import pytest

from portal.models import ConsentForm, Prescription, Staff
from portal.services import chart_visits as visits
from portal.services import consent as consents
from portal.services import prescriptions as rxs
from tests.clock import clinic_today
from tests.prescription_samples import ensure_drugs, line
from tests.statements import statements_of

pytestmark = pytest.mark.clock("2026-06-10 10:00")
STROKES = json.dumps([[{"x": 10, "y": 10, "time": 1}, {"x": 60, "y": 40, "time": 2}, {"x": 90, "y": 20, "time": 3}]])


@pytest.fixture()
def other_doctor(app, password_hash):
    return Staff.create(username="doctor2", display_name="Other doctor", role="doctor", password_hash=password_hash)


@pytest.fixture()
def seeded(app):
    ensure_drugs()
    consents.seed()


def _rx(patient, doctor, diagnosis="急性牙髓炎", days_ago=0):
    visit = visits.open_visit(patient, doctor, clinic_today() - timedelta(days=days_ago))
    rx = rxs.write(visit, rxs.Draft(lines=[line("PARA", 500, "tid", 3, 1)], diagnosis=diagnosis, weight_kg="60"),
                   doctor, clinic_today())
    _written_days_ago(Prescription, rx, days_ago)
    return rx


def _written_days_ago(model, record, days_ago):
    if days_ago:
        model.update(created_at=record.created_at - timedelta(days=days_ago)).where(model.id == record.id).execute()


def _consent(patient, actor, days_ago=0, **kw):
    form = consents.create(patient, kw.pop("kind", "extraction"), actor, "zh_CN", tooth=kw.pop("tooth", "38"), **kw)
    _written_days_ago(ConsentForm, form, days_ago)
    return form


def _section(client):
    resp = client.get("/")
    assert resp.status_code == 200
    found = re.search(r'<section[^>]* id="unsigned-paperwork"[^>]*>(.*?)</section>', resp.get_data(as_text=True), re.S)
    return found.group(1) if found else ""


def _rows(section):
    return re.findall(r'<li class="row">(.*?)</li>', section, re.S)


def test_doctor_sees_own_drafts_and_unsigned_consents_older_ones_flagged(app, staff, seeded, other_doctor, as_role,
                                                                         make_patient):
    doctor, nurse = staff["doctor"], staff["nurse"]
    today_rx = _rx(make_patient(name="今天处方"), doctor)
    old_rx = _rx(make_patient(name="昨天处方"), doctor, diagnosis="冠周炎", days_ago=2)
    signed_rx = rxs.sign(_rx(make_patient(name="已签处方"), doctor), doctor)
    _rx(make_patient(name="别人处方"), other_doctor)
    own_form = _consent(make_patient(name="医生同意书"), doctor, days_ago=1)
    on_my_visit = make_patient(name="护士备同意书")
    nurse_form = _consent(on_my_visit, nurse, visit=visits.open_visit(on_my_visit, doctor, clinic_today()),
                          kind="implant", tooth="46")
    mine = make_patient(name="主治同意书")
    mine.attending_doctor = doctor
    mine.save()
    _consent(mine, nurse)
    on_theirs = make_patient(name="别人就诊同意书")
    _consent(on_theirs, nurse, visit=visits.open_visit(on_theirs, other_doctor, clinic_today()))
    _consent(make_patient(name="别人同意书"), other_doctor)
    signed = _consent(make_patient(name="已签同意书"), doctor)
    consents.sign(signed, doctor, clinic_today(), "patient", "", "", STROKES, STROKES)

    section = _section(as_role("doctor"))
    rows = _rows(section)
    names = [re.search(r'class="name">([^<]+)<', row).group(1) for row in rows]
    assert names == ["昨天处方", "医生同意书", "今天处方", "护士备同意书", "主治同意书"]  # oldest first
    by_name = dict(zip(names, rows))
    assert f"/prescriptions/{old_rx.code}" in by_name["昨天处方"] and "冠周炎" in by_name["昨天处方"]
    assert f"/consent-forms/{own_form.code}" in by_name["医生同意书"]
    assert f"/prescriptions/{today_rx.code}" in by_name["今天处方"]
    assert f"/consent-forms/{nurse_form.code}" in by_name["护士备同意书"] and "46" in by_name["护士备同意书"]
    for name in ("昨天处方", "医生同意书"):
        assert "unsigned since" in by_name[name] and "flag" in by_name[name]
    for name in ("今天处方", "护士备同意书", "主治同意书"):
        assert "unsigned since" not in by_name[name]
    assert signed_rx.code not in section and signed.code not in section
    assert "notice" in re.search(r'<section[^>]* id="unsigned-paperwork"', as_role("doctor").get("/").get_data(
        as_text=True)).group(0)  # a day-old one makes the card a warning


def test_only_todays_drafts_make_no_warning_and_none_make_no_card(app, staff, seeded, as_role, make_patient):
    doctor = as_role("doctor")
    assert 'id="unsigned-paperwork"' not in doctor.get("/").get_data(as_text=True)
    _rx(make_patient(name="今天处方"), staff["doctor"])
    html = doctor.get("/").get_data(as_text=True)
    card = re.search(r'<section[^>]* id="unsigned-paperwork"[^>]*>', html).group(0)
    assert "notice" not in card and "今天处方" in html
    for role in ("nurse", "frontdesk", "manager"):
        assert 'id="unsigned-paperwork"' not in as_role(role).get("/").get_data(as_text=True)


def test_list_reads_in_chinese(app, staff, seeded, as_role, make_patient):
    _consent(make_patient(name="中文页"), staff["doctor"], days_ago=3)
    client = as_role("doctor")
    client.post("/language/zh_CN", data={"next": "/"})
    section = _section(client)
    assert "待签署的处方和知情同意书" in section and "知情同意书" in section and "未签署" in section
    assert "Consent form" not in section and "unsigned since" not in section


def test_statements_do_not_grow_with_the_paperwork(app, staff, seeded, as_role, make_patient):
    client = as_role("doctor")
    _rx(make_patient(name="少一"), staff["doctor"])
    _consent(make_patient(name="少二"), staff["doctor"])
    few = statements_of(client, "/")
    for i, numeral in enumerate("一二三四五六"):
        _rx(make_patient(name=f"多处方{numeral}", allergies="青霉素" if i % 2 else ""), staff["doctor"], days_ago=i)
        _consent(make_patient(name=f"多同意书{numeral}"), staff["doctor"], days_ago=i)
    assert statements_of(client, "/") == few
    assert len(_rows(_section(client))) == 14
