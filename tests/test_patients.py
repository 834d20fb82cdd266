"""Registration, validation, duplicates, search, families, tags and consents."""
from datetime import date, timedelta

import pytest

from portal.models import AuditEvent, Consent, Family, Patient, PatientTag, Tag
from portal.services import patients as registry
from tests.clock import clinic_today, suite_today

VALID = {"name": "张小明", "sex": "M", "birth_date": "2015-03-08", "phone": "13812345678",
         "occupation_group": "", "preferred_channel": "sms", "preferred_time": "any",
         "referral_channel": "walk_in", "consent_treatment": "y", "consent_reminders": "y"}


def register(client, **overrides):
    data = {**VALID, **overrides}
    return client.post("/patients/new", data={k: v for k, v in data.items() if v is not None})


def test_front_desk_registers_a_patient(as_role, staff):
    resp = register(as_role("frontdesk"), id_number="110105201503080019")
    assert resp.status_code == 303
    p = Patient.get(Patient.name == "张小明")
    assert (p.name_pinyin, p.name_initials, p.phone_rev) == ("zhangxiaoming", "zxm", "87654321831")
    assert p.occupation_group == "student" and p.chart_no == f"{clinic_today().year}000001"
    assert p.created_by_id == staff["frontdesk"].id
    kinds = {c.kind: c.granted for c in Consent.select().where(Consent.patient == p)}
    assert kinds == {"treatment": True, "reminders": True, "marketing": False}
    assert AuditEvent.select().where(AuditEvent.action == "create", AuditEvent.patient_id == p.id).exists()


BAD = [
    ({"name": ""}, "Enter the patient"),
    ({"name": "张" * 10_000}, "Field cannot be longer than 40 characters"),
    ({"name": "张\x00明"}, "control characters"),
    ({"name": "<script>alert(1)</script>"}, "HTML markup"),
    ({"name": "Tom & Jerry"}, "A name is up to 40"),
    ({"address": "<script>x</script>\x00"}, "control characters"),
    ({"allergies": "<img src=x onerror=alert(1)>"}, "HTML markup"),
    ({"birth_date": "2015-02-30"}, "Not a valid date"),
    ({"birth_date": (suite_today() + timedelta(days=2)).isoformat()}, "not in the future"),
    ({"birth_date": "1850-01-01"}, "not in the future"),
    ({"phone": "12345"}, "not a valid phone number"),
    ({"phone": "1381234567a"}, "not a valid phone number"),
    ({"phone2": "999"}, "not a valid phone number"),
    ({"email": "not-an-email"}, "not a valid e-mail"),
    ({"id_number": "110105201503080011"}, "check digit"),
    ({"id_number": "110105199003080012"}, "does not match"),
    ({"sex": "X"}, "Not a valid choice"),
    ({"referral_channel": "patient"}, "Choose the patient who referred"),
    ({"referred_by": "2099999999"}, "No patient matches “2099999999”"),
]


@pytest.mark.parametrize("overrides,message", BAD)
def test_bad_input_gets_a_clear_message_and_writes_nothing(as_role, overrides, message):
    resp = register(as_role("frontdesk"), **overrides)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert Patient.select().count() == 0 and AuditEvent.select().where(AuditEvent.action == "create").count() == 0


def test_duplicate_prompt_then_confirmed_registration(as_role, make_patient):
    existing = make_patient(name="李娜", sex="F", birth_date=date(1988, 1, 1), phone="13900000001")
    desk = as_role("frontdesk")
    resp = register(desk, name="李娜", sex="F", birth_date="1988-01-01", phone="13700000002")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "already registered" in page and existing.chart_no in page
    assert Patient.select().count() == 1
    resp = register(desk, name="李娜", sex="F", birth_date="1988-01-01", phone="13700000002",
                    confirm_not_duplicate="y")
    assert resp.status_code == 303 and Patient.select().count() == 2


def test_same_phone_is_a_suspected_duplicate(as_role, make_patient):
    make_patient(name="王五", phone="13900000009")
    assert register(as_role("frontdesk"), phone="139 0000 0009").status_code == 422


@pytest.mark.parametrize("query", ["zxm", "ZXM", "zhangxiao", "张小", "小明", "5678", "8123-45678"])
def test_search_finds_by_every_key(as_role, make_patient, query):
    target = make_patient(name="张小明", phone="13812345678")
    make_patient(name="李四", phone="13600001111")
    resp = as_role("nurse").get("/patients", query_string={"q": query})
    page = resp.get_data(as_text=True)
    assert target.code in page and "李四" not in page


