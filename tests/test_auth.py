"""Sign-in, throttling, server-side sessions and timeouts."""
from datetime import timedelta

import pytest

from portal.models import LoginAttempt, StaffSession, utcnow
from tests.conftest import PASSWORD, sign_in


def login(client, username, password=PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password}, **kw)


def test_login_success_lands_on_home_and_rotates_session(client, staff):
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"  # a fixated pre-login session
    resp = login(client, "doctor")
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    with client.session_transaction() as sess:
        assert "planted" not in sess
    assert StaffSession.select().where(StaffSession.staff == staff["doctor"]).count() == 1
    home = client.get("/")
    assert home.status_code == 200 and "Demo doctor" in home.get_data(as_text=True)


def test_wrong_password_and_unknown_user_give_the_same_message(client, staff):
    a = login(client, "doctor", "wrong-password")
    b = login(client, "nobody", "wrong-password")
    assert a.status_code == b.status_code == 422
    msg = "Wrong user name or password"
    assert msg in a.get_data(as_text=True) and msg in b.get_data(as_text=True)


def test_next_parameter_cannot_leave_the_site(client, staff):
    resp = login(client, "doctor", query_string={"next": "//evil.example/x"})
    assert resp.headers["Location"] == "/"
    client2 = client.application.test_client()
    resp = login(client2, "doctor", query_string={"next": "/patients?q=zxm"})
    assert resp.headers["Location"] == "/patients?q=zxm"


def test_account_throttle_blocks_then_lifts_by_itself(app, client, staff):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        login(client, "nurse", "bad-password")
    blocked = login(client, "nurse")  # the right password, too soon
    assert blocked.status_code == 422 and "Too many failed attempts" in blocked.get_data(as_text=True)
    # The window passes: the real user gets back in.
    LoginAttempt.update(at=utcnow() - timedelta(minutes=app.config["LOGIN_WINDOW_MINUTES"] + 1)).execute()
    assert login(client, "nurse").status_code == 303


def test_address_throttle_covers_many_accounts(app, client, staff):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6
    for i in range(6):
        login(client, f"guess{i}", "bad-password")
    assert "Too many failed attempts" in login(client, "manager").get_data(as_text=True)
    other = app.test_client()
    assert login(other, "manager", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 303


def test_logout_ends_the_server_side_session(client, staff):
    login(client, "frontdesk")
    with client.session_transaction() as sess:
        stolen = dict(sess)
    assert client.post("/logout").status_code == 303
    thief = client.application.test_client()
    with thief.session_transaction() as sess:
        sess.update(stolen)  # replaying the old cookie
    assert thief.get("/").status_code == 302


def test_password_change_ends_other_sessions(app, staff):
    phone, desk = app.test_client(), app.test_client()
    login(phone, "consultant")
    login(desk, "consultant")
    resp = desk.post("/account/password", data={"current_password": PASSWORD, "password": "a-brand-new-secret",
                                                 "confirm": "a-brand-new-secret"})
    assert resp.status_code == 303
    assert desk.get("/").status_code == 200
    assert phone.get("/").status_code == 302


def test_weak_new_password_is_refused(client, staff):
    login(client, "consultant")
    resp = client.post("/account/password", data={"current_password": PASSWORD, "password": "short",
                                                  "confirm": "short"})
    assert "at least 10 characters" in resp.get_data(as_text=True)


def test_disabling_an_account_signs_it_out(app, staff, as_role):
    victim = as_role("doctor")
    assert victim.get("/").status_code == 200
    manager = as_role("manager")
    assert manager.post("/admin/staff/doctor/active", data={}).status_code == 303
    assert victim.get("/").status_code == 302
    assert login(app.test_client(), "doctor").status_code == 422


@pytest.mark.parametrize("field,delta", [("last_seen_at", timedelta(minutes=31)),
                                         ("created_at", timedelta(hours=13))])
def test_idle_and_absolute_timeouts(client, staff, field, delta):
    sign_in(client, staff["nurse"])
    StaffSession.update({getattr(StaffSession, field): utcnow() - delta}).execute()
    assert client.get("/").status_code == 302


def test_expired_session_on_htmx_gets_client_redirect(client, staff):
    resp = client.get("/patients?q=abc", headers={"HX-Request": "true", "HX-Target": "results"})
    assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/login")


def test_reset_password_forces_a_change_at_next_login(app, staff, as_role):
    manager = as_role("manager")
    page = manager.post("/admin/staff/nurse/password", data={}).get_data(as_text=True)
    import re
    temporary = re.search(r"<code>([^<]+)</code>", page).group(1)
    nurse = app.test_client()
    assert login(nurse, "nurse", temporary).status_code == 303
    assert nurse.get("/patients").headers["Location"].endswith("/account/password")
