"""Treatment plans, the catalogue (manager only) and the lifecycle view."""
import re
from datetime import date, timedelta

import pytest

from portal.models import PlanItem, Procedure
from portal.services import ServiceError
from portal.services import catalogue as cat
from portal.services import chart_plans as plans
from portal.services import chart_visits as visits
from tests.chart_samples import scaling_procedure
from tests.schedule_fixtures import clinic  # noqa: F401
from tests.clock import clinic_today


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="孙老", birth_date=date(1950, 2, 2))


def test_plan_item_statuses_follow_the_transitions(patient, staff):
    proc = scaling_procedure()
    item = plans.add_item(patient, proc, staff["doctor"], tooth="46", priority=1, phase=1)
    assert item.status == "proposed" and item.price_fen == proc.price_fen and item.tooth == 46
    with pytest.raises(ServiceError):
        plans.set_status(item, "done", staff["consultant"])            # not before it is accepted
    with pytest.raises(ServiceError) as err:
        plans.set_status(item, "declined", staff["consultant"])        # a reason is required
    assert err.value.field == "reason"
    plans.set_status(item, "declined", staff["consultant"], reason="费用超出预算")
    assert PlanItem.get_by_id(item.id).decline_reason == "费用超出预算"
    plans.set_status(item, "proposed", staff["consultant"])
    for status in ("accepted", "scheduled", "done"):
        plans.set_status(item, status, staff["consultant"])
    assert PlanItem.get_by_id(item.id).status == "done"
    with pytest.raises(ServiceError):
        plans.set_status(item, "declined", staff["consultant"], reason="late")


def test_alternatives_prices_and_teeth_are_checked(patient, staff, make_patient):
    proc = scaling_procedure()
    main = plans.add_item(patient, proc, staff["doctor"], price_fen=100000)
    alt = plans.add_item(patient, proc, staff["doctor"], alternative_to=main, price_fen=50000, phase=2)
    assert alt.alternative_to_id == main.id
    assert plans.totals(plans.plan_of(patient))["proposed"] == 150000
    other = make_patient(name="别人")
    with pytest.raises(ServiceError):
        plans.add_item(other, proc, staff["doctor"], alternative_to=main)
    for kw in ({"tooth": "19"}, {"price_fen": -1}, {"priority": 7}, {"phase": 0}):
        with pytest.raises(ServiceError):
            plans.add_item(patient, proc, staff["doctor"], **kw)


def test_plan_routes(as_role, patient, staff):
    proc = scaling_procedure()
    consultant = as_role("consultant")
    resp = consultant.post(f"/patients/{patient.code}/plan", data={"procedure": proc.code, "tooth": "46",
                                                                   "price": "1,280.50", "priority": "2", "phase": "1"})
    assert resp.status_code == 303
    item = PlanItem.get()
    assert item.price_fen == 128050
    assert consultant.post(f"/plan-items/{item.code}/status", data={"status": "accepted"}).status_code == 303
    assert PlanItem.get().status == "accepted"
    page = consultant.get(f"/patients/{patient.code}/plan").get_data(as_text=True)
    assert "Accepted" in page and "¥1,280.50" in page
    assert as_role("frontdesk").get(f"/patients/{patient.code}/plan").status_code == 403
    assert as_role("nurse").post(f"/plan-items/{item.code}/status", data={"status": "done"}).status_code == 403


def test_catalogue_is_managed_by_the_manager(as_role):
    manager = as_role("manager")
    form = {"code": "RES-CR", "name_zh": "树脂充填", "name_en": "Composite filling", "department": "restorative",
            "duration_minutes": "40", "price": "400", "steps": "1. 去腐 | Remove caries\n2. 充填 | Fill\n", "active": "y",
            "followup_rules": '[{"after_days": 3, "kind": "call"}]'}
    assert manager.post("/catalogue/new", data=form).status_code == 303
    proc = Procedure.get(Procedure.code == "RES-CR")
    assert proc.price_fen == 40000 and [s.text_en for s in proc.steps.order_by(cat.ProtocolStep.position)] == [
        "Remove caries", "Fill"]
    bad = manager.post("/catalogue/new", data={**form, "price": "-5"})
    assert bad.status_code == 422 and "price in yuan" in bad.get_data(as_text=True)
    dup = manager.post("/catalogue/new", data=form)
    assert dup.status_code == 422 and "already has this code" in dup.get_data(as_text=True)
    assert as_role("doctor").post("/catalogue/new", data=form).status_code == 403
    assert as_role("frontdesk").get("/catalogue").status_code == 200
    assert "¥400.00" in as_role("frontdesk").get("/catalogue").get_data(as_text=True)