def test_search_by_chart_number_and_htmx_fragment(as_role, make_patient):
    target = make_patient(name="赵六")
    resp = as_role("doctor").get("/patients", query_string={"q": target.chart_no},
                                 headers={"HX-Request": "true", "HX-Target": "results"})
    body = resp.get_data(as_text=True)
    assert target.code in body and "<html" not in body and "<nav" not in body
    assert resp.headers["Cache-Control"] == "no-store" and "HX-Request" in resp.headers["Vary"]


def test_search_ignores_wildcards_and_short_digits(as_role, make_patient):
    make_patient(name="张三")
    client = as_role("doctor")
    for q in ["*", "%", "_", "12", "?*"]:
        assert "张三" not in client.get("/patients", query_string={"q": q}).get_data(as_text=True), q


def test_id_number_masked_for_roles_without_the_right(as_role, make_patient):
    p = make_patient(name="周八", birth_date=date(2015, 3, 8), id_number="110105201503080019")
    assert "110105201503080019" in as_role("frontdesk").get(f"/patients/{p.code}").get_data(as_text=True)
    page = as_role("doctor").get(f"/patients/{p.code}").get_data(as_text=True)
    assert "110105201503080019" not in page and "110***********0019" in page


def test_family_of_three_move_and_merge(as_role, staff, make_patient):
    desk = as_role("frontdesk")
    register(desk, name="王大伟", birth_date="1985-05-05", phone="13811110001", new_family="y")
    dad = Patient.get(Patient.name == "王大伟")
    family = dad.family
    assert family.guarantor_id == dad.id
    for name, born, phone in (("李美丽", "1987-06-06", "13811110002"), ("王小宝", "2018-07-07", "13811110001")):
        resp = register(desk, name=name, birth_date=born, phone=phone, family=family.code,
                        confirm_not_duplicate="y")
        assert resp.status_code == 303
    assert Patient.select().where(Patient.family == family).count() == 3
    other = make_patient(name="孙七")
    resp = desk.post(f"/patients/{other.code}/family", data={"target": dad.chart_no})
    assert resp.status_code == 303 and Patient.get_by_id(other.id).family_id == family.id
    second = registry.create_family("赵家", make_patient(name="赵九"), staff["frontdesk"])
    resp = desk.post(f"/families/{family.code}/merge", data={"other": second.code})
    assert resp.status_code == 303
    assert Patient.select().where(Patient.family == family).count() == 5
    assert Family.get_or_none(Family.id == second.id) is None
    assert AuditEvent.select().where(AuditEvent.action == "merge").count() == 1


def test_guarantor_must_be_a_member(as_role, staff, make_patient):
    family = registry.create_family("钱家", make_patient(name="钱一"), staff["frontdesk"])
    outsider = make_patient(name="钱二")
    desk = as_role("frontdesk")
    desk.post(f"/families/{family.code}/guarantor", data={"patient": outsider.code})
    assert Family.get_by_id(family.id).guarantor.name == "钱一"


def test_tags_set_and_filter(as_role, make_patient):
    manager = as_role("manager")
    assert manager.post("/admin/tags", data={"name": "牙齿敏感", "color": "#db2777", "clinical_alert": "y"}).status_code == 303
    assert manager.post("/admin/tags", data={"name": "牙齿敏感", "color": "#db2777"}).status_code == 422
    tag = Tag.get(Tag.name == "牙齿敏感")
    p, q = make_patient(name="敏感者"), make_patient(name="无标签")
    assert as_role("frontdesk").post(f"/patients/{p.code}/tags", data={"tag": [str(tag.id), "999"]}).status_code == 303
    assert [link.tag_id for link in PatientTag.select()] == [tag.id]
    page = as_role("nurse").get("/patients", query_string={"tag": tag.id}).get_data(as_text=True)
    assert p.code in page and q.code not in page
    alert = as_role("nurse").get(f"/patients/{p.code}").get_data(as_text=True)
    assert 'role="alert"' in alert and "牙齿敏感" in alert


def test_consent_is_versioned_and_withdrawable(as_role, make_patient):
    p = make_patient(consents={"marketing": True})
    desk = as_role("consultant")
    desk.post(f"/patients/{p.code}/consents", data={"kind": "marketing", "granted": "0", "method": "verbal"})
    history = registry.consent_history(p)
    assert [c.granted for c in history] == [False, True]
    assert registry.current_consents(p)["marketing"].granted is False
    assert history[0].version == registry.CONSENT_VERSION


def test_edit_keeps_medical_fields_for_roles_that_may_not_change_them(as_role, make_patient):
    p = make_patient(name="吴十", allergies="青霉素")
    data = {**VALID, "name": "吴十", "phone": p.phone, "birth_date": "1990-05-01", "allergies": ""}
    resp = as_role("consultant").post(f"/patients/{p.code}/edit", data=data)
    assert resp.status_code == 303
    assert Patient.get_by_id(p.id).allergies == "青霉素"
