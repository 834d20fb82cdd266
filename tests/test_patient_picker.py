"""The patient picker (issue 13): the /patients/pick fragment, the typed-text fallback the server
resolves, and every form that takes a patient accepting the picker's code and the typed text."""
import re
from datetime import date

import pytest

from portal.models import AuditEvent, Family, GiftMovement, Patient
from portal.services import ServiceError, gifts
from portal.services import patients as registry
from tests.members_helpers import pay
from tests.schedule_fixtures import clinic  # noqa: F401
from tests.statements import StatementCounter

HX = {"HX-Request": "true", "HX-Target": "patient-results"}


def pick(client, q, field="patient", **headers):
    return client.get("/patients/pick", query_string={"field": field, "key": "patient", "patient": q},
                      headers={**HX, **headers})


def options(resp):
    return re.findall(r'<li role="option" id="([^"]+)"[^>]*data-code="([^"]+)"', resp.get_data(as_text=True))


@pytest.fixture()
def people(make_patient):
    return {
        "zxm": make_patient(name="张小明", phone="13812345678", birth_date=date(2015, 3, 8)),
        "zw": make_patient(name="周伟", sex="F", phone="13900001111", birth_date=date(1980, 1, 2)),
        "li": make_patient(name="李娜", sex="F", phone="13700002222"),
    }


# --- the fragment ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["name", "surname", "initials", "pinyin", "phone tail", "chart number"])
def test_pick_matches_by_each_search_key(as_role, people, key):
    p = people["zw"]
    q = {"name": "周伟", "surname": "周", "initials": "zw", "pinyin": "zhouwei", "phone tail": "1111",
         "chart number": p.chart_no}[key]
    resp = pick(as_role("frontdesk"), q)
    assert resp.status_code == 200
    assert ("patient-opt-1", p.code) in options(resp)
    assert all(code != people["li"].code for _, code in options(resp))


def test_pick_is_an_accessible_listbox_with_masked_phones(as_role, people):
    body = pick(as_role("frontdesk"), "zxm").get_data(as_text=True)
    assert "<html" not in body and 'role="listbox" id="patient-listbox"' in body
    assert 'aria-selected="false"' in body and f'data-label="张小明 · {people["zxm"].chart_no}"' in body
    assert "138****5678" in body and "13812345678" not in body
    assert "Male" in body and re.search(r"\b\d+ y\b", body) and people["zxm"].chart_no in body


def test_pick_shows_at_most_eight(as_role, make_patient):
    for i in range(10):
        make_patient(name="王" + "一二三四五六七八九十"[i], phone=f"1360000{i:04d}")
    assert len(options(pick(as_role("frontdesk"), "王"))) == 8


def test_pick_field_names_the_ids_and_never_echoes_markup(as_role, people):
    resp = client_get = pick(as_role("frontdesk"), "zxm", field='gift-patient-3"><script>')
    body = client_get.get_data(as_text=True)
    assert resp.status_code == 200 and "<script>" not in body
    assert 'id="gift-patient-3script-listbox"' in body


@pytest.mark.parametrize("role", ["doctor", "nurse", "frontdesk", "consultant", "manager"])
def test_every_staff_role_may_pick(as_role, people, role):
    assert len(options(pick(as_role(role), "zxm"))) == 1


def test_anonymous_may_not_pick(client, people):
    resp = pick(client, "zxm")
    assert resp.status_code in (302, 401) and "张小明" not in resp.get_data(as_text=True)


def test_restricted_patient_is_offered_only_to_who_may_see_them(as_role, people, staff):
    p = people["zw"]
    Patient.update(restricted=True, attending_doctor=staff["doctor"]).where(Patient.id == p.id).execute()
    assert options(pick(as_role("frontdesk"), "zw")) == []
    assert len(options(pick(as_role("doctor"), "zw"))) == 1
    assert len(options(pick(as_role("manager"), "zw"))) == 1


def test_a_pick_that_shows_patients_is_audited_as_a_search(as_role, people):
    pick(as_role("frontdesk"), "zxm")
    event = AuditEvent.select().where(AuditEvent.object_type == "search").order_by(AuditEvent.id.desc()).get()
    assert event.action == "read" and people["zxm"].chart_no in str(event.detail) and "picker" in str(event.detail)
    before = AuditEvent.select().count()
    pick(as_role("frontdesk"), "nobody")
    assert AuditEvent.select().where(AuditEvent.object_type == "search").count() == \
        AuditEvent.select().where(AuditEvent.object_type == "search", AuditEvent.id <= before).count()


