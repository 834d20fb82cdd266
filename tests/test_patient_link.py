"""The patient's read-only link (/p/<token>) and personal centre: token security, the knowledge
check, isolation between patients and families, headers, audit."""
import logging
import re
from datetime import date, timedelta

import pytest

from portal.models import AuditEvent, OutboxMessage, PatientLink, PatientLinkSession, utcnow
from portal.services import patient_links as links
from portal.services import patients as registry
from tests.report_fixtures import CHILD_FINDINGS, clinical_patient, demo_adult, demo_child

LINK_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _issue(app, patient, scope="patient", actor=None):
    with app.test_request_context():
        return links.issue(patient, scope, actor, app.config)


def _headers_ok(resp):
    for key, value in LINK_HEADERS.items():
        assert resp.headers.get(key) == value, (key, resp.headers.get(key))
    assert "noindex" in resp.headers.get("X-Robots-Tag", "")


def _open(client, token, answer):
    resp = client.post(f"/p/{token}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/p/check"), resp.status_code
    assert token not in resp.headers["Location"]
    resp = client.post("/p/check", data={"answer": answer})
    return resp


@pytest.fixture()
def adult(app, staff):
    return demo_adult(staff)


def test_token_is_256_bits_and_stored_hashed(app, staff, adult):
    issued = _issue(app, adult, actor=staff["frontdesk"])
    assert len(issued.token) >= 43                       # 32 bytes, base64url
    link = PatientLink.get_by_id(issued.link.id)
    assert link.token_hash == links.digest(issued.token) and issued.token not in link.token_hash
    assert timedelta(days=29) < link.expires_at - utcnow() <= timedelta(days=30)
    assert not PatientLink.select().where(PatientLink.token_hash == issued.token).exists()


def test_get_changes_nothing_and_looks_the_same_for_any_token(app, staff, adult):
    issued = _issue(app, adult)
    client = app.test_client()
    before = (AuditEvent.select().count(), PatientLinkSession.select().count())
    live = client.get(f"/p/{issued.token}")
    guessed = client.get("/p/" + "A" * 43)
    assert live.status_code == guessed.status_code == 200
    assert live.data.replace(issued.token.encode(), b"T") == guessed.data.replace(b"A" * 43, b"T")
    assert (AuditEvent.select().count(), PatientLinkSession.select().count()) == before
    assert PatientLink.get_by_id(issued.link.id).uses == 0
    assert adult.name.encode() not in live.data
    _headers_ok(live)


