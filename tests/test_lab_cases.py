"""Lab cases 技工单 (issue 14): ordering, the state machine, races, the overdue list, access, audit,
and the warning when a fitting is booked before the work is due back."""
import subprocess
from datetime import timedelta

import pytest

from portal.models import Appointment, AuditEvent
from portal.models.lab_cases import LabCase
from portal.services import Conflict, ServiceError
from portal.services import chart_plans as plans
from portal.services import lab_cases as labs
from tests.chart_samples import scaling_procedure
from tests.clock import clinic_today
from tests.conftest import sign_in
from tests.races import race
from tests.schedule_fixtures import clinic  # noqa: F401


@pytest.fixture()
def lab(app, staff):
    with app.app_context():
        return labs.save_lab("华美义齿", "021-55550000", "王师傅", staff["manager"])


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="周冠")


def _order(patient, lab, doctor, due_in=7, **kw):
    today = clinic_today()
    return labs.order(patient, labs.CaseData(lab=lab, work_type=kw.pop("work_type", "crown"),
                                             teeth=kw.pop("teeth", "36"), shade="A2", material="全瓷",
                                             due_on=today + timedelta(days=due_in), **kw),
                      doctor, today)


def test_order_checks_its_input(app, staff, patient, lab, make_patient):
    today = clinic_today()
    with pytest.raises(ServiceError) as err:
        labs.order(patient, labs.CaseData(lab=lab, work_type="crown", due_on=today - timedelta(days=1)),
                   staff["doctor"], today)
    assert err.value.field == "due_on"
    with pytest.raises(ServiceError):
        labs.order(patient, labs.CaseData(lab=lab, work_type="spaceship", due_on=today), staff["doctor"], today)
    with pytest.raises(ServiceError):
        labs.order(patient, labs.CaseData(lab=None, work_type="crown", due_on=today), staff["doctor"], today)
    other = plans.add_item(make_patient(name="别人"), scaling_procedure(), staff["doctor"], tooth="46")
    with pytest.raises(ServiceError) as err:
        labs.order(patient, labs.CaseData(lab=lab, work_type="crown", due_on=today, plan_item=other),
                   staff["doctor"], today)
    assert err.value.field == "plan_item"
    item = plans.add_item(patient, scaling_procedure(), staff["doctor"], tooth="46")
    case = labs.order(patient, labs.CaseData(lab=lab, work_type="crown", due_on=today, plan_item=item,
                                             lab_fee_fen=30000, price_fen=180000), staff["doctor"], today)
    assert case.teeth == "46" and case.sent_on == today and case.status == "sent"  # teeth from the plan item


def test_state_machine(app, staff, patient, lab):
    case = _order(patient, lab, staff["doctor"])
    with pytest.raises(ServiceError):
        labs.set_status(case, "fitted", staff["doctor"], clinic_today())          # not back yet
    labs.set_status(case, "in_progress", staff["nurse"], clinic_today())
    labs.set_status(case, "received", staff["nurse"], clinic_today())
    assert LabCase.get_by_id(case.id).received_on == clinic_today()
    with pytest.raises(ServiceError) as err:
        labs.set_status(case, "fitted", staff["nurse"], clinic_today())          # the doctor's call
    assert not isinstance(err.value, Conflict)
    with pytest.raises(ServiceError) as err:
        labs.set_status(case, "remade", staff["doctor"], clinic_today())         # a reason is required
    assert err.value.field == "reason"
    labs.set_status(case, "fitted", staff["doctor"], clinic_today())
    with pytest.raises(ServiceError):
        labs.set_status(case, "cancelled", staff["doctor"], clinic_today(), reason="x")  # fitted is final
    second = _order(patient, lab, staff["doctor"])
    labs.set_status(second, "cancelled", staff["doctor"], clinic_today(), reason="患者改做种植")
    assert LabCase.get_by_id(second.id).reason == "患者改做种植"
    events = AuditEvent.select().where(AuditEvent.object_type == "lab_case", AuditEvent.object_ref == case.code)
    assert events.count() == 4  # created, in progress, received, fitted


def test_sixteen_clicks_one_transition(app, staff, patient, lab):
    case = _order(patient, lab, staff["doctor"])
    targets = ["received", "in_progress"] * 8
    results, errors = race(app, 16, lambda i, c: labs.set_status(c, targets[i], staff["nurse"], clinic_today()) and i,
                           prepare=lambda i: LabCase.get_by_id(case.id))
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    conflicts = [str(r.message) for r in results if isinstance(r, Conflict)]
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("by Demo nurse at" in c for c in conflicts)
    events = AuditEvent.select().where(AuditEvent.object_type == "lab_case", AuditEvent.object_ref == case.code)
    assert events.count() == 2


