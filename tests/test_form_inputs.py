"""Every form: empty, 10k characters, NUL bytes, markup → a clear message and nothing written."""
import pytest

from portal.models import AuditEvent, Family, Patient, Staff, StaffSession, Tag
from portal.services import patients as registry

BAD_TEXT = ["", " ", "x" * 10_000, "a\x00b", "<script>alert(1)</script>", "\u202e\x07"]


def snapshot():
    return (Staff.select().count(), Tag.select().count(), Patient.select().count(), Family.select().count(),
            AuditEvent.select().where(AuditEvent.action.in_(["create", "update", "merge"])).count())


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("field", ["username", "display_name", "password"])
def test_new_staff_form(as_role, field, value):
    data = {"username": "newdoc", "display_name": "新医生", "role": "doctor", "password": "a-long-password-1"}
    data[field] = value
    client = as_role("manager")
    before = snapshot()
    resp = client.post("/admin/staff", data=data)
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("value", BAD_TEXT)
def test_new_tag_form(as_role, value):
    before = snapshot()
    resp = as_role("manager").post("/admin/tags", data={"name": value, "color": "#123456"})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    assert snapshot() == before


@pytest.mark.parametrize("color", ["", "red", "#12345", "#1234567", "\x00"])
def test_tag_colour(as_role, color):
    resp = as_role("manager").post("/admin/tags", data={"name": "正畸", "color": color})
    assert resp.status_code == 422 and Tag.select().count() == 0


@pytest.mark.parametrize("value", BAD_TEXT)
def test_login_form(client, staff, value):
    resp = client.post("/login", data={"username": value, "password": value})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    assert StaffSession.select().count() == 0


@pytest.mark.parametrize("value", ["x" * 10_000, "a\x00b", "<b>x</b>"])
def test_password_change_form(as_role, value):
    resp = as_role("nurse").post("/account/password", data={"current_password": value, "password": value,
                                                            "confirm": value})
    assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)


EDIT_CASES = ([(f, v) for f in ("name", "phone") for v in BAD_TEXT]
              + [(f, v) for f in ("address", "allergies") for v in BAD_TEXT[2:]])  # blank is fine there


@pytest.mark.parametrize("field,value", EDIT_CASES)
def test_patient_edit_form(as_role, make_patient, field, value):
    p = make_patient(name="赵一", phone="13811112222")
    data = {"name": "赵一", "sex": "M", "birth_date": "1990-05-01", "phone": "13811112222",
            "preferred_channel": "sms", "preferred_time": "any", "referral_channel": "walk_in",
            "occupation_group": "", field: value}
    before = snapshot()
    resp = as_role("frontdesk").post(f"/patients/{p.code}/edit", data=data)
    assert resp.status_code == 422, (field, value[:10])
    assert snapshot() == before and Patient.get_by_id(p.id).updated_at == p.updated_at


@pytest.mark.parametrize("value", ["x" * 10_000, "a\x00b", "<i>x</i>", "NOSUCHCODE"])
def test_family_move_and_merge_forms(as_role, staff, make_patient, value):
    p = make_patient(name="钱一")
    family = registry.create_family("钱家", p, staff["frontdesk"])
    before = snapshot()
    client = as_role("frontdesk")
    r1 = client.post(f"/patients/{p.code}/family", data={"target": value})
    r2 = client.post(f"/families/{family.code}/merge", data={"other": value})
    assert r1.status_code in (303, 400) and r2.status_code in (303, 400)
    assert snapshot() == before and Patient.get_by_id(p.id).family_id == family.id


@pytest.mark.parametrize("data", [{"kind": "sales", "granted": "1", "method": "paper"},
                                  {"kind": "marketing", "granted": "maybe", "method": "paper"},
                                  {"kind": "marketing", "granted": "1", "method": "\x00"}])
def test_consent_form(as_role, make_patient, data):
    p = make_patient()
    resp = as_role("frontdesk").post(f"/patients/{p.code}/consents", data=data, follow_redirects=True)
    assert "Choose a consent and a decision." in resp.get_data(as_text=True)
    assert registry.consent_history(p) == []
