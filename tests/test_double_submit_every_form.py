"""Every staff form, double-clicked (issue 12): each form on every page each role can open is
submitted twice with the same one-time key — at the same instant and 30 ms apart — and the
route's view runs at most once, both clicks getting the same answer.

The forms are found, not listed: the walk opens every GET route of the app for every role (with
the access test's sample records), so a new form is covered the day it appears. Every POST route
must be reached by some form, or be named below with the reason it has none.
"""
import re
import threading
import time
from collections import defaultdict
from functools import wraps

import pytest

from portal.submissions import FIELD
from tests.conftest import ROLES, sign_in
from tests.test_access_matrix import _routes, _url, samples  # noqa: F401  (fixture)

FORM = re.compile(r'<form(?P<attrs>[^>]*)>(?P<body>.*?)</form>', re.S)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
INPUT = re.compile(r'<input(?P<attrs>[^>]*)>')
# POST routes no staff form posts to, and why.
WITHOUT_FORM = {
    "auth.login": "the sign-in form is for people not yet signed in (keys are per staff member)",
    "portal.exchange": "a patient's link page: no staff keys",
    "portal.check_answer": "a patient's link page: no staff keys",
    "portal.logout": "a patient's link page: no staff keys",
    "followups.kiosk_exit": "shown only on a tablet locked in kiosk mode (tests/test_seed_records.py)",
}
# Forms the sample clinic of the access test never shows, because no record there is in the state
# they need (a signed visit for an addendum, a pending approval, a member with benefits left…).
# Known gaps, listed so that a new route cannot slip in unseen; each deserves a sample record.
NOT_REACHED_YET = {"chart.visit_addendum", "complaints.close", "members.cover", "members.decide_line",
                   "members.decide_refund", "members.use_benefit", "patients.set_guarantor", "patients.set_tags"}
SKIP = {"auth.logout",  # would end the walk's sessions
        "followups.survey_kiosk"}  # locks the session on one survey (kiosk tests cover it)


def _forms(html: str):
    """(action, fields) of each POST form that carries a form key: its hidden and filled-in inputs."""
    for match in FORM.finditer(html):
        attrs = dict(ATTR.findall(match["attrs"]))
        if attrs.get("method", "").lower() != "post":
            continue
        fields = {}
        for tag in INPUT.finditer(match["body"]):
            a = dict(ATTR.findall(tag["attrs"]))
            if a.get("name") and a.get("type", "text") not in ("checkbox", "radio", "file", "submit"):
                fields[a["name"]] = a.get("value", "")
        if FIELD in fields:
            yield attrs.get("action"), fields


def _collect(app, staff, samples, role):  # noqa: F811
    client = sign_in(app.test_client(), staff[role])
    found = {}
    for rule in _routes(app):
        if rule.endpoint in ("static", "auth.logout") or "GET" not in rule.methods:
            continue
        url = _url(rule, samples)
        resp = client.get(url)
        if resp.status_code != 200 or not resp.mimetype == "text/html":
            continue
        for action, fields in _forms(resp.get_data(as_text=True)):
            action = action or url
            adapter = app.url_map.bind("localhost")
            try:
                endpoint, _ = adapter.match(action.split("?")[0], method="POST")
            except Exception:
                continue
            found.setdefault(endpoint, (action, fields))
    return found


def _counting(app):
    runs = defaultdict(int)
    for endpoint, view in list(app.view_functions.items()):
        def counted(*args, _view=view, _endpoint=endpoint, **kwargs):
            runs[_endpoint] += 1
            return _view(*args, **kwargs)
        app.view_functions[endpoint] = wraps(view)(counted)
    return runs


def _twice(clients, action, fields, gap):
    answers, barrier = [None, None], threading.Barrier(2)

    def post(i):
        if gap:
            time.sleep(i * gap)
        else:
            barrier.wait()
        try:
            answers[i] = clients[i].post(action, data=fields)
        except Exception as exc:  # a crash in the view: reported with the form
            answers[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


@pytest.mark.parametrize("gap", [0.0, 0.03], ids=["0ms", "30ms"])
def test_every_form_double_clicked_runs_once(app, staff, samples, gap):  # noqa: F811
    by_role = {role: _collect(app, staff, samples, role) for role in ROLES}
    runs = _counting(app)
    checked, ran_once, twice = 0, 0, []
    for role, forms in by_role.items():
        for endpoint, (action, fields) in sorted(forms.items()):
            if endpoint in SKIP:
                continue
            clients = [sign_in(app.test_client(), staff[role]) for _ in range(2)]
            before = runs[endpoint]
            first, second = _twice(clients, action, fields, gap)
            ran = runs[endpoint] - before
            answer = [(a.status_code, a.headers.get("Location")) if hasattr(a, "status_code") else repr(a)
                      for a in (first, second)]
            if ran > 1 or answer[0] != answer[1] or not all(hasattr(a, "status_code") for a in (first, second)):
                twice.append((role, endpoint, ran, answer))
            checked += 1
            ran_once += ran == 1
    assert twice == [], twice
    assert checked >= 60 and ran_once >= checked * 0.8, (checked, ran_once)


def test_every_post_route_is_reached_by_a_form_or_says_why(app, staff, samples):  # noqa: F811
    reached = set()
    for role in ROLES:
        reached |= set(_collect(app, staff, samples, role))
    posts = {r.endpoint for r in _routes(app) if "POST" in r.methods}
    missing = sorted(posts - reached - set(WITHOUT_FORM) - NOT_REACHED_YET - SKIP)
    assert missing == [], f"POST routes no staff form reaches (add a sample record or say why): {missing}"