def test_stale_page_is_refused_through_the_route(app, staff, patient, lab):
    case = _order(patient, lab, staff["doctor"])
    nurse = sign_in(app.test_client(), staff["nurse"])
    assert nurse.post(f"/lab-cases/{case.code}/status", data={"status": "received", "seen": "sent"}).status_code == 303
    resp = nurse.post(f"/lab-cases/{case.code}/status", data={"status": "in_progress", "seen": "sent"})
    assert resp.status_code == 409 and "by Demo nurse at" in resp.get_data(as_text=True)
    assert nurse.post(f"/lab-cases/{case.code}/status", data={"status": "fitted", "seen": "received"}).status_code == 422
    assert LabCase.get_by_id(case.id).status == "received"


def test_overdue_list(app, staff, patient, lab, as_role, make_patient, clock):
    late = _order(patient, lab, staff["doctor"], due_in=2)
    on_time = _order(make_patient(name="吴准时"), lab, staff["doctor"], due_in=20)
    back = _order(make_patient(name="郑已回"), lab, staff["doctor"], due_in=2)
    labs.set_status(back, "received", staff["nurse"], clinic_today())
    clock.set(clock.now() + timedelta(days=5))
    assert [c.code for c in labs.overdue(clinic_today())] == [late.code]
    assert labs.overdue_count(clinic_today()) == 1
    for role in ("doctor", "nurse", "manager"):
        page = as_role(role).get("/lab-cases/overdue").get_data(as_text=True)
        assert "周冠" in page and late.code in page and on_time.code not in page and back.code not in page
    assert AuditEvent.select().where(AuditEvent.object_type == "lab_overdue").count() == 3


def test_pages_and_ordering_through_http(app, staff, patient, lab, as_role):
    doctor = as_role("doctor")
    due = (clinic_today() + timedelta(days=10)).isoformat()
    resp = doctor.post(f"/patients/{patient.code}/lab-cases",
                       data={"work_type": "bridge", "lab": lab.code, "teeth": "35, 36, 37", "shade": "A3",
                             "material": "氧化锆", "due_on": due, "lab_fee": "900", "price": "4800.50",
                             "plan_item": "", "visit": "", "note": ""})
    assert resp.status_code == 303
    case = LabCase.get()
    assert case.teeth == "35,36,37" and case.lab_fee_fen == 90000 and case.price_fen == 480050
    bad = doctor.post(f"/patients/{patient.code}/lab-cases", data={"work_type": "bridge", "lab": lab.code,
                                                                   "due_on": "", "plan_item": "", "visit": ""})
    assert bad.status_code == 422
    page = doctor.get(f"/patients/{patient.code}/lab-cases").get_data(as_text=True)
    assert "氧化锆" in page and case.code in page
    read = AuditEvent.select().where(AuditEvent.action == "read", AuditEvent.object_type == "lab_cases")
    assert read.count() >= 1
    assert as_role("nurse").post(f"/patients/{patient.code}/lab-cases", data={}).status_code == 403


def test_front_desk_sees_no_lab_case(app, staff, patient, lab, as_role):
    case = _order(patient, lab, staff["doctor"])
    desk = as_role("frontdesk")
    assert desk.get(f"/patients/{patient.code}/lab-cases").status_code == 403
    assert desk.get("/lab-cases/overdue").status_code == 403
    assert desk.post(f"/lab-cases/{case.code}/status", data={"status": "received"}).status_code == 403
    assert desk.get("/labs").status_code == 403
    assert as_role("doctor").get("/labs").status_code == 403
    assert as_role("manager").get("/labs").status_code == 200


def test_manager_keeps_the_labs_list(app, staff, as_role):
    manager = as_role("manager")
    assert manager.post("/labs", data={"name": "精工齿科", "phone": "010-1", "contact": "李"}).status_code == 303
    lab = labs.labs()[0]
    assert manager.post(f"/labs/{lab.code}", data={"name": "精工齿科", "phone": "010-2", "contact": "李",
                                                   "active": "0"}).status_code == 303
    assert labs.labs(active_only=True) == []
    assert manager.post("/labs", data={"name": ""}).status_code == 422


def _booking(clinic, patient, day, hour=10):
    return {"patient": patient.chart_no, "doctor": clinic["doctors"][0].id, "chair": clinic["chairs"][0].id,
            "day": day.isoformat(), "time": f"{hour:02d}:00", "minutes": 30, "visit_type": "revisit",
            "source": "phone", "planned": "", "notes": ""}


