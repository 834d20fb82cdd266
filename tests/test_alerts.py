"""Alerts where the patient is (issue 13): allergies, medical alerts, clinical-alert tags and VIP
for any number of patients in a constant number of statements; the badge macro says it in words."""
from datetime import datetime, time, timedelta

from flask import render_template_string

from portal.models import Chair, Patient, PatientTag, Tag, new_code
from portal.services import schedule as booking
from portal.services import shifts
from portal.services.alerts import alerts_for
from tests.clock import clinic_today
from tests.schedule_fixtures import next_weekday
from tests.statements import StatementCounter


def _tag(patient, name, clinical=True):
    tag = Tag.get_or_none(Tag.name == name) or Tag.create(name=name, clinical_alert=clinical)
    PatientTag.create(patient=patient, tag=tag)


def test_gathers_allergies_medical_tags_and_vip(app, make_patient):
    a = make_patient(name="过敏者", allergies="青霉素", medical_alerts="服用华法林")
    b = make_patient(name="敏感者")
    _tag(b, "牙齿敏感")
    _tag(b, "儿童患者", clinical=False)  # not a clinical alert: not shown
    c = make_patient(name="贵宾")
    _tag(c, "VIP", clinical=False)
    d = make_patient(name="无事", allergies="无")  # "none" typed by the desk is not an alert
    found = alerts_for([a.id, b.id, c.id, d.id])
    assert [x.kind for x in found[a.id]] == ["allergy", "medical"]
    assert "青霉素" in found[a.id][0].detail and "华法林" in found[a.id][1].detail
    assert [(x.kind, x.label) for x in found[b.id]] == [("tag", "牙齿敏感")]
    assert [x.kind for x in found[c.id]] == ["vip"]
    assert d.id not in found
    assert alerts_for([]) == {}


def test_medical_text_left_out_for_who_may_not_see_it(app, make_patient):
    a = make_patient(name="过敏者", allergies="青霉素")
    _tag(a, "抗凝药")
    kinds = [x.kind for x in alerts_for([a.id], medical=False)[a.id]]
    assert kinds == ["tag"]


def test_constant_statements_for_any_number_of_patients(app, make_patient):
    few = [make_patient(name="甲" + "一二"[i], allergies="乳胶").id for i in range(2)]
    many = few + [make_patient(name="乙" + "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸"[i], medical_alerts="高血压").id for i in range(20)]
    with StatementCounter() as one:
        alerts_for(few)
    with StatementCounter() as other:
        found = alerts_for(many)
    assert one.count == other.count <= 2
    assert len(found) == 22
    # a query selecting the ids works too
    assert set(alerts_for(Patient.select(Patient.id).where(Patient.id.in_(many)))) == set(many)


def test_badges_say_it_in_words_with_the_detail(app, make_patient):
    a = make_patient(name="过敏者", allergies="青霉素")
    with app.test_request_context():
        html = render_template_string('{% from "macros/alerts.html" import alert_badges %}{{ alert_badges(x) }}',
                                      x=alerts_for([a.id])[a.id])
        empty = render_template_string('{% from "macros/alerts.html" import alert_badges %}{{ alert_badges([]) }}')
    assert "Allergy" in html and 'title="Allergies: 青霉素"' in html and "sr-only" in html
    assert empty.strip() == ""


def test_badges_on_the_day_grid_appointment_page_and_my_day(app, as_role, staff, make_patient):
    chair = Chair.create(code=new_code(6), name="Chair 1", sort_order=1)
    day = next_weekday(2)
    shifts.add_pattern(staff["doctor"], day.weekday(), time(9), time(12), clinic_today() - timedelta(days=7))
    p = make_patient(name="过敏者", allergies="青霉素")
    _tag(p, "抗凝药")
    with app.test_request_context():
        appt = booking.book(staff["frontdesk"], p, staff["doctor"], chair, datetime.combine(day, time(10)), 30,
                            "revisit", app.config)
    grid = as_role("frontdesk").get(f"/schedule?date={day.isoformat()}").get_data(as_text=True)
    assert 'title="Allergies: 青霉素"' in grid and "抗凝药" in grid
    page = as_role("nurse").get(f"/appointments/{appt.code}").get_data(as_text=True)
    heading = page[page.index("<h1>"):page.index("</h1>")]
    assert "Allergy" in heading and "抗凝药" in heading
    mine = as_role("doctor").get(f"/schedule/mine?date={day.isoformat()}").get_data(as_text=True)
    assert 'title="Allergies: 青霉素"' in mine
    consultant = as_role("consultant").get(f"/appointments/{appt.code}").get_data(as_text=True)
    assert "青霉素" not in consultant and "抗凝药" in consultant  # tags yes, medical text no


def test_a_tag_made_a_clinical_alert_reaches_the_kept_grid(app, as_role, staff, make_patient):
    chair = Chair.create(code=new_code(6), name="Chair 1", sort_order=1)
    day = next_weekday(2)
    shifts.add_pattern(staff["doctor"], day.weekday(), time(9), time(12), clinic_today() - timedelta(days=7))
    p = make_patient(name="孕妇")
    _tag(p, "孕期", clinical=False)
    with app.test_request_context():
        booking.book(staff["frontdesk"], p, staff["doctor"], chair, datetime.combine(day, time(10)), 30,
                     "revisit", app.config)
    desk = as_role("frontdesk")
    url = f"/schedule?date={day.isoformat()}"
    assert "孕期" not in desk.get(url).get_data(as_text=True)
    assert "孕期" not in desk.get(url).get_data(as_text=True)  # kept
    Tag.update(clinical_alert=True).where(Tag.name == "孕期").execute()
    assert "孕期" in desk.get(url).get_data(as_text=True)
