"""Home pages by role (issue 13): the doctor's patients today and unsigned visits, the nurse's
chairs and who waits, the desk's arrivals, to-bill queue and tomorrow's unconfirmed visits; alert
badges wherever a patient appears; each list a constant number of statements. The clock is frozen
at a known clinic time (a Wednesday, 10:00)."""
import re
from datetime import datetime, timedelta

import pytest

from portal.models import Appointment, AuditEvent, Chair, Patient, Staff, new_code
from portal.services import billing
from portal.services import chart_visits as visits
from portal.services.clock import to_utc
from tests.clock import clinic_today
from tests.statements import statements_of

NOW = "2026-06-10 10:00"
pytestmark = pytest.mark.clock(NOW)


@pytest.fixture()
def chairs(app):
    return [Chair.create(code=new_code(6), name=f"椅位{i}", sort_order=i) for i in (1, 2)]


def _appt(patient, doctor, chair, hhmm, minutes=30, status="booked", days=0, visit_type="revisit", **kw):
    h, m = map(int, hhmm.split(":"))
    start = to_utc(datetime.combine(clinic_today() + timedelta(days=days), datetime.min.time()).replace(hour=h, minute=m),
                   "Asia/Shanghai")
    return Appointment.create(code=new_code(), patient=patient, doctor=doctor, chair=chair, start_at=start,
                              end_at=start + timedelta(minutes=minutes), visit_type=visit_type, status=status, **kw)


def _ago(minutes):
    return datetime.utcnow() - timedelta(minutes=minutes)


def _page(client, **headers):
    resp = client.get("/", headers=headers)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _section(html, dom_id):
    found = re.search(rf'<section[^>]* id="{dom_id}"[^>]*>(.*?)</section>', html, re.S)
    assert found, dom_id
    return found.group(1)


# --- doctor -----------------------------------------------------------------------------------------

def test_doctor_sees_todays_patients_with_alerts_and_links(app, staff, as_role, make_patient, chairs, password_hash):
    other = Staff.create(username="doctor2", display_name="Other doctor", role="doctor", password_hash=password_hash)
    allergic = make_patient(name="过敏甲", allergies="青霉素")
    plain = make_patient(name="普通乙")
    first = _appt(allergic, staff["doctor"], chairs[0], "09:00", visit_type="first", status="arrived", arrived_at=_ago(60))
    second = _appt(plain, staff["doctor"], chairs[0], "14:30")
    _appt(make_patient(name="别人的病人"), other, chairs[1], "11:00")
    _appt(make_patient(name="取消了"), staff["doctor"], chairs[1], "15:00", status="cancelled")
    _appt(make_patient(name="明天的"), staff["doctor"], chairs[1], "09:00", days=1)
    html = _page(as_role("doctor"))
    today = _section(html, "my-day")
    assert today.index("过敏甲") < today.index("普通乙")
    for absent in ("别人的病人", "取消了", "明天的"):
        assert absent not in today
    assert f'href="/appointments/{first.code}"' in today and f'href="/appointments/{second.code}"' in today
    assert "09:00–09:30" in today and "First visit" in today and "Arrived" in today and "Booked" in today
    assert "flag-allergy" in today and "青霉素" in today   # the badge carries the detail
    assert 'id="to-bill"' not in html and 'id="chairs"' not in html
    assert AuditEvent.select().where(AuditEvent.object_type == "home").count() == 1


def test_doctor_sees_unsigned_visits_from_before_today_only(app, staff, as_role, make_patient):
    p, q = make_patient(name="昨天未签"), make_patient(name="今天草稿")
    old = visits.open_visit(p, staff["doctor"], clinic_today() - timedelta(days=1))
    visits.open_visit(q, staff["doctor"], clinic_today())
    html = _page(as_role("doctor"))
    box = _section(html, "unsigned-visits")
    assert "昨天未签" in box and "今天草稿" not in box and f'href="/visits/{old.code}"' in box
    assert "Unsigned visits from before today" in box


def test_no_unsigned_warning_when_all_are_signed(app, staff, as_role):
    assert 'id="unsigned-visits"' not in _page(as_role("doctor"))


def test_doctor_sees_a_restricted_patient_as_restricted_without_badges(app, staff, as_role, make_patient, chairs,
                                                                      password_hash):
    other = Staff.create(username="doctor2", display_name="Other doctor", role="doctor", password_hash=password_hash)
    secret = make_patient(name="保密患者", allergies="乳胶")
    Patient.update(restricted=True, attending_doctor=other).where(Patient.id == secret.id).execute()
    _appt(secret, staff["doctor"], chairs[0], "09:00")
    today = _section(_page(as_role("doctor")), "my-day")
    assert "保密患者" not in today and "Restricted" in today and "乳胶" not in today and "flag-allergy" not in today


# --- nurse ------------------------------------------------------------------------------------------

def test_nurse_sees_each_chair_who_is_in_it_and_who_waits_since_when(app, staff, as_role, make_patient, chairs):
    _appt(make_patient(name="在椅上"), staff["doctor"], chairs[0], "09:30", status="seated", arrived_at=_ago(40),
          seated_at=_ago(25))
    _appt(make_patient(name="在等待", allergies="碘"), staff["doctor"], chairs[0], "10:00", status="arrived",
          arrived_at=_ago(20))
    _appt(make_patient(name="下一位"), staff["doctor"], chairs[1], "11:00")
    _appt(make_patient(name="已完成"), staff["doctor"], chairs[1], "08:00", status="completed")
    html = _page(as_role("nurse"))
    board = _section(html, "chairs")
    first, second = board.split('class="row chair-now"')[1:3]
    assert "椅位1" in first and "在椅上" in first and "In the chair since 09:35" in first
    assert "在等待" in first and "Waiting since 09:40 (20 min)" in first and "flag-allergy" in first
    assert "椅位2" in second and "Free" in second and "Next: 11:00" in second and "下一位" in second
    assert "已完成" not in board
    assert 'id="my-day"' not in html and 'id="arrivals"' not in html


