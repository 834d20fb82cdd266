"""Response headers and error pages: nothing with patient data is cached, every HTML page is
framed-out and script-restricted by CSP (and does not need more than CSP allows), error pages
say what happened without leaking internals, and /healthz answers a monitor."""
import re

import peewee as pw
import pytest

from portal.access import PUBLIC, allow
from portal.services import patients as registry
from tests.conftest import ROLES

LEAKS = ("Traceback", 'File "', "peewee", "psycopg", "sqlite3", "SELECT ", "INSERT ", " FROM ",
         "werkzeug", "jinja2", "Exception", "Error:", "/work/", "site-packages")


@pytest.fixture()
def samples(app, staff, make_patient):
    patient = make_patient(name="林隐私", phone="13812345678", allergies="青霉素")
    family = registry.create_family("林家", patient, staff["frontdesk"])
    return {"patient": patient, "family": family}


def vary(resp):
    return {v.strip().lower() for v in resp.headers.get("Vary", "").split(",") if v.strip()}


def csp(resp):
    policy = resp.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return policy, directives


def assert_html_hardened(resp, where):
    assert resp.mimetype == "text/html", where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("X-Frame-Options") == "DENY", where
    policy, directives = csp(resp)
    assert policy, (where, "no Content-Security-Policy")
    assert "'unsafe-eval'" not in policy, (where, policy)
    script = directives.get("script-src", directives.get("default-src"))
    assert "script-src" in directives and "'self'" in script, (where, policy)
    assert not {"'unsafe-inline'", "*", "data:", "http:", "https:"} & set(script), (where, policy)
    assert directives.get("object-src") == ["'none'"] and directives.get("frame-ancestors") == ["'none'"], policy
    # ... and the page needs nothing the policy forbids (it would silently break in a browser)
    body = resp.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", body, flags=re.I):
        src = re.search(r'\bsrc="([^"]+)"', tag)
        assert src and src.group(1).startswith("/static/"), (where, tag)
    assert not re.search(r"<script\b[^>]*>(?!\s*</script>)", body, flags=re.I), (where, "inline script")
    assert not re.search(r"\son[a-z]+\s*=", body, flags=re.I), (where, "inline event handler")
    needs_eval = r"\shx-on[:\-]|\shx-vars\s*=|\shx-(?:vals|headers)\s*=\s*[\"']\s*js:|javascript:"
    assert not re.search(needs_eval, body, flags=re.I), (where, "needs eval or inline script")


def assert_no_store(resp, where):
    assert resp.headers.get("Cache-Control") == "no-store", (where, resp.headers.get("Cache-Control"))
    assert "hx-request" in vary(resp), (where, resp.headers.get("Vary"))


# --- pages with patient data --------------------------------------------------------------

def patient_pages(samples):
    p, f = samples["patient"], samples["family"]
    return [f"/patients/{p.code}", f"/patients/{p.code}/edit", f"/families/{f.code}",
            f"/patients?q={p.name}", f"/patients?q={p.phone[-4:]}"]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_pages_with_patient_data_are_never_stored(as_role, samples, htmx):
    client = as_role("frontdesk")
    headers = {"HX-Request": "true"} if htmx else {}
    for url in patient_pages(samples):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, url
        assert_no_store(resp, url)
        assert_html_hardened(resp, url)
        if not htmx:
            assert 'hx-history="false"' in resp.get_data(as_text=True), url