def test_exchange_check_and_centre(app, staff, adult):
    issued = _issue(app, adult)
    client = app.test_client()
    resp = _open(client, issued.token, adult.birth_date.isoformat())
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/p/home")
    cookie = client.get_cookie("plink", path="/p")
    assert cookie is not None and cookie.http_only and cookie.value != issued.token
    page = client.get("/p/home")
    assert page.status_code == 200
    _headers_ok(page)
    html = page.data.decode()
    assert adult.name in html and 'class="odontogram"' in html and "Zirconia crown" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert issued.token not in html
    assert 'href="/patients/' not in html and "hx-get" not in html     # the staff links are gone from the chart
    pdf = client.get(f"/p/people/{adult.code}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    _headers_ok(pdf)
    rows = AuditEvent.select().where(AuditEvent.actor_label == "patient-link", AuditEvent.patient_id == adult.id)
    kinds = {(r.action, r.object_type) for r in rows}
    assert ("read", "portal:centre") in kinds and ("print", "first_visit_report") in kinds
    assert ("read", "patient_link") in kinds


def test_last_four_phone_digits_pass_the_check(app, staff, adult):
    issued = _issue(app, adult)
    assert _open(app.test_client(), issued.token, adult.phone[-4:]).headers["Location"].endswith("/p/home")


def test_health_data_needs_the_knowledge_check(app, staff, adult):
    issued = _issue(app, adult)
    client = app.test_client()
    client.post(f"/p/{issued.token}")
    resp = client.get("/p/home")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/p/check")
    assert client.get(f"/p/people/{adult.code}").status_code == 200
    assert adult.name.encode() not in client.get(f"/p/people/{adult.code}").data
    assert client.get(f"/p/people/{adult.code}/report.pdf").data[:4] != b"%PDF"


def test_unknown_expired_revoked_and_tampered_links_get_the_same_answer(app, staff, adult):
    expired, revoked, live = _issue(app, adult), _issue(app, adult), _issue(app, adult)
    PatientLink.update(expires_at=utcnow() - timedelta(seconds=1)).where(PatientLink.id == expired.link.id).execute()
    with app.test_request_context():
        links.revoke(revoked.link, staff["frontdesk"])
    answers = []
    for token in (expired.token, revoked.token, "x" * 43, live.token[:-1] + ("A" if live.token[-1] != "A" else "B")):
        client = app.test_client()
        resp = client.post(f"/p/{token}")
        answers.append((resp.status_code, resp.data.replace(token.encode(), b"T")))
        assert client.get_cookie("plink", path="/p") is None
        _headers_ok(resp)
    assert len(set(answers)) == 1 and answers[0][0] == 404


def test_revoking_ends_open_sessions_and_reissue_replaces(app, staff, adult, as_role):
    issued = _issue(app, adult)
    client = app.test_client()
    _open(client, issued.token, adult.birth_date.isoformat())
    assert adult.name.encode() in client.get("/p/home").data
    desk = as_role("frontdesk")
    resp = desk.post(f"/links/{issued.link.code}/reissue")
    assert resp.status_code == 200
    new_url = re.search(rb'value="(http[^"]+/p/[^"]+)"', resp.data).group(1).decode()
    assert adult.name.encode() not in client.get("/p/home").data        # the old session ended
    assert app.test_client().post(f"/p/{issued.token}").status_code == 404
    new = PatientLink.get(PatientLink.code != issued.link.code, PatientLink.purpose == "link")
    assert PatientLink.get_by_id(issued.link.id).replaced_by_id == new.id
    assert _open(app.test_client(), new_url.rsplit("/", 1)[1], adult.phone[-4:]).status_code == 303


def test_knowledge_check_is_throttled(app, staff, adult):
    issued = _issue(app, adult)
    client = app.test_client()
    client.post(f"/p/{issued.token}")
    for _ in range(5):
        assert client.post("/p/check", data={"answer": "1900-01-01"}).status_code == 200
    resp = client.post("/p/check", data={"answer": adult.birth_date.isoformat()})   # right, but too late
    assert resp.status_code == 429
    assert client.get("/p/home").status_code == 303
    assert AuditEvent.select().where(AuditEvent.action == "denied", AuditEvent.object_type == "patient_link").count() >= 6


def test_throttle_per_address_across_links(app, staff, make_patient):
    app.config["PATIENT_LINK_MAX_FAILURES_PER_ADDRESS"] = 3
    for i in range(3):
        client = app.test_client()
        client.post(f"/p/{_issue(app, make_patient(name='王' + '一二三'[i])).token}")
        client.post("/p/check", data={"answer": "0000"})
    victim = make_patient(name="赵六")
    client = app.test_client()
    client.post(f"/p/{_issue(app, victim).token}")
    assert client.post("/p/check", data={"answer": victim.phone[-4:]}).status_code == 429


def test_a_link_never_shows_another_patient(app, staff, adult, make_patient):
    other = clinical_patient(staff, "周小雨", date(2019, 1, 1), CHILD_FINDINGS, ["PRV-FV"])
    issued = _issue(app, adult)
    client = app.test_client()
    _open(client, issued.token, adult.birth_date.isoformat())
    for url in (f"/p/people/{other.code}", f"/p/people/{other.code}/report.pdf",
                f"/p/people/{other.code}/instructions.pdf"):
        resp = client.get(url)
        assert resp.status_code == 404 and other.name.encode() not in resp.data, url
    assert other.name.encode() not in client.get("/p/home").data


def test_family_link_shows_only_that_family(app, staff):
    parent = demo_adult(staff)
    family = registry.create_family("李家", parent, staff["frontdesk"])
    child = demo_child(staff, family=family)
    parent.family = family
    parent.save()
    outsider = clinical_patient(staff, "周小雨", child.birth_date, CHILD_FINDINGS, ["PRV-FV"])
    issued = _issue(app, child, "family")
    assert issued.link.holder_id == parent.id
    client = app.test_client()
    _open(client, issued.token, parent.phone[-4:])
    home = client.get("/p/home").data.decode()
    assert parent.name in home and child.name in home and outsider.name not in home
    assert child.name in client.get(f"/p/people/{child.code}").data.decode()
    assert client.get(f"/p/people/{outsider.code}").status_code == 404


def test_guardian_link_shows_the_child_only(app, staff):
    parent = demo_adult(staff)
    family = registry.create_family("李家", parent, staff["frontdesk"])
    parent.family = family
    parent.save()
    child = demo_child(staff, family=family)
    issued = _issue(app, child, "guardian")
    client = app.test_client()
    assert _open(client, issued.token, child.birth_date.isoformat()).headers["Location"].endswith("/p/home")
    home = client.get("/p/home").data.decode()
    assert child.name in home and client.get(f"/p/people/{parent.code}").status_code == 404


@pytest.mark.clock("2026-06-10 10:00")  # sent at once: outside the quiet hours
def test_desk_creates_and_sends_a_link_without_health_details(app, staff, adult, as_role):
    from portal.services.patients import record_consent
    from tests.notify_servers import Gateway
    gateway = Gateway()
    app.config.update(SMS_GATEWAY_URL=gateway.url)
    try:
        record_consent(adult, "reminders", True, staff["frontdesk"])
        resp = as_role("frontdesk").post(f"/patients/{adult.code}/links", data={"scope": "patient", "send": "1"})
        assert resp.status_code == 200 and b"<svg" in resp.data
        url = re.search(rb'value="(http[^"]+/p/[^"]+)"', resp.data).group(1).decode()
    finally:
        gateway.close()
    (delivered,) = gateway.delivered.values()  # immediate mode: sent through the real local gateway
    text = delivered["text"]
    assert url in text
    for word in ("crown", "冠", "龋", "caries", adult.name, "Zirconia"):
        assert word not in text
    # once sent, the outbox row no longer holds the token
    message = OutboxMessage.get(OutboxMessage.template == "patient_link")
    assert message.status == "sent" and url.rsplit("/", 1)[1] not in message.context
    assert as_role("nurse").post(f"/patients/{adult.code}/links", data={"scope": "patient"}).status_code == 403


def test_token_never_logged(app, staff, adult, caplog):
    from portal.blueprints.portal.views import RedactLinkTokens
    issued = _issue(app, adult)
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - "%s" 200', ("127.0.0.1", f"GET /p/{issued.token} HTTP/1.1"), None)
    RedactLinkTokens().filter(record)
    assert issued.token not in record.getMessage() and "/p/[token]" in record.getMessage()
    assert any(isinstance(f, RedactLinkTokens) for f in logging.getLogger("werkzeug").filters)
    assert any(isinstance(f, RedactLinkTokens) for f in logging.getLogger("portal.notify").filters)


def test_session_expires(app, staff, adult):
    issued = _issue(app, adult)
    client = app.test_client()
    _open(client, issued.token, adult.birth_date.isoformat())
    PatientLinkSession.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    resp = client.get("/p/home")
    assert resp.status_code == 200 and adult.name.encode() not in resp.data