def test_demo_catalogue_has_the_standard_protocols(app):
    from portal.demo_clinical import seed_catalogue
    assert seed_catalogue() > 10 and seed_catalogue() == 0
    steps = {p.code: p.steps.count() for p in Procedure.select()}
    assert steps["PER-SC"] == 11 and steps["IMP-DIG"] >= 8 and steps["END-MRC"] >= 10


def test_lifecycle_for_a_child_and_a_senior(make_patient, staff):
    today = date(2026, 6, 1)
    child = make_patient(name="小童", birth_date=date(2019, 1, 1))
    stage, age, items = plans.lifecycle(child, today)
    assert stage == "child" and age == 7 and {i.key for i in items} == {"checkup", "fluoride", "sealant"}
    assert all(i.state == "due" for i in items)
    fv = cat.save_procedure(cat.ProcedureData("PRV-FV", "涂氟", "Fluoride varnish", "preventive", 15, 15000), None)
    visit = visits.open_visit(child, staff["doctor"], today - timedelta(days=30))
    cat.start(visit, fv, staff["nurse"])  # no steps: completed at once
    items = {i.key: i for i in plans.lifecycle(child, today)[2]}
    assert items["fluoride"].state == "ok" and items["fluoride"].last_done == today - timedelta(days=30)
    senior = make_patient(name="老人", birth_date=date(1950, 1, 1))
    stage, _, items = plans.lifecycle(senior, today)
    assert stage == "senior" and "implant" in {i.key for i in items}


def test_lifecycle_page(as_role, make_patient):
    teen = make_patient(name="少年", birth_date=date(clinic_today().year - 14, 1, 1))
    page = as_role("consultant").get(f"/patients/{teen.code}/lifecycle").get_data(as_text=True)
    assert "Orthodontic assessment" in page and "Teen" in page


def test_booking_from_an_accepted_plan_item_schedules_it(app, as_role, patient, staff, clinic):
    from urllib.parse import parse_qs, urlsplit

    from portal.models import Appointment
    place = clinic
    proc = scaling_procedure()
    item = plans.add_item(patient, proc, staff["doctor"], tooth="46")
    plans.set_status(item, "accepted", staff["consultant"])
    consultant = as_role("consultant")
    page = consultant.get(f"/patients/{patient.code}/plan").get_data(as_text=True)
    link = next(h for h in re.findall(r'href="([^"]+)"', page) if "plan_item=" in h).replace("&amp;", "&")
    args = parse_qs(urlsplit(link).query)
    assert args["patient"] == [patient.chart_no] and args["minutes"] == [str(proc.duration_minutes)]
    form = consultant.get(link).get_data(as_text=True)
    assert patient.chart_no in form and f"{proc.name_en} 46" in form
    start = place["at"](10)
    resp = consultant.post(link, data={"patient": patient.chart_no, "doctor": staff["doctor"].id,
                                       "chair": place["chairs"][0].id, "day": start.date().isoformat(),
                                       "time": "10:00", "minutes": proc.duration_minutes, "visit_type": "revisit",
                                       "source": "frontdesk", "planned": f"{proc.name_en} 46"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    booked = PlanItem.get_by_id(item.id)
    assert booked.status == "scheduled" and booked.appointment_id == Appointment.get().id
    assert "Booked visit" in consultant.get(f"/patients/{patient.code}/plan").get_data(as_text=True)


def test_a_plan_item_declined_while_its_visit_is_booked_keeps_the_booking(app, as_role, patient, staff, clinic,
                                                                         monkeypatch):
    """The item moves on between the booking form's check and its own update: the visit stays
    booked, the desk is told why the item did not follow, nothing answers 500."""
    from portal.models import Appointment
    proc = scaling_procedure()
    item = plans.add_item(patient, proc, staff["doctor"], tooth="46")
    plans.set_status(item, "accepted", staff["consultant"])
    real = plans.set_status

    def declined_meanwhile(target, status, actor, **kwargs):
        real(PlanItem.get_by_id(target.id), "declined", staff["doctor"], reason="先观察")
        return real(target, status, actor, **kwargs)
    monkeypatch.setattr(plans, "set_status", declined_meanwhile)
    start = clinic["at"](10)
    resp = as_role("frontdesk").post(f"/appointments/new?plan_item={item.code}", data={
        "patient": patient.chart_no, "doctor": staff["doctor"].id, "chair": clinic["chairs"][0].id,
        "day": start.date().isoformat(), "time": "10:00", "minutes": proc.duration_minutes, "visit_type": "revisit",
        "source": "frontdesk"})
    assert resp.status_code == 303
    assert Appointment.select().count() == 1 and PlanItem.get_by_id(item.id).status == "declined"
