"""Every staff form, double-clicked (issue 12): each form on every page each role can open is
submitted twice with the same one-time key — at the same instant and 30 ms apart — and the
route's view runs at most once, both clicks getting the same answer (and never a 403: a page
shows a role only the forms it may send).

The forms are found, not listed: the walk opens every GET route of the app for every role (with
the access test's sample records), so a new form is covered the day it appears. Every POST route
must be reached by some form, or be named below with the reason it has none.
"""
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from functools import wraps

import pytest

from portal.submissions import FIELD
from tests.conftest import ROLES, sign_in
from tests.test_access_matrix import _routes, _url, samples  # noqa: F401  (fixture)

# Walks of every page of every role: run once in make test, not again in the clock sweeps.
pytestmark = pytest.mark.heavy

FORM = re.compile(r'<form(?P<attrs>[^>]*)>(?P<body>.*?)</form>', re.S)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
INPUT = re.compile(r'<input(?P<attrs>[^>]*)>')
SELECT = re.compile(r'<select(?P<attrs>[^>]*)>(?P<body>.*?)</select>', re.S)
OPTION = re.compile(r'<option(?P<attrs>[^>]*)>')
# POST routes no staff form posts to, and why.
WITHOUT_FORM = {
    "auth.login": "the sign-in form is for people not yet signed in (keys are per staff member)",
    "portal.exchange": "a patient's link page: no staff keys",
    "portal.check_answer": "a patient's link page: no staff keys",
    "portal.logout": "a patient's link page: no staff keys",
    "followups.kiosk_exit": "shown only on a tablet locked in kiosk mode (tests/test_seed_records.py)",
    "chart.visit_apply_template": "a template button inside the notes form (formaction): fills the unsaved "
                                  "fields, changes nothing (tests/test_visit_record.py)",
}
# The walk's first sample patient has not joined and its visit is a draft, so their pages show
# the join form and the notes form. A second sample set (a VIP member with a signed visit and a
# bill with a treatment on it) is walked too, for the pages whose address it changes: there the
# addendum, benefit-use and cover forms show.
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
        for tag in SELECT.finditer(match["body"]):  # a select sends its first option, as a browser would
            name = dict(ATTR.findall(tag["attrs"])).get("name")
            first = OPTION.search(tag["body"])
            if name and first:
                fields[name] = dict(ATTR.findall(first["attrs"])).get("value", "")
        if FIELD in fields:
            yield attrs.get("action"), fields


@pytest.fixture
def member_samples(app, staff, make_patient, samples):  # noqa: F811
    """The second sample set: a VIP member (two free scalings a year) with a signed visit and a
    bill carrying a treatment. Same addresses as `samples` except the patient, visit and bill."""
    from portal.models import Visit
    from portal.services import billing
    from portal.services import chart_visits as visits
    from tests.chart_samples import scaling_procedure
    from tests.clock import clinic_today
    from tests.members_helpers import pay
    member = make_patient(name="李会员", phone="13900000077")
    with app.app_context():
        pay(app, staff, member, 1_200_000)
        visit = visits.open_visit(member, staff["doctor"], clinic_today())
        Visit.update(chief_complaint="牙龈出血", diagnosis="慢性牙龈炎").where(Visit.id == visit.id).execute()
        visits.sign(visit, staff["doctor"])
        bill = billing.open_bill(member, staff["frontdesk"], app.config, clinic_today())
        billing.add_charge(bill, scaling_procedure(), staff["frontdesk"], app.config, clinic_today())
    mine = {"/visits": visit.code, "/members/bills": bill.code, "/": member.code}
    return {**samples, "codes": [(prefix, mine.get(prefix, code)) for prefix, code in samples["codes"]]}