def test_a_fragment_with_patient_data_is_never_stored(as_role, samples):
    p = samples["patient"]
    resp = as_role("nurse").get(f"/patients?q={p.name}", headers={"HX-Request": "true", "HX-Target": "results"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and p.name in body and "<html" not in body  # only the block
    assert_no_store(resp, "search fragment")


def test_a_refused_registration_echoing_patient_data_is_not_stored(as_role, samples):
    resp = as_role("frontdesk").post("/patients/new", data={"name": "陈某某", "phone": "13899998888",
                                                            "birth_date": "not a date"})
    assert resp.status_code == 422 and "13899998888" in resp.get_data(as_text=True)
    assert_no_store(resp, "POST /patients/new")
    assert_html_hardened(resp, "POST /patients/new")


def test_patient_data_is_not_stored_for_any_role_that_may_read_it(as_role, samples):
    p = samples["patient"]
    for role in ROLES:
        resp = as_role(role).get(f"/patients/{p.code}")
        assert resp.status_code == 200 and p.name in resp.get_data(as_text=True), role
        assert_no_store(resp, role)


# --- every HTML page ----------------------------------------------------------------------

def _url(rule, samples):
    """A URL for the rule: real records where the samples have them, else a value that
    finds nothing (a 404 page is HTML too)."""
    url = rule.rule
    for arg in rule.arguments:
        converter = re.search(rf"<(?:([^:<>]+):)?{arg}>", url).group(1)
        if arg == "code" and url.startswith("/patients"):
            value = samples["patient"].code
        elif arg == "code" and url.startswith("/families"):
            value = samples["family"].code
        elif arg == "filename":
            value = "css/portal.css"
        elif arg == "username":
            value = "nurse"
        else:
            value = "999999" if converter == "int" else "NOSUCHVALUE"
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, url)
    return url


@pytest.mark.parametrize("who", ROLES + ("stranger",))
def test_every_html_response_is_hardened(app, as_role, samples, who):
    client = app.test_client() if who == "stranger" else as_role(who)
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = _url(rule, samples)
        resp = client.get(url, follow_redirects=True)
        assert resp.status_code < 500, (who, url)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", (who, url)
        if resp.mimetype == "text/html":
            assert_html_hardened(resp, (who, url))
            assert "hx-request" in vary(resp), (who, url)
            checked += 1
    assert checked >= (3 if who == "stranger" else 5)


# --- error pages --------------------------------------------------------------------------

def assert_custom_error_page(resp, code, where):
    body = resp.get_data(as_text=True)
    assert resp.status_code == code, (where, resp.status_code)
    assert 'class="card narrow error-page"' in body, (where, body[:300])
    assert "<html" in body and "</html>" in body
    for leak in LEAKS:
        assert leak not in body, (where, leak)
    assert_html_hardened(resp, where)


def test_forbidden_page(as_role, samples):
    resp = as_role("nurse").get("/admin/audit")
    assert_custom_error_page(resp, 403, "nurse /admin/audit")
    assert "Not allowed" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/no/such/page", "/patients/NOSUCHCODE", "/families/NOSUCHCODE",
                                 "/patients/NOSUCHCODE/edit", "/static/nothing.js"])
def test_not_found_page(as_role, samples, url):
    resp = as_role("doctor").get(url)
    assert_custom_error_page(resp, 404, url)
    assert "Not found" in resp.get_data(as_text=True)


def test_not_found_for_a_stranger_too(client):
    assert_custom_error_page(client.get("/no/such/page"), 404, "stranger")


@pytest.mark.parametrize("method,url", [("GET", "/patients/{code}/tags"), ("GET", "/logout"),
                                        ("DELETE", "/patients/{code}"), ("PUT", "/login")])
def test_method_not_allowed_page(as_role, samples, method, url):
    url = url.format(code=samples["patient"].code)
    resp = as_role("manager").open(url, method=method)
    assert_custom_error_page(resp, 405, (method, url))
    assert "Not allowed this way" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/patients/%00", "/patients/%00/edit", "/families/%00",
                                 "/patients/new?family=%00"])
def test_a_nul_byte_in_a_code_is_not_a_server_error(as_role, samples, url):
    """Codes come from the URL; a NUL byte in one must not reach the database driver
    (psycopg2 refuses it with ValueError, which would be a 500 on PostgreSQL)."""
    client = as_role("manager")
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    resp = client.get(url)
    assert resp.status_code in (200, 400, 404), (url, resp.status_code)


def test_server_error_page_hides_the_cause(app, staff):
    @allow(PUBLIC)
    def explode():
        raise pw.OperationalError('SELECT name, phone FROM "patient" WHERE secret = 1')

    app.add_url_rule("/test-explode", "test_explode", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler, not the test client
    resp = app.test_client().get("/test-explode")
    assert_custom_error_page(resp, 500, "/test-explode")
    assert "secret" not in resp.get_data(as_text=True)


# --- health check -------------------------------------------------------------------------

def test_healthz_reports_status_db_and_queue(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    data = resp.get_json()
    assert {"status", "db", "queue"} <= set(data)
    assert (data["status"], data["db"], data["queue"]) == ("ok", "ok", "ok")
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_healthz_says_degraded_when_a_part_is_down(client, monkeypatch):
    from portal.blueprints.home import views

    class BrokenDatabase:
        def execute_sql(self, *args, **kwargs):
            raise pw.OperationalError("connection refused: secret-host:5432")

    monkeypatch.setattr(views, "check_queue", lambda: (False, "RedisHuey: connection refused"))
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "degraded", "db": "ok", "queue": "error"}

    monkeypatch.setattr(views, "db", BrokenDatabase())
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "degraded", "db": "error", "queue": "error"}
    assert "secret-host" not in resp.get_data(as_text=True)
