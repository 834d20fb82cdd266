"""Every registered route × every role (and a stranger): deny by default, as the matrix says."""
import re

import pytest

from portal.access import MATRIX, PUBLIC, role_may
from portal.services import patients as registry
from tests.conftest import ROLES
from tests.clock import clinic_today


@pytest.fixture()
def samples(app, staff, make_patient):
    from datetime import date, time, timedelta

    from portal.models import Appointment, Chair, OutboxMessage, ShiftPattern, new_code, utcnow
    from portal.models import Tag
    patient = make_patient()
    family = registry.create_family("张家", patient, staff["frontdesk"])
    registry.move_to_family(make_patient(name="张小妹", phone="13900000099"), family, staff["frontdesk"])
    Tag.get_or_create(name="牙齿敏感", defaults={"color": "#dc2626"})  # the patient page's tag form shows when tags exist
    chair = Chair.create(code=new_code(6), name="1号椅")
    appt = Appointment.create(code=new_code(), patient=patient, doctor=staff["doctor"], chair=chair,
                              start_at=utcnow(), end_at=utcnow() + timedelta(minutes=30),
                              visit_type="revisit")
    message = OutboxMessage.create(patient=patient, channel="sms", recipient=patient.phone, template="change_notice",
                                   scheduled_at=utcnow(), unique_key="sample", status="failed")
    pattern = ShiftPattern.create(doctor=staff["doctor"], weekday=0, start_time=time(9), end_time=time(12),
                                  valid_from=clinic_today())
    # `code` means a different record under each URL prefix; the first matching prefix wins.
    codes = [("/families", family.code), ("/appointments", appt.code), ("/schedule/chairs", chair.code),
             ("/language", "en"), ("/", patient.code)]
    from tests.chart_samples import chart_samples
    chart_codes, chart_params = chart_samples(app, staff, patient)  # dental record: visits, protocols, …
    codes[-1:-1] = chart_codes
    from tests.followup_samples import followup_samples
    codes[-1:-1] = followup_samples(app, staff, patient)  # follow-ups, tasks, rules, surveys, complaints
    from tests.members_samples import members_samples
    codes[-1:-1] = members_samples(app, staff, patient)  # bills, payments, gifts, desk tasks, doctor changes
    from tests.visit_record_samples import visit_record_samples
    codes[-1:-1] = visit_record_samples(app, staff, patient)  # issue 14: record templates
    from tests.prescription_samples import prescription_samples; codes[-1:-1] = prescription_samples(app, staff, patient)  # noqa: E702,E501
    from tests.perio_samples import perio_samples; codes[-1:-1] = perio_samples(app, staff, patient)  # noqa: E702
    from tests.consent_samples import consent_samples; codes[-1:-1] = consent_samples(app, staff, patient)  # noqa: E702
    from tests.lab_cases_samples import lab_cases_samples
    codes[-1:-1] = lab_cases_samples(app, staff, patient)  # lab cases and labs (issue 14)
    return {**chart_params, "codes": codes, "username": "nurse", "message_id": str(message.id), "pattern_id": str(pattern.id),
            "token": "not-a-real-token", "filename": "css/portal.css"}


def _url(rule, samples):
    url = rule.rule
    for arg in rule.arguments:
        if arg == "code":
            value = next(v for prefix, v in samples["codes"] if rule.rule.startswith(prefix))
        else:
            value = samples[arg]
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, url)
    return url


def _routes(app):
    # Signing out ends the walk's session, so it goes last.
    return sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "auth.logout")


def test_every_route_declares_an_action(app):
    missing = []
    for rule in _routes(app):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "access_action", None)
        if action is None or action not in MATRIX:
            missing.append(rule.rule)
    assert not missing, f"routes missing from access.MATRIX: {missing}"


@pytest.mark.parametrize("role", ROLES + ("stranger",))
def test_route_walk(app, staff, samples, as_role, role):
    client = app.test_client() if role == "stranger" else as_role(role)
    checked = 0
    for rule in _routes(app):
        if rule.endpoint == "static":
            continue
        action = app.view_functions[rule.endpoint].access_action
        url = _url(rule, samples)
        method = "GET" if "GET" in rule.methods else "POST"
        resp = client.open(url, method=method, data={})
        if action == PUBLIC:
            assert resp.status_code not in (401, 403), (role, url)
        elif role == "stranger":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], (url, resp.status_code)
        elif role_may(role, action):
            assert resp.status_code not in (401, 403), (role, method, url, resp.status_code)
            assert resp.status_code < 500, (role, method, url)
        else:
            assert resp.status_code == 403, (role, method, url, resp.status_code)
        checked += 1
    assert checked == len([r for r in _routes(app) if r.endpoint != "static"])


def test_every_post_route_requires_csrf(csrf_app, staff, samples, as_role):
    client = as_role("manager")
    posts = [r for r in _routes(csrf_app) if "POST" in r.methods]
    assert posts
    for rule in posts:
        resp = client.post(_url(rule, samples), data={})
        assert resp.status_code == 400, rule.rule


def test_restricted_patient_only_for_manager_and_attending_doctor(app, staff, as_role, make_patient):
    patient = make_patient(name="李保密")
    patient.restricted, patient.attending_doctor = True, staff["doctor"]
    patient.save()
    assert as_role("doctor").get(f"/patients/{patient.code}").status_code == 200
    assert as_role("manager").get(f"/patients/{patient.code}").status_code == 200
    for role in ("nurse", "frontdesk", "consultant"):
        assert as_role(role).get(f"/patients/{patient.code}").status_code == 403


def test_unknown_record_is_404_not_a_leak(as_role, staff):
    assert as_role("doctor").get("/patients/NOPE2345").status_code == 404
