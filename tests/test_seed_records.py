"""Records that come out wrong (issue 11): treatment status on the chart and the first-visit report,
teeth implausible for the age, status changes on the appointment's day, the tag filter's count and
pages, console messages in the worker's log, and the desk tablet's kiosk mode."""
import io
import logging
from datetime import date, datetime, time, timedelta

import pytest

from portal.models import AuditEvent, ChartEntry, Survey, new_code
from portal.services import ServiceError
from portal.services import chart as charts
from tests.clock import clinic_today

D1, D2, D3 = date(2025, 3, 1), date(2025, 9, 1), date(2026, 3, 1)


def E(tooth, kind="caries", status="existing", surfaces="O", **kw):  # noqa: N802
    return charts.EntryData(tooth=tooth, kind=kind, status=status, surfaces=surfaces, **kw)


@pytest.fixture()
def adult(make_patient):
    return make_patient(name="陈大文", birth_date=date(1985, 4, 2))


def _report_groups(app, patient, on):
    from portal.reports import content
    with app.test_request_context():
        return {u: items for u, _t, _h, items in content.findings(charts.build(patient, on))}


# --- 1. treatment status follows the latest entry on those surfaces ---------------------------

def test_completed_extraction_is_not_listed_as_still_to_treat(app, staff, adult):
    doc = staff["doctor"]
    charts.record(adult, E(46, "extraction", "planned", ""), doc, D1)
    charts.record(adult, E(46, "extraction", "done", ""), doc, D2)
    groups = _report_groups(app, adult, D3)
    to_treat = [f for u in (1, 2) for f in groups.get(u, [])]
    assert not [f for f in to_treat if f.tooth == 46], "a completed extraction still needs treatment"
    done = [f for f in groups.get(4, []) if f.tooth == 46]
    assert len(done) == 1 and str(done[0].what) == "Tooth taken out"


def test_caries_treated_by_a_later_filling_is_no_longer_current(app, staff, adult):
    doc = staff["doctor"]
    caries = charts.record(adult, E(36, surfaces="MO"), doc, D1)
    charts.record(adult, E(36, "filling", "planned", "MO"), doc, D1)
    charts.record(adult, E(36, "filling", "done", "MO"), doc, D2)
    view = charts.build(adult, D3)
    assert caries not in view.entries and not view.teeth[36].has("caries")
    assert view.teeth[36].surface_fill("O").status == "done"   # not the old plan
    assert 36 not in [f.tooth for f in _report_groups(app, adult, D3).get(2, [])]
    # before the filling, the caries was current: the chart on a past date still shows it
    assert charts.build(adult, D1).teeth[36].has("caries")


def test_a_filling_on_one_surface_leaves_caries_on_the_other(app, staff, adult):
    doc = staff["doctor"]
    charts.record(adult, E(26, surfaces="MOD"), doc, D1)
    charts.record(adult, E(26, "filling", "done", "O"), doc, D2)
    caries = [f for f in _report_groups(app, adult, D3)[2] if f.tooth == 26]
    assert len(caries) == 1 and "occlusal" not in caries[0].where and "mesial" in caries[0].where


def test_tooth_panel_shows_treated_caries_only_in_history(app, staff, adult, as_role):
    doc = staff["doctor"]
    charts.record(adult, E(16, surfaces="O"), doc, clinic_today() - timedelta(days=30))
    charts.record(adult, E(16, "filling", "done", "O"), doc, clinic_today())
    html = as_role("doctor").get(f"/patients/{adult.code}/chart/teeth/16").get_data(as_text=True)
    current = html.split('<ul class="findings">')[1].split("</ul>")[0]
    history = html.split('<ol class="history">')[1].split("</ol>")[0]
    import re
    assert re.findall(r'<li class="st-(\w+)"><b>(\w+)', current) == [("done", "F")]   # caries is not current
    assert "Caries" in history


# --- 2. teeth implausible for the age ----------------------------------------------------------

@pytest.fixture()
def toddler(make_patient):
    return make_patient(name="刘小宝", birth_date=clinic_today() - timedelta(days=2 * 365 + 30))


def test_permanent_molar_on_a_two_year_old_is_refused_and_dentition_unchanged(app, staff, toddler):
    with pytest.raises(ServiceError) as err:
        charts.record(toddler, E(36), staff["doctor"], clinic_today())
    assert err.value.field == "tooth" and "36" in str(err.value.message) and "6" in str(err.value.message)
    assert ChartEntry.select().count() == 0
    assert charts.build(toddler, clinic_today()).dentition == "primary"


