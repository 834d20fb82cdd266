"""A status change made on a block of the day grid answers with that block alone (issue 19): the
grid is not sent again, the kept grid still shows the change, and a double click or sixteen
desks at once move the appointment on once."""
import re

from portal.models import Appointment, AppointmentEvent, PatientTag, Staff, Tag
from portal.services import schedule as booking
from portal.services.alerts import alerts_for
from portal.services.schedule_board import vip_patient_ids
from portal.submissions import FIELD
from tests.conftest import sign_in
from tests.races import race
from tests.schedule_fixtures import clinic  # noqa: F401
from tests.statements import StatementCounter

HX_GRID = {"HX-Request": "true", "HX-Target": "day-grid"}


def _busy_day(app, staff, clinic, make_patient, clock):
    """Both chairs booked every half hour of the morning, some patients with alerts; the clock
    on the clinic day (check-in happens on the day)."""
    tag = Tag.create(name="牙齿敏感", clinical_alert=True)
    appts = []
    for i in range(12):
        p = make_patient(name="病人" + "一二三四五六七八九十甲乙"[i], allergies="青霉素" if i % 3 == 0 else "")
        if i % 4 == 0:
            PatientTag.create(patient=p, tag=tag)
        appts.append(booking.book(staff["frontdesk"], p, clinic["doctors"][i % 2], clinic["chairs"][i % 2],
                                  clinic["at"](9 + i // 4, 30 * ((i // 2) % 2)), 30, "revisit", app.config))
    clock.set(f"{clinic['day'].isoformat()} 08:30")
    return appts


def _grid_url(clinic, by="chair"):
    return f"/schedule?date={clinic['day'].isoformat()}&by={by}"


def _block_form(page: str, code: str) -> dict:
    """What the block's check-in form and the grid's hx-vals send, read from the page."""
    block = page.split(f'id="b-{code}"', 1)[1].split('<div class="blk"', 1)[0]
    column = re.match(r" hx-vals='\{\"c\": (\d+)\}'>", block)
    by = re.search(r"hx-vals='\{\"grid\": \"(\w+)\"\}'", page).group(1)
    form = re.search(r'<form method="post" action="([^"]+)" hx-post="\1"[^>]*>(.*?)</form>', block, re.S)
    assert form, block
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    to = re.search(r'<button type="submit" name="to" value="(\w+)"', form.group(2)).group(1)
    return {"action": form.group(1), "data": {**fields, "to": to, "grid": by, "c": column.group(1)}}


def test_a_check_in_on_the_grid_answers_with_that_block_alone(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desk = as_role("frontdesk")
    page = desk.get(_grid_url(clinic)).get_data(as_text=True)
    target = appts[5]
    form = _block_form(page, target.code)
    assert form["action"] == f"/appointments/{target.code}/status" and form["data"]["to"] == "arrived"
    assert form["data"]["csrf_token"] != "__visit_csrf__", "the kept grid's forms get the session's token"

    resp = desk.post(form["action"], data=form["data"], headers={"HX-Request": "true", "HX-Target": f"b-{target.code}"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "HX-Trigger" not in resp.headers, "no trigger: the grid must not fetch itself"
    assert body.startswith(f'<div class="blk" id="b-{target.code}"') and body.count('class="blk"') == 1
    assert "status-arrived" in body and "Arrived" in body and 'value="seated"' in body, "the next step is offered"
    assert f'aria-label="Seat · {target.patient.name} 10:00"' in body, "a screen reader hears whose step it is"
    assert f"grid-column:{form['data']['c']};" in body, "drawn in the column it was in"
    assert len(resp.data) <= 0.10 * len(page.encode()), (len(resp.data), len(page.encode()))
    assert Appointment.get_by_id(target.id).status == "arrived"

    # The kept grid was drawn before the change: the next reload shows the change all the same.
    again = desk.get(_grid_url(clinic), headers=HX_GRID).get_data(as_text=True)
    assert again.split(f'id="b-{target.code}"', 1)[1].split("</a>", 1)[0] == body.split(f'id="b-{target.code}"', 1)[1].split("</a>", 1)[0]


def test_the_swapped_block_is_a_tenth_of_the_page_by_doctor_too(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    nurse = as_role("nurse")
    page = nurse.get(_grid_url(clinic, "doctor")).get_data(as_text=True)
    form = _block_form(page, appts[0].code)
    assert form["data"]["grid"] == "doctor"
    resp = nurse.post(form["action"], data=form["data"], headers={"HX-Request": "true"})
    assert resp.status_code == 200 and len(resp.data) <= 0.10 * len(page.encode())
    assert "Chair 1" in resp.get_data(as_text=True), "by doctor a block names its chair"


def test_forms_of_a_kept_grid_get_new_one_time_keys_each_time(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desk = as_role("frontdesk")
    first = _block_form(desk.get(_grid_url(clinic)).get_data(as_text=True), appts[1].code)["data"][FIELD]
    with StatementCounter() as kept:
        second = _block_form(desk.get(_grid_url(clinic)).get_data(as_text=True), appts[1].code)["data"][FIELD]
    assert first != second, "a kept key would answer a later click with an earlier one's result"
    assert not any("FROM appointment a" in sql for sql in kept.sql), "the second was the kept grid"


def test_without_htmx_the_block_form_goes_to_the_appointment(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desk = as_role("frontdesk")
    form = _block_form(desk.get(_grid_url(clinic)).get_data(as_text=True), appts[2].code)
    resp = desk.post(form["action"], data=form["data"])
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/appointments/{appts[2].code}")
    assert Appointment.get_by_id(appts[2].id).status == "arrived"


def test_a_double_click_on_the_block_changes_once_and_answers_alike(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desk = as_role("frontdesk")
    form = _block_form(desk.get(_grid_url(clinic)).get_data(as_text=True), appts[3].code)
    first = desk.post(form["action"], data=form["data"], headers={"HX-Request": "true"})
    second = desk.post(form["action"], data=form["data"], headers={"HX-Request": "true"})
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appts[3].id,
                                           AppointmentEvent.to_status == "arrived").count() == 1


def test_a_block_loaded_before_someone_else_checked_in_is_refused(app, as_role, staff, clinic, make_patient, clock):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desk = as_role("frontdesk")
    form = _block_form(desk.get(_grid_url(clinic)).get_data(as_text=True), appts[4].code)
    booking.change_status(Appointment.get_by_id(appts[4].id), "arrived", staff["nurse"], app.config)
    form["data"].pop(FIELD)
    resp = desk.post(form["action"], data=form["data"], headers={"HX-Request": "true"})
    assert resp.status_code == 409 and resp.headers["HX-Retarget"] == "#notice"
    assert "already marked arrived" in resp.get_data(as_text=True)


def test_sixteen_desks_check_in_one_block(app, staff, clinic, make_patient, clock, password_hash):
    appts = _busy_day(app, staff, clinic, make_patient, clock)
    desks = [Staff.create(username=f"desk{i}", display_name=f"Desk {i}", role="frontdesk",
                          password_hash=password_hash) for i in range(16)]
    code = appts[6].code

    def prepare(i):  # every desk has the grid open
        client = sign_in(app.test_client(), desks[i])
        return client, _block_form(client.get(_grid_url(clinic)).get_data(as_text=True), code)

    def work(i, prepared):
        client, form = prepared
        resp = client.post(form["action"], data=form["data"], headers={"HX-Request": "true"})
        return resp.status_code, resp.get_data(as_text=True)

    results, errors = race(app, 16, work, prepare=prepare)
    assert errors == []
    statuses = sorted(status for status, _body in results)
    assert statuses.count(200) == 1 and statuses.count(409) == 15, statuses
    assert [body for status, body in results if status == 200][0].startswith(f'<div class="blk" id="b-{code}"')
    assert AppointmentEvent.select().where(AppointmentEvent.appointment == appts[6].id,
                                           AppointmentEvent.to_status == "arrived").count() == 1


def test_vip_and_alerts_start_from_the_id_list(app, staff, clinic, make_patient):
    """The same statements for one patient or thirty: the ids are one parameter, not SQL text."""
    few = [make_patient(name="甲").id]
    many = few + [make_patient(name="乙" + "一二三四五六七八九十"[i % 10] * (1 + i // 10)).id for i in range(30)]
    texts = []
    for ids in (few, many):
        with StatementCounter() as counter:
            vip_patient_ids(ids)
            alerts_for(ids)  # text, tags and the VIP rule in one
        texts.append(counter.sql)
    assert len(texts[0]) == 2 and texts[0] == texts[1]