def _collect(app, staff, samples, role, also=None):  # noqa: F811
    """The forms on every page `role` opens; with `also`, the pages whose address that second
    sample set changes are walked again with it (first form found per route wins)."""
    client = sign_in(app.test_client(), staff[role])
    found = {}
    pages = [(rule, _url(rule, samples)) for rule in _routes(app)]
    if also is not None:
        pages += [(rule, _url(rule, also)) for rule in _routes(app) if _url(rule, also) != _url(rule, samples)]
    for rule, url in pages:
        if rule.endpoint in ("static", "auth.logout") or "GET" not in rule.methods:
            continue
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
            found.setdefault(endpoint, (action, fields, url))
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


def test_every_form_double_clicked_runs_once(app, staff, samples, member_samples):  # noqa: F811
    by_role = {role: _collect(app, staff, samples, role, also=member_samples) for role in ROLES}
    reached = set().union(*by_role.values())
    posts = {r.endpoint for r in _routes(app) if "POST" in r.methods}
    missing = sorted(posts - reached - set(WITHOUT_FORM) - SKIP)
    assert missing == [], f"POST routes no staff form reaches (add a sample record or say why): {missing}"

    runs = _counting(app)
    checked, ran_once, twice = 0, 0, []
    for role, forms in by_role.items():
        for endpoint, (action, fields, _page) in sorted(forms.items()):
            if endpoint in SKIP:
                continue
            for gap in (0.0, 0.03):  # a double click at the same instant, and 30 ms apart
                clicked = fields if gap == 0.0 else {**fields, FIELD: secrets.token_hex(16)}  # drawn again
                clients = [sign_in(app.test_client(), staff[role]) for _ in range(2)]
                before = runs[endpoint]
                first, second = _twice(clients, action, clicked, gap)
                ran = runs[endpoint] - before
                answer = [(a.status_code, a.headers.get("Location")) if hasattr(a, "status_code") else repr(a)
                          for a in (first, second)]
                if ran > 1 or answer[0] != answer[1] or not all(hasattr(a, "status_code") for a in (first, second)):
                    twice.append((role, endpoint, gap, ran, answer))
                elif first.status_code == 403:  # a form on this role's page that its role may not send
                    twice.append((role, endpoint, "shown but forbidden"))
                checked += 1
                ran_once += ran == 1
    assert twice == [], twice
    assert checked >= 120 and ran_once >= checked * 0.8, (checked, ran_once)


# --- sixteen desks at once on every form ---------------------------------------------------------

def _broken_invariants() -> list[str]:
    """What must hold after any mix of requests, whoever won: no negative points balance or stock,
    no refund beyond its payment, no double booking, an intact audit chain."""
    from peewee import fn

    from portal import audit
    from portal.models import Appointment, GiftItem, Payment, PointEntry
    broken = [f"points of patient {pid}: {total}" for pid, total in
              PointEntry.select(PointEntry.patient, fn.SUM(PointEntry.delta)).group_by(PointEntry.patient)
              .having(fn.SUM(PointEntry.delta) < 0).tuples()]
    broken += [f"gift {code} stock {stock}" for code, stock in
               GiftItem.select(GiftItem.code, GiftItem.stock).where(GiftItem.stock < 0).tuples()]
    for payment in Payment.select().where(Payment.kind == "payment"):
        refunded = sum(r.amount_fen for r in payment.refunds if r.state != "rejected")
        if refunded > payment.amount_fen:
            broken.append(f"payment {payment.code} refunded {refunded} of {payment.amount_fen}")
    live = list(Appointment.select().where(Appointment.status.not_in(["cancelled", "no_show"])))
    for a in live:
        for b in live:
            if a.id < b.id and (a.doctor_id == b.doctor_id or a.chair_id == b.chair_id) \
                    and a.start_at < b.end_at and b.start_at < a.end_at:
                broken.append(f"appointments {a.code} and {b.code} overlap")
    intact, _, first_bad = audit.verify_chain()
    if not intact:
        broken.append(f"audit chain broken at {first_bad}")
    return broken


WRITES = ("create", "update", "delete", "merge")