@pytest.mark.parametrize("birth_years, tooth", [(9, 38), (5, 17), (4, 11), (35, 75), (1, 55)])
def test_clearly_implausible_teeth_are_refused(app, staff, make_patient, birth_years, tooth):
    p = make_patient(name="赵一", birth_date=clinic_today() - timedelta(days=int(birth_years * 365.25) + 10))
    with pytest.raises(ServiceError):
        charts.record(p, E(tooth, "missing", surfaces=""), staff["doctor"], clinic_today())


@pytest.mark.parametrize("birth_years, tooth", [(6, 36), (7, 11), (12, 47), (17, 48), (11, 85), (3, 55), (2, 36)])
def test_plausible_teeth_are_accepted(app, staff, make_patient, birth_years, tooth):
    p = make_patient(name="赵二", birth_date=clinic_today() - timedelta(days=int(birth_years * 365.25) + 10))
    kind = "unerupted" if (birth_years, tooth) == (2, 36) else "missing"   # a germ seen on an X-ray
    entry = charts.record(p, E(tooth, kind, surfaces=""), staff["doctor"], clinic_today())
    stored = ChartEntry.get_by_id(entry.id)
    assert (stored.patient_id, stored.tooth, stored.kind) == (p.id, tooth, kind)


def test_retained_primary_tooth_in_an_adult_needs_a_reason_which_is_audited(app, staff, adult):
    doc = staff["doctor"]
    with pytest.raises(ServiceError):
        charts.record(adult, E(75, "caries", surfaces="O"), doc, clinic_today())
    entry = charts.record(adult, E(75, "caries", surfaces="O", override="retained 75, 35 agenesis on OPG"), doc,
                          clinic_today())
    event = AuditEvent.get(AuditEvent.object_ref == entry.code)
    assert "retained 75" in event.detail
    charts.record(adult, E(75, "filling", "done", "O"), doc, clinic_today())  # on record now: no second reason
    assert charts.build(adult, clinic_today()).teeth[35].tooth == 75


def test_chart_form_refuses_with_a_clear_message_and_accepts_an_override(app, staff, toddler, as_role):
    client = as_role("doctor")
    url = f"/patients/{toddler.code}/chart/teeth/46/entries"
    resp = client.post(url, data={"kind": "caries", "status": "existing", "surface": "O"}, follow_redirects=True)
    assert "first permanent molar" in resp.get_data(as_text=True)
    assert ChartEntry.select().count() == 0
    client.post(url, data={"kind": "caries", "status": "existing", "surface": "O",
                           "override": "early eruption confirmed"})
    assert ChartEntry.select().count() == 1


# --- 3. status changes on the appointment's day ------------------------------------------------

def _appt(app, staff, patient, day, hour=10):
    from portal.models import Appointment, Chair
    from portal.services.clock import to_utc
    chair = Chair.select().first() or Chair.create(code=new_code(6), name="1号椅")
    start = to_utc(datetime.combine(day, time(hour)), app.config["PORTAL_TZ"])
    return Appointment.create(code=new_code(), patient=patient, doctor=staff["doctor"], chair=chair, start_at=start,
                              end_at=start + timedelta(minutes=30), visit_type="revisit")


@pytest.mark.clock("2026-06-10 09:00")
@pytest.mark.parametrize("status", ["arrived", "no_show"])
def test_arrival_and_no_show_only_on_the_appointments_day(app, staff, adult, status):
    from portal.services import schedule
    future = _appt(app, staff, adult, clinic_today() + timedelta(days=3))
    with app.app_context(), pytest.raises(ServiceError, match="on that day"):
        schedule.change_status(future, status, staff["nurse"], app.config)
    past = _appt(app, staff, adult, clinic_today() - timedelta(days=2))
    with app.app_context(), pytest.raises(ServiceError, match="on that day"):
        schedule.change_status(past, status, staff["nurse"], app.config)
    today = _appt(app, staff, adult, clinic_today(), hour=8)
    with app.app_context():
        schedule.change_status(today, status, staff["nurse"], app.config)
    assert today.status == status