def test_nurse_chairs_refresh_as_a_fragment(app, staff, as_role, make_patient, chairs):
    _appt(make_patient(name="在等待"), staff["doctor"], chairs[0], "10:00", status="arrived", arrived_at=_ago(5))
    html = _page(as_role("nurse"), **{"HX-Request": "true", "HX-Target": "chairs"})
    assert "在等待" in html and "<html" not in html and "Chairs now" in html


# --- front desk -------------------------------------------------------------------------------------

def test_desk_sees_arrivals_to_bill_and_tomorrows_unconfirmed(app, staff, as_role, make_patient, chairs):
    _appt(make_patient(name="还没来", medical_alerts="高血压"), staff["doctor"], chairs[0], "11:00")
    _appt(make_patient(name="已到达"), staff["doctor"], chairs[0], "09:30", status="arrived", arrived_at=_ago(15))
    _appt(make_patient(name="没来的"), staff["doctor"], chairs[1], "08:00", status="no_show")
    unconfirmed = _appt(make_patient(name="明天未确认"), staff["doctor"], chairs[0], "09:00", days=1)
    _appt(make_patient(name="明天已确认"), staff["doctor"], chairs[1], "10:00", days=1, confirmed_at=_ago(60))
    _appt(make_patient(name="后天的"), staff["doctor"], chairs[1], "09:00", days=2)
    owing = make_patient(name="欠费丙")
    bill = billing.open_bill(owing, staff["frontdesk"], app.config, clinic_today())
    billing.add_adjustment(bill, 12000, "treatment", staff["manager"], app.config)
    paid = make_patient(name="已付清")
    settled = billing.open_bill(paid, staff["frontdesk"], app.config, clinic_today())
    billing.add_adjustment(settled, 5000, "treatment", staff["manager"], app.config)
    billing.take_payment(settled, [("cash", billing.totals(settled).due, "")], staff["frontdesk"], app.config)
    html = _page(as_role("frontdesk"))
    arrivals = _section(html, "arrivals")
    expected, arrived = arrivals.split('class="rows arrived"')
    assert "还没来" in expected and "flag-medical" in expected and "已到达" not in expected
    assert "已到达" in arrived and "Arrived" in arrived and "没来的" not in arrivals
    queue = _section(html, "to-bill")
    assert "欠费丙" in queue and f'href="/members/bills/{bill.code}"' in queue and "已付清" not in queue
    assert billing.totals(bill).due > 0 and f"{billing.totals(bill).due // 100:,}." in queue
    tomorrow = _section(html, "unconfirmed")
    assert "明天未确认" in tomorrow and f'href="/appointments/{unconfirmed.code}"' in tomorrow and "Confirm" in tomorrow
    assert "明天已确认" not in tomorrow and "后天的" not in tomorrow
    assert 'id="my-day"' not in html and 'id="chairs"' not in html


def test_consultant_and_manager_home_pages_have_no_day_lists(app, staff, as_role, make_patient, chairs):
    _appt(make_patient(name="今天的"), staff["doctor"], chairs[0], "11:00")
    for role in ("consultant", "manager"):
        html = _page(as_role(role))
        assert 'id="my-day"' not in html and 'id="chairs"' not in html and 'id="arrivals"' not in html


# --- constant statements ----------------------------------------------------------------------------

NUMERALS = "一二三四五六七八九十"


def _busy_day(staff, make_patient, chairs, n, tag, offset=0):
    for i in range(n):
        p = make_patient(name=f"{tag}{NUMERALS[i]}", allergies="青霉素" if i % 2 else "")
        chair = chairs[i % 2]
        at = f"{8 + (i + offset) // 2:02d}:{((i + offset) % 2) * 30:02d}"  # one doctor: no two at once
        _appt(p, staff["doctor"], chair, at, status=("arrived", "booked", "seated", "completed")[i % 4],
              arrived_at=_ago(10 + i), seated_at=_ago(5))
        _appt(p, staff["doctor"], chair, at, days=1)
        visits.open_visit(p, staff["doctor"], clinic_today() - timedelta(days=1 + i))


@pytest.mark.parametrize("role", ["doctor", "nurse", "frontdesk"])
def test_home_page_statements_do_not_grow_with_the_day(app, staff, as_role, make_patient, chairs, role):
    client = as_role(role)
    _busy_day(staff, make_patient, chairs, 1, "少")
    few = statements_of(client, "/")
    _busy_day(staff, make_patient, chairs, 9, "多", offset=1)
    for i in range(4):
        bill = billing.open_bill(make_patient(name=f"账{NUMERALS[i]}"), staff["frontdesk"], app.config, clinic_today())
        billing.add_adjustment(bill, 10000, "treatment", staff["manager"], app.config)
    assert statements_of(client, "/") == few


# --- language ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role,heading", [("doctor", "今日患者"), ("nurse", "牙椅现况"), ("frontdesk", "今日到诊")])
def test_home_lists_read_in_chinese(app, staff, as_role, make_patient, chairs, role, heading):
    _appt(make_patient(name="中文页"), staff["doctor"], chairs[0], "09:30", status="arrived", arrived_at=_ago(10))
    _appt(make_patient(name="明天的"), staff["doctor"], chairs[0], "09:30", days=1)
    client = as_role(role)
    client.post("/language/zh_CN", data={"next": "/"})
    html = _page(client)
    assert heading in html
    for english in ("Today's patients", "Chairs now", "Waiting since", "Expected", "Bills to settle", "Not yet confirmed"):
        assert english not in html