def _form_now(client, page, action):
    for now_action, fields in _forms(client.get(page).get_data(as_text=True)):
        if (now_action or page) == action:
            return fields
    return None


def _event_tables():
    """Rows one transition writes once, and the key that makes a second copy a duplicate."""
    from portal.models import AppointmentEvent, AuditEvent, ComplaintAction, FollowupCall, OutboxMessage
    return {
        # every write of patient data is audited: the audit trail sees the transitions the
        # domain tables below do not (signing, closing, paying, deciding, using a benefit, ...)
        AuditEvent: lambda r: (r.action, r.object_type, r.object_ref, r.detail) if r.action in WRITES else None,
        AppointmentEvent: lambda r: (r.appointment_id, r.change, r.from_status, r.to_status),
        OutboxMessage: lambda r: (r.patient_id, r.appointment_id, r.template),
        ComplaintAction: lambda r: (r.complaint_id, r.kind),
        FollowupCall: lambda r: (r.followup_id,),
    }


def _high_water() -> dict:
    from peewee import fn
    return {model: model.select(fn.MAX(model.id)).scalar() or 0 for model in _event_tables()}


def _new_events(since: dict) -> Counter:
    """Events and messages written since the high-water mark, counted per key (one key per
    transition: appointment and change, patient and message template, complaint and step, ...)."""
    written = Counter()
    for model, key in _event_tables().items():
        for row in model.select().where(model.id > since[model]):
            if key(row) is not None:
                written[(model.__name__, *key(row))] += 1
    return written


def test_sixteen_desks_on_every_form_at_once_break_nothing(app, staff, samples, member_samples):  # noqa: F811
    """Each form submitted by 16 people at the same instant (separate sessions, each its own key,
    so all 16 run): no server error, no 'database is locked' or deadlock; a transition form (one
    that says which state the page showed) moves the record on once, the others are refused, and
    it writes each event and message once; and the clinic's invariants hold afterwards."""
    by_role = {role: _collect(app, staff, samples, role, also=member_samples) for role in ROLES}
    failures, raced, with_events = [], 0, 0
    for role, forms in by_role.items():
        for endpoint, (action, fields, page) in sorted(forms.items()):
            if endpoint in SKIP:
                continue
            clients = [sign_in(app.test_client(), staff[role]) for _ in range(16)]
            if "seen" in fields:  # earlier races moved the record on: draw the form as it is now
                fields = _form_now(clients[0], page, action)
                if fields is None:
                    continue  # the record no longer offers this transition
            barrier, answers = threading.Barrier(16), [None] * 16

            def post(i, action=action, fields=fields):
                own = {**fields, FIELD: secrets.token_hex(16)}  # each desk drew its own form
                barrier.wait()
                try:
                    answers[i] = clients[i].post(action, data=own).status_code
                except Exception as exc:
                    answers[i] = repr(exc)

            with app.app_context():
                before = _high_water()
            threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            bad = [a for a in answers if not isinstance(a, int) or a >= 500]
            won = [a for a in answers if isinstance(a, int) and a < 400]
            if bad:
                failures.append((role, endpoint, bad[:2]))
            elif "seen" in fields and (len(won) > 1 or any(a not in (409, 422) for a in answers if a >= 400)):
                # a transition from the state the page showed: one desk moves it on
                failures.append((role, endpoint, "one transition", sorted(answers)))
            with app.app_context():
                written = _new_events(before)
            with_events += bool(written)
            # A refused request writes nothing: each event or message at most once per desk that won.
            repeated = [key for key, count in written.items() if count > len(won)]
            if repeated:
                failures.append((role, endpoint, "one event, one message", len(won), repeated[:3]))
            raced += 1
    assert failures == [], failures
    assert raced >= 60
    assert with_events >= 10, "the event check saw too few forms write anything to mean much"
    with app.app_context():
        assert _broken_invariants() == []