@pytest.mark.clock("2026-06-10 09:00")
def test_cancel_any_time_before_but_not_after_it_began(app, staff, adult):
    from portal.services import schedule
    later = _appt(app, staff, adult, clinic_today() + timedelta(days=5))
    with app.app_context():
        schedule.change_status(later, "cancelled", staff["frontdesk"], app.config, "travelling")
    begun = _appt(app, staff, adult, clinic_today(), hour=8)
    with app.app_context(), pytest.raises(ServiceError, match="already begun"):
        schedule.change_status(begun, "cancelled", staff["frontdesk"], app.config, "late")


# --- 4. tag filter: count and pages ------------------------------------------------------------

def test_tag_filter_counts_and_pages(app, staff, make_patient, as_role):
    from portal.services import patients as registry
    tag = registry.create_tag("儿童患者", "#ff8800", False)
    for i in range(25):
        registry.set_tags(make_patient(name=f"张{chr(0x4e00 + i)}"), {tag.id})
    client = as_role("frontdesk")
    first = client.get(f"/patients?tag={tag.id}").get_data(as_text=True)
    second = client.get(f"/patients?tag={tag.id}&page=2").get_data(as_text=True)
    assert "Patients with this tag: 25." in first and "Page 1 of 2" in first and "page=2" in first
    assert "Page 2 of 2" in second
    codes = lambda html: {p.code for p in registry.tagged(tag.id, 1, 100)[0] if f"/patients/{p.code}" in html}  # noqa: E731
    assert len(codes(first)) == 20 and len(codes(second)) == 5 and not codes(first) & codes(second)


# --- 5. console channel writes each message, link tokens redacted ------------------------------

def test_console_channel_writes_the_message_with_the_link_token_redacted(app, caplog):
    from portal.notify.channels import channel_for
    channel = channel_for("sms", app.config)
    token = "AbC-_123xyzTOKENvalue0987654321qwerty"
    with caplog.at_level(logging.INFO, logger="portal.notify"):
        channel.send("13912345678", f"Your record: https://clinic.example/p/{token} (30 days)", "k1")
    text = caplog.text
    assert "/p/[redacted]" in text and token not in text and "Your record" in text and "5678" in text


def test_worker_logs_to_stderr(app):
    from portal.cli import configure_worker_logging
    stream = io.StringIO()
    handler = configure_worker_logging(stream)
    try:
        logging.getLogger("portal.notify").info("message k2 to 139****5678: hello")
        assert "hello" in stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)


# --- 6. desk tablet: kiosk mode ----------------------------------------------------------------

@pytest.fixture()
def survey(adult):
    return Survey.create(code=new_code(), patient=adult, source="visit", source_key="k-1", due_date=clinic_today())


def test_kiosk_mode_locks_staff_pages_until_the_password_is_given(app, staff, survey, as_role):
    from tests.conftest import PASSWORD
    client = as_role("frontdesk")
    resp = client.post(f"/followups/surveys/{survey.code}/kiosk", data={"confirm": "1"})
    assert resp.status_code == 303 and survey.code in resp.headers["Location"]
    page = client.get(f"/followups/surveys/{survey.code}?desk=1").get_data(as_text=True)
    assert 'class="mainnav"' not in page and "Sign out" not in page
    for url in ("/patients", "/schedule", "/followups/surveys", f"/patients/{survey.patient.code}", "/"):
        resp = client.get(url)
        assert resp.status_code in (302, 303) and f"/followups/surveys/{survey.code}" in resp.headers["Location"], url
    assert client.post("/logout").status_code in (302, 303)
    assert client.get("/patients").status_code in (302, 303)   # still signed in, still locked
    resp = client.post("/followups/kiosk/exit", data={"password": "wrong-password-1"})
    assert resp.status_code == 422 and client.get("/patients").status_code in (302, 303)
    resp = client.post("/followups/kiosk/exit", data={"password": PASSWORD})
    assert resp.status_code == 303
    assert client.get("/patients").status_code == 200
    assert AuditEvent.select().where(AuditEvent.object_type == "kiosk").count() == 2


def test_patient_answers_on_the_locked_tablet(app, staff, survey, as_role):
    from portal.services import surveys
    client = as_role("frontdesk")
    client.post(f"/followups/surveys/{survey.code}/kiosk", data={"confirm": "1"})
    q = surveys.questions()[0]
    resp = client.post(f"/followups/surveys/{survey.code}", data={"desk": "1", f"q{q.id}": "5"})
    assert resp.status_code == 200 and "unlock the tablet" in resp.get_data(as_text=True)
    assert Survey.get_by_id(survey.id).status == "answered"
    assert client.get("/followups/surveys").status_code in (302, 303)