@pytest.mark.parametrize("q,en,zh", [
    ("", "Type a name, pinyin initials such as zxm", "输入姓名"),
    ("z", "Type at least two letters.", "至少"),
    ("乔峰", "No patient matches “乔峰”", "没有"),
])
def test_empty_and_no_match_messages_in_both_languages(app, as_role, people, q, en, zh):
    client = as_role("frontdesk")
    body = pick(client, q).get_data(as_text=True)
    assert en in body and 'role="status"' in body and 'role="option"' not in body
    app.config["PORTAL_LOCALE"] = app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    app.extensions["babel"].default_locale = "zh_CN"
    body = pick(client, q, **{"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert zh in body and en not in body


def test_statements_per_pick_do_not_depend_on_rows_found(as_role, make_patient):
    client = as_role("frontdesk")
    make_patient(name="王一", phone="13600000001")
    client.get("/patients/pick?field=p&q=wy")  # the session's first request may refresh it

    def count(q):
        with StatementCounter() as counter:
            assert client.get("/patients/pick", query_string={"field": "p", "q": q}).status_code == 200
        return counter.count
    one = count("王")
    for i in range(2, 10):
        make_patient(name="王" + "一二三四五六七八九"[i - 1] + "明", phone=f"136000000{i:02d}")
    assert count("王") == one


# --- the typed-text fallback -------------------------------------------------------------------

def test_find_one_accepts_code_chart_number_shown_label_and_unique_name_or_phone(people):
    p = people["zw"]
    for ref in (p.code, p.code.lower(), p.chart_no, f" {p.chart_no} ", f"M{p.chart_no}", f"周伟 · {p.chart_no}", "周伟",
                "13900001111", "139 0000 1111"):
        assert registry.find_one(ref) == p, ref
    assert registry.find_one("") is None and registry.find_one("   ") is None


def test_find_one_refuses_nobody_and_several_with_what_to_type(people, make_patient):
    make_patient(name="周伟", phone="13900003333")
    with pytest.raises(ServiceError, match="More than one patient matches “周伟”. Type a chart number"):
        registry.find_one("周伟")
    with pytest.raises(ServiceError, match="No patient matches “nobody”"):
        registry.find_one("nobody")
    with pytest.raises(ServiceError, match="No patient matches"):
        registry.find_one(f"李娜 · {people['zw'].chart_no}")  # the label names someone else
    with pytest.raises(ServiceError):
        registry.find_one("\x00")


# --- every form that takes a patient ----------------------------------------------------------

def _booking(clinic, ref):
    return {"patient": ref, "doctor": clinic["doctors"][0].id, "chair": clinic["chairs"][0].id,
            "day": clinic["day"].isoformat(), "time": "10:00", "minutes": 30, "visit_type": "revisit",
            "source": "phone", "planned": "", "notes": ""}


@pytest.mark.parametrize("how", ["code", "chart number", "name", "label"])
def test_booking_takes_the_picker_code_or_the_typed_text(as_role, clinic, people, how):  # noqa: F811
    from portal.models import Appointment
    p = people["zw"]
    ref = {"code": p.code, "chart number": p.chart_no, "name": "周伟", "label": f"周伟 · {p.chart_no}"}[how]
    resp = as_role("frontdesk").post("/appointments/new", data=_booking(clinic, ref))
    assert resp.status_code == 303 and Appointment.get().patient_id == p.id


def test_booking_page_draws_the_picker_and_a_refusal_says_what_to_type(as_role, clinic, people):  # noqa: F811
    desk = as_role("frontdesk")
    page = desk.get(f"/appointments/new?patient={people['zw'].chart_no}").get_data(as_text=True)
    assert 'role="combobox"' in page and 'hx-get="/patients/pick?field=patient&amp;key=patient"' in page
    assert f'value="周伟 · {people["zw"].chart_no}"' in page and "js/picker.js" in page
    resp = desk.post("/appointments/new", data=_booking(clinic, "周"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "No patient matches “周”" in body and "Type a chart number" in body
    resp = desk.post("/appointments/new", data=_booking(clinic, ""))
    assert resp.status_code == 422 and "Choose the patient." in resp.get_data(as_text=True)


def test_booking_a_restricted_patient_by_name_is_refused(as_role, clinic, people, staff):  # noqa: F811
    Patient.update(restricted=True, attending_doctor=staff["doctor"]).where(Patient.id == people["zw"].id).execute()
    assert as_role("frontdesk").post("/appointments/new", data=_booking(clinic, "周伟")).status_code == 403


@pytest.mark.parametrize("how", ["code", "name", "phone"])
def test_complaint_takes_the_picker_code_or_the_typed_text(as_role, people, how):
    from portal.models import Complaint
    p = people["zw"]
    ref = {"code": p.code, "name": "周伟", "phone": "13900001111"}[how]
    resp = as_role("consultant").post("/complaints/new", data={
        "patient": ref, "channel": "phone", "category": "process", "severity": "minor", "doctor": "0",
        "summary": "等了很久"})
    assert resp.status_code == 303 and Complaint.get().patient_id == p.id


def test_complaint_page_draws_the_picker(as_role):
    page = as_role("frontdesk").get("/complaints/new").get_data(as_text=True)
    assert 'data-picker' in page and 'name="patient"' in page and 'role="combobox"' in page


@pytest.mark.parametrize("how", ["code", "name"])
def test_referrer_takes_the_picker_code_or_the_typed_text(as_role, people, how):
    p = people["zw"]
    ref = p.code if how == "code" else "周伟"
    resp = as_role("frontdesk").post("/patients/new", data={
        "name": "新病人", "sex": "F", "birth_date": "1990-02-03", "phone": "13655556666",
        "occupation_group": "", "preferred_channel": "sms", "preferred_time": "any",
        "referral_channel": "patient", "referred_by": ref, "consent_treatment": "y"})
    assert resp.status_code == 303
    assert Patient.get(Patient.name == "新病人").referred_by_id == p.id


def test_edit_page_shows_the_referrer_as_the_picker_does(as_role, people):
    p = people["li"]
    Patient.update(referred_by=people["zw"]).where(Patient.id == p.id).execute()
    page = as_role("frontdesk").get(f"/patients/{p.code}/edit").get_data(as_text=True)
    assert f'value="周伟 · {people["zw"].chart_no}"' in page and 'id="referred_by-listbox"' in page


@pytest.mark.parametrize("how", ["code", "name"])
def test_move_to_a_members_family_takes_the_picker_code_or_the_typed_text(as_role, people, staff, how):
    family = registry.create_family("周家", people["zw"], staff["frontdesk"])
    registry.move_to_family(people["zw"], family, staff["frontdesk"])
    ref = people["zw"].code if how == "code" else "周伟"
    resp = as_role("frontdesk").post(f"/patients/{people['li'].code}/family", data={"target": ref})
    assert resp.status_code == 303
    assert Patient.get_by_id(people["li"].id).family_id == family.id


@pytest.mark.parametrize("how", ["code", "phone"])
def test_family_page_brings_a_patient_in_by_code_or_typed_text(as_role, people, staff, how):
    family = registry.create_family("周家", people["zw"], staff["frontdesk"])
    desk = as_role("frontdesk")
    page = desk.get(f"/families/{family.code}").get_data(as_text=True)
    assert 'id="add-member"' in page and 'role="combobox"' in page
    ref = people["li"].code if how == "code" else "13700002222"
    resp = desk.post(f"/families/{family.code}/members", data={"patient": ref})
    assert resp.status_code == 303
    assert Patient.get_by_id(people["li"].id).family_id == family.id
    follow = desk.get(f"/families/{family.code}").get_data(as_text=True)
    assert "李娜" in follow


def test_family_page_refuses_nobody_and_a_role_without_family_rights(as_role, people, staff):
    family = registry.create_family("周家", people["zw"], staff["frontdesk"])
    desk = as_role("frontdesk")
    resp = desk.post(f"/families/{family.code}/members", data={"patient": "nobody"})
    assert resp.status_code == 422 and Patient.get_by_id(people["li"].id).family_id is None
    assert "No patient matches “nobody”" in resp.get_data(as_text=True)
    assert desk.post(f"/families/{family.code}/members", data={"patient": ""}).status_code == 422
    resp = desk.post(f"/families/{family.code}/members", data={"patient": people["zw"].code})
    assert resp.status_code == 422 and "周伟 is already in this family." in resp.get_data(as_text=True)
    assert as_role("nurse").post(f"/families/{family.code}/members",
                                 data={"patient": people["li"].code}).status_code == 403
    assert Family.get_by_id(family.id).guarantor_id == people["zw"].id


@pytest.mark.parametrize("how", ["code", "typed"])
def test_benefit_transfer_takes_the_picker_code_or_the_typed_text(app, staff, as_role, people, how):
    from portal.models import BenefitUse
    member, friend = people["zxm"], people["li"]
    pay(app, staff, member, 500000)  # senior: one scaling a year
    desk = as_role("frontdesk")
    page = desk.get(f"/members/{member.code}").get_data(as_text=True)
    assert 'name="beneficiary"' in page and 'role="combobox"' in page
    ref = friend.code if how == "code" else f"李娜 · {friend.chart_no}"
    resp = desk.post(f"/members/{member.code}/benefits", data={"kind": "scaling", "beneficiary": ref})
    assert resp.status_code == 303
    assert BenefitUse.get().beneficiary_id == friend.id


def test_benefit_transfer_to_nobody_is_refused_with_what_to_type(app, staff, as_role, people):
    pay(app, staff, people["zxm"], 500000)
    resp = as_role("frontdesk").post(f"/members/{people['zxm'].code}/benefits",
                                     data={"kind": "scaling", "beneficiary": "nobody"})
    assert resp.status_code == 422 and "No patient matches “nobody”" in resp.get_data(as_text=True)


@pytest.mark.parametrize("how", ["code", "typed"])
def test_gift_issue_takes_the_picker_code_or_the_typed_text(staff, as_role, people, how):
    item = gifts.create_item("牙刷", 0, 0, staff["manager"])
    gifts.stock_in(item, 2, "bought", staff["manager"])
    desk = as_role("frontdesk")
    page = desk.get("/members/gifts").get_data(as_text=True)
    assert 'id="gift-patient-1"' in page and 'role="combobox"' in page
    ref = people["zw"].code if how == "code" else "13900001111"
    resp = desk.post(f"/members/gifts/{item.code}", data={"action": "issue", "patient": ref, "reason": "生日"})
    assert resp.status_code == 303
    assert GiftMovement.get(GiftMovement.kind == "issue").patient_id == people["zw"].id
    resp = desk.post(f"/members/gifts/{item.code}", data={"action": "issue", "patient": "", "reason": "生日"})
    assert resp.status_code == 422 and "Choose the patient." in resp.get_data(as_text=True)


def test_home_search_fills_results_as_you_type(as_role, people):
    desk = as_role("frontdesk")
    page = desk.get("/").get_data(as_text=True)
    assert 'id="results"' in page and 'hx-target="#results"' in page and 'hx-push-url="false"' in page
    frag = desk.get("/patients?q=zxm", headers={"HX-Request": "true", "HX-Target": "results"}).get_data(as_text=True)
    assert "张小明" in frag and "<html" not in frag


def test_letters_search_by_pinyin_among_a_tag_finds_tagged_patients_beyond_the_first_page(app, staff, make_patient):
    """A broad prefix with a tag: the tagged patients are found even when many untagged ones
    come first by pinyin."""
    from portal.models import PatientTag
    for i in range(25):
        make_patient(name="王" + "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯辰"[i], phone=f"1360000{i:04d}")
    late = make_patient(name="汪洋", phone="13611110000")  # wangyang: after wangyi…, wangjia… by pinyin
    tag = registry.create_tag("正畸患者", "#0ea5e9", False)
    PatientTag.create(patient=late, tag=tag)
    assert [p.id for p in registry.search("wang", limit=8, tag_id=tag.id)] == [late.id]
    shown = registry.search("wang", limit=8)
    assert len(shown) == 8 and [p.name_pinyin for p in shown] == sorted(p.name_pinyin for p in shown)


@pytest.mark.parametrize("ref,message", [
    ("nobody", "No patient matches “nobody”"),           # typed text naming nobody: said on the spot
    ("周伟", "Choose a treatment on this bill."),        # a unique name: resolved, the next check speaks
    ("CODE", "Choose a treatment on this bill."),        # the picker's code: resolved too
])
def test_benefit_cover_takes_the_picker_code_or_the_typed_text(app, staff, as_role, people, ref, message):
    from tests.members_helpers import bill_of
    bill = bill_of(app, staff, people["li"], 10000)
    ref = people["zw"].code if ref == "CODE" else ref
    resp = as_role("frontdesk").post(f"/members/bills/{bill.code}/benefit",
                                     data={"member": ref, "line": "none", "kind": "scaling"})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)


def test_bill_page_draws_the_member_picker(app, staff, as_role, people):
    from portal.models import BillLine
    from portal.services import billing
    from tests.chart_samples import scaling_procedure
    from tests.clock import clinic_today
    bill = billing.open_bill(people["li"], staff["frontdesk"], app.config, clinic_today())
    billing.add_charge(bill, scaling_procedure(steps=[]), staff["frontdesk"], app.config, clinic_today())
    BillLine.update(state="approved").where(BillLine.bill == bill).execute()
    page = as_role("frontdesk").get(f"/members/bills/{bill.code}").get_data(as_text=True)
    assert 'id="member"' in page and 'name="member"' in page and 'role="combobox"' in page


def test_a_long_latin_name_as_the_picker_shows_it_is_found(make_patient):
    p = make_patient(name="Alexandra Catherine Montgomery-Smithson", phone="13655550000")
    assert registry.find_one(f"{p.name} · {p.chart_no}") == p
    assert registry.find_one(p.name) == p
