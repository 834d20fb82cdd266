"""Double clicks (issue 12): the same form submitted twice — at once, 30 ms apart, or after the
first answer — changes things once, and every repeat gets the answer the first one got."""
import re
import threading
import time

import pytest

from portal.models import Appointment, AppointmentEvent, FormSubmission, OutboxMessage, Patient
from portal.services import schedule as booking
from tests.conftest import sign_in
from tests.schedule_fixtures import clinic  # noqa: F401

FORM = re.compile(r'<form method="post"(?: action="(?P<action>[^"]+)")?[^>]*>(?P<body>.*?)</form>', re.S)
FIELD = re.compile(r'<input[^>]*type="hidden"[^>]*name="(?P<name>[^"]+)"[^>]*value="(?P<value>[^"]*)"')
VALID = {"name": "连点测", "sex": "F", "birth_date": "1990-05-06", "phone": "13912345678",
         "occupation_group": "", "preferred_channel": "sms", "preferred_time": "any",
         "consent_treatment": "y", "consent_reminders": "y"}


def _form(html: str, action_end: str, **must) -> dict:
    """The hidden fields of the page's form posting to …action_end (a form without an action posts
    to its own page) whose hidden fields include `must`."""
    for match in FORM.finditer(html):
        fields = {f["name"]: f["value"] for f in FIELD.finditer(match["body"])}
        if (match["action"] or action_end).endswith(action_end) and all(fields.get(k) == v for k, v in must.items()):
            return fields
    raise AssertionError(f"no form for {action_end} {must}")


def _book(app, staff, make_patient, clinic, name="双击", doctor=0, chair=0, hour=10):
    patient = make_patient(name=name, consents={"reminders": True})
    with app.app_context():  # the confirmation is queued through this app's outbox
        return booking.book(staff["frontdesk"], patient, clinic["doctors"][doctor], clinic["chairs"][chair],
                            clinic["at"](hour), 30, "revisit", app.config)


def _clients(app, person, n):
    return [sign_in(app.test_client(), person) for _ in range(n)]


def _at_once(clients, url, data, gap=0.0):
    """Each client posts the same data; with gap=0 they are released together (threads behind a
    barrier), else one after another `gap` seconds apart."""
    answers, barrier = [None] * len(clients), threading.Barrier(len(clients))

    def post(i):
        if gap:
            time.sleep(i * gap)
        else:
            barrier.wait()
        answers[i] = clients[i].post(url, data=data)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


@pytest.mark.parametrize("gap", [0.0, 0.03], ids=["0ms", "30ms"])
def test_a_double_clicked_cancel_cancels_once_and_both_clicks_see_success(app, staff, make_patient, clinic, gap):
    appt = _book(app, staff, make_patient, clinic)
    desk = staff["frontdesk"]
    page = _clients(app, desk, 1)[0].get(f"/appointments/{appt.code}").get_data(as_text=True)
    data = {**_form(page, "/status", to="cancelled"), "reason": "患者出差"}
    answers = _at_once(_clients(app, desk, 2), f"/appointments/{appt.code}/status", data, gap)
    assert [a.status_code for a in answers] == [303, 303]  # the repeat is answered as the first, not refused
    assert len({a.headers["Location"] for a in answers}) == 1
    assert Appointment.get_by_id(appt.id).status == "cancelled"
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appt,
                                           AppointmentEvent.change == "cancelled").count() == 1
    notices = OutboxMessage.select().where(OutboxMessage.appointment == appt,
                                           OutboxMessage.template == "cancellation_notice")
    assert [n.status for n in notices] in (["pending"], ["sent"])  # queued once, not withdrawn by the repeat


def test_sixteen_repeats_of_one_registration_register_one_patient(app, staff):
    desk = staff["frontdesk"]
    page = _clients(app, desk, 1)[0].get("/patients/new").get_data(as_text=True)
    data = {**VALID, **_form(page, "/patients/new")}
    answers = _at_once(_clients(app, desk, 16), "/patients/new", data)
    assert {a.status_code for a in answers} == {303}
    assert len({a.headers["Location"] for a in answers}) == 1  # all sixteen land on the one new record
    assert Patient.select().where(Patient.name == "连点测").count() == 1


def test_htmx_repeat_gets_the_same_headers(app, staff, make_patient, clinic):
    appt = _book(app, staff, make_patient, clinic)
    desk = _clients(app, staff["frontdesk"], 1)[0]
    data = {**_form(desk.get(f"/appointments/{appt.code}").get_data(as_text=True), "/status", to="cancelled"),
            "reason": "改期"}
    first = desk.post(f"/appointments/{appt.code}/status", data=data, headers={"HX-Request": "true"})
    again = desk.post(f"/appointments/{appt.code}/status", data=data, headers={"HX-Request": "true"})
    assert first.status_code == again.status_code == 204
    assert first.headers["HX-Redirect"] == again.headers["HX-Redirect"]
    assert again.headers.get("HX-Trigger") == first.headers.get("HX-Trigger")


def test_each_drawing_of_a_form_has_its_own_key_and_a_new_one_acts_again(app, staff, make_patient, clinic):
    first_appt = _book(app, staff, make_patient, clinic)
    client = _clients(app, staff["frontdesk"], 1)[0]
    keys = {_form(client.get(f"/appointments/{first_appt.code}").get_data(as_text=True), "/status",
                  to="cancelled")["form_key"] for _ in range(3)}
    assert len(keys) == 3
    # a key already used for one appointment does nothing to another: the first answer comes back
    data = {**_form(client.get(f"/appointments/{first_appt.code}").get_data(as_text=True), "/status",
                    to="cancelled"), "reason": "x"}
    client.post(f"/appointments/{first_appt.code}/status", data=data)
    second_appt = _book(app, staff, make_patient, clinic, name="另一位", doctor=1, chair=1, hour=11)
    client.post(f"/appointments/{second_appt.code}/status", data=data)
    assert Appointment.get_by_id(second_appt.id).status == "booked"


def test_another_persons_key_is_refused(app, staff, make_patient, clinic):
    appt = _book(app, staff, make_patient, clinic)
    desk, manager = _clients(app, staff["frontdesk"], 1)[0], _clients(app, staff["manager"], 1)[0]
    data = {**_form(desk.get(f"/appointments/{appt.code}").get_data(as_text=True), "/status", to="cancelled"),
            "reason": "x"}
    assert desk.post(f"/appointments/{appt.code}/status", data=data).status_code == 303
    assert manager.post(f"/appointments/{appt.code}/status", data=data).status_code == 400


def test_a_failed_submission_frees_its_key(app, staff, make_patient, clinic, monkeypatch):
    appt = _book(app, staff, make_patient, clinic)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as in production
    client = _clients(app, staff["frontdesk"], 1)[0]
    data = {**_form(client.get(f"/appointments/{appt.code}").get_data(as_text=True), "/status", to="cancelled"),
            "reason": "x"}
    real = booking.change_status

    def crash(*args, **kwargs):
        raise RuntimeError("the disk is full")
    monkeypatch.setattr(booking, "change_status", crash)
    assert client.post(f"/appointments/{appt.code}/status", data=data).status_code == 500
    assert not FormSubmission.select().where(FormSubmission.key == data["form_key"]).exists()
    monkeypatch.setattr(booking, "change_status", real)
    assert client.post(f"/appointments/{appt.code}/status", data=data).status_code == 303  # the retry works
    assert Appointment.get_by_id(appt.id).status == "cancelled"