def test_fitting_booked_before_the_due_date_warns(app, staff, clinic, patient, lab, as_role):
    day = clinic["day"]
    case = labs.order(patient, labs.CaseData(lab=lab, work_type="crown", teeth="36", due_on=day + timedelta(days=3)),
                      staff["doctor"], clinic_today())
    desk = as_role("frontdesk")
    resp = desk.post("/appointments/new", data=_booking(clinic, patient, day), follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Booked." in page  # the booking stands
    assert "Lab work for this patient is not due back until" in page and (day + timedelta(days=3)).isoformat() in page
    assert "crown" not in page.lower() and case.code not in page  # only the fact, no clinical content
    # after the due date, or once the work is back, no warning
    later = desk.post("/appointments/new", data=_booking(clinic, patient, day + timedelta(days=7)),
                      follow_redirects=True).get_data(as_text=True)
    assert "Lab work for this patient" not in later
    labs.set_status(case, "received", staff["nurse"], clinic_today())
    back = desk.post("/appointments/new", data=_booking(clinic, patient, day, hour=11),
                     follow_redirects=True).get_data(as_text=True)
    assert "Booked." in back and "Lab work for this patient" not in back


def _move(clinic, day, hour=10):
    return {"doctor": clinic["doctors"][0].id, "chair": clinic["chairs"][0].id, "day": day.isoformat(),
            "time": f"{hour:02d}:00", "minutes": 30, "reason": "patient asked"}


def test_fitting_moved_before_the_due_date_warns(app, staff, clinic, patient, lab, as_role):
    """Moving the fitting earlier than the lab promised the work warns as booking it there would."""
    day = clinic["day"]
    due = day + timedelta(days=3)
    labs.order(patient, labs.CaseData(lab=lab, work_type="crown", teeth="36", due_on=due), staff["doctor"],
               clinic_today())
    desk = as_role("frontdesk")
    desk.post("/appointments/new", data=_booking(clinic, patient, due + timedelta(days=1)))
    appt = Appointment.get(Appointment.status == "booked")
    resp = desk.post(f"/appointments/{appt.code}/move", data=_move(clinic, day), follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Moved; the patient is told." in page  # the move stands
    assert "Lab work for this patient is not due back until" in page and due.isoformat() in page
    moved = Appointment.get(Appointment.status == "booked")
    later = desk.post(f"/appointments/{moved.code}/move", data=_move(clinic, due + timedelta(days=2)),
                      follow_redirects=True).get_data(as_text=True)
    assert "Moved; the patient is told." in later and "Lab work for this patient" not in later


def test_lab_sheet_pdf_carries_the_work_and_only_the_patient_facts_the_lab_needs(app, staff, lab, as_role,
                                                                                  make_patient, tmp_path):
    from datetime import date
    patient = make_patient(name="沈义齿", sex="F", birth_date=date(2015, 3, 8), id_number="110105201503080019",
                           phone="13912345678", address="北京市朝阳区望京街道")
    case = _order(patient, lab, staff["doctor"], teeth="36,37", note="邻面接触紧一点")
    resp = as_role("nurse").get(f"/lab-cases/{case.code}/sheet.pdf")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    path = tmp_path / "sheet.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # the case, the patient as the lab needs them, the doctor, the work and the lab, in Chinese
    for words in ("技工单", case.code, "沈义齿", patient.chart_no, "女", "岁", "送件医生", staff["doctor"].display_name,
                  "全冠", "36,37", "A2", "全瓷", "华美义齿", "送件日期", "预计返回", f"{case.due_on.month}月{case.due_on.day}日",
                  "邻面接触紧一点", "技工所签收", "仅供诊所及其技工所使用"):
        assert words in text, words
    for private in ("13912345678", "110105201503080019", "望京", patient.phone):  # minimum necessary
        assert private not in text, private
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [ln for ln in fonts.splitlines() if "CJK" in ln]
    assert cjk and all(" yes " in ln for ln in cjk), fonts
    printed = AuditEvent.get(AuditEvent.action == "print", AuditEvent.object_ref == case.code)
    assert printed.object_type == "lab_case" and printed.patient_id == patient.id
    english = as_role("doctor").get(f"/lab-cases/{case.code}/sheet.pdf?lang=en")
    path.write_bytes(english.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Lab sheet" in text and "Ordering doctor" in text
    assert as_role("frontdesk").get(f"/lab-cases/{case.code}/sheet.pdf").status_code == 403
    page = as_role("doctor").get(f"/patients/{patient.code}/lab-cases").get_data(as_text=True)
    assert f"/lab-cases/{case.code}/sheet.pdf" in page


def test_the_visit_page_sends_work_to_a_lab_with_the_visit_chosen(app, staff, patient, lab, as_role):
    from portal.services import chart_visits as visits
    visit = visits.open_visit(patient, staff["doctor"], clinic_today())
    order_url = f"/patients/{patient.code}/lab-cases?visit={visit.code}"
    assert order_url in as_role("doctor").get(f"/visits/{visit.code}").get_data(as_text=True)
    assert order_url not in as_role("nurse").get(f"/visits/{visit.code}").get_data(as_text=True)  # nurses do not order
    form = as_role("doctor").get(order_url).get_data(as_text=True)
    assert f'<option selected value="{visit.code}">' in form or f'value="{visit.code}" selected' in form
