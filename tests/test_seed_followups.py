"""Follow-ups and recalls exactly as seeds 001 and 004 say.

001: 常规六个月，特殊三个月 (calendar months; "special" = periodontal disease or another special
condition); 老人儿童避开午休 (age group from the birth date on the day of the call);
每次复诊都应回访 (every return visit). 004: short / medium / long after-care tracking.
"""
from datetime import date, datetime, time, timedelta

import pytest

from portal.models import Appointment, Chair, Followup, Patient, Tag, Visit, new_code, utcnow
from portal.services import chart as chart_entries
from portal.services import clinic_settings
from portal.services import chart_visits as visits
from portal.services import followup_calls as calls
from portal.services import followups
from portal.services import patients as registry
from portal.services import schedule as booking
from tests.clock import clinic_today
from tests.followup_helpers import complete_visit, procedure


def _key(name):
    """The settings store's key for one of followup_settings' names."""
    assert followups.setting_key(name) in clinic_settings.REGISTRY
    return followups.setting_key(name)


def _open(patient, kind=None):
    q = Followup.select().where(Followup.patient == patient, Followup.status == "open")
    return list((q.where(Followup.kind == kind) if kind else q).order_by(Followup.due_date, Followup.id))


def _visit_with_diagnosis(app, staff, patient, diagnosis, visit_type="revisit"):
    chair = Chair.select().first() or Chair.create(code=new_code(6), name="1号椅")
    # Earlier today, one after another: the same doctor and chair cannot hold two visits at once
    # (PostgreSQL's exclusion constraints refuse the overlap).
    start = utcnow() - timedelta(minutes=35 + 31 * Appointment.select().count())
    appt = Appointment.create(code=new_code(), patient=patient, doctor=staff["doctor"], chair=chair, start_at=start,
                              end_at=start + timedelta(minutes=30), visit_type=visit_type)
    visit = visits.open_visit(patient, staff["doctor"], clinic_today(), appointment=appt)
    Visit.update(diagnosis=diagnosis).where(Visit.id == visit.id).execute()
    for status in ("arrived", "seated", "completed"):
        booking.change_status(appt, status, staff["nurse"], app.config)
    return appt


# --- 常规六个月，特殊三个月: calendar months -------------------------------------------------------

@pytest.mark.parametrize("start, months, due", [
    (date(2026, 1, 15), 6, date(2026, 7, 15)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 10, 31), 3, date(2027, 1, 31)),
])
def test_add_months_is_calendar_months_clamped_to_month_end(start, months, due):
    assert followups.add_months(start, months) == due


@pytest.mark.clock("2026-01-15 10:00")
def test_routine_recall_after_a_scaling_on_15_january_is_due_on_15_july(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=[procedure("PER-SCX", "periodontal")])
    recall = _open(patient, "recall")
    assert [(r.due_date, r.event) for r in recall] == [(date(2026, 7, 15), "recall_routine")]


@pytest.mark.clock("2026-08-31 10:00")
def test_month_end_recall_clamps_to_the_end_of_february(app, staff, make_patient):
    routine, special = make_patient(name="常规"), make_patient(name="牙周")
    with app.app_context():
        registry.set_tags(special, {Tag.create(name="牙周病患者").id})
        complete_visit(app, staff, routine, "revisit")
        complete_visit(app, staff, special, "revisit")
    assert [r.due_date for r in _open(routine, "recall")] == [date(2027, 2, 28)]
    assert [r.due_date for r in _open(special, "recall")] == [date(2026, 11, 30)]


def test_a_routine_scaling_alone_does_not_make_a_patient_special(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=[procedure("PER-SCY", "periodontal")])
    assert [r.event for r in _open(patient, "recall")] == ["recall_routine"]


def test_a_periodontal_diagnosis_makes_the_recall_special(app, staff, make_patient):
    by_diagnosis, plain = make_patient(name="牙周炎"), make_patient(name="龋齿")
    with app.app_context():
        _visit_with_diagnosis(app, staff, by_diagnosis, "慢性牙周炎")
        _visit_with_diagnosis(app, staff, plain, "46 深龋")
        today = clinic_today()
    assert [(r.event, r.due_date) for r in _open(by_diagnosis, "recall")] == [
        ("recall_special", followups.add_months(today, 3))]
    assert [r.event for r in _open(plain, "recall")] == ["recall_routine"]


def test_a_periodontal_finding_on_the_chart_makes_the_recall_special(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        chart_entries.record(patient, chart_entries.EntryData(tooth=31, kind="mobility", status="existing", grade=2),
                             staff["doctor"], clinic_today())
        complete_visit(app, staff, patient, "revisit")
    assert [r.event for r in _open(patient, "recall")] == ["recall_special"]


def test_a_catalogue_recall_and_the_rule_recall_merge_into_one(app, staff, make_patient):
    patient = make_patient()
    scaling = procedure("PER-SCZ", "periodontal", rules=[{"after_days": 180, "kind": "recall", "topic": "scaling"}])
    with app.app_context():
        complete_visit(app, staff, patient, "revisit", procedures=[scaling])
        today = clinic_today()
    recall = _open(patient, "recall")
    assert len(recall) == 1 and recall[0].event == "recall_routine"
    assert recall[0].due_date == followups.add_months(today, 6) and "scaling" in recall[0].topic
    assert Followup.select().where(Followup.patient == patient, Followup.kind == "recall",
                                   Followup.status == "merged").count() == 1


def test_recall_months_come_from_the_clinic_settings(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        assert followups.followup_settings(app.config)["recall_routine_months"] == 6
        assert followups.followup_settings(app.config)["recall_special_months"] == 3
        clinic_settings.save(app.config, {_key("recall_routine_months"): "4"}, staff["manager"])
        complete_visit(app, staff, patient, "revisit")
        today = clinic_today()
    assert [r.due_date for r in _open(patient, "recall")] == [followups.add_months(today, 4)]


# --- 老人儿童避开午休: the age group on the day of the call --------------------------------------------

def _person(birth, group, registered=date(2020, 1, 1), pref="any"):
    return Patient(birth_date=birth, occupation_group=group, preferred_time=pref,
                   created_at=datetime.combine(registered, time(2)))


NOON = datetime(2026, 6, 10, 12, 15)


def test_a_child_registered_as_a_student_is_still_a_child_and_is_not_called_at_midday():
    # Registered aged 8: the desk's default then was "student"; on the day of the call she is 8.
    child = _person(date(2018, 3, 1), "student", registered=date(2026, 5, 1))
    assert calls.call_group(child, NOON.date()) == "child"
    slot = calls.call_slot(child, NOON)
    assert slot.bucket == 1 and slot.start.time() >= time(14, 30)


def test_the_group_follows_the_birthday_not_the_registration():
    boy = _person(date(2014, 6, 11), "child", registered=date(2019, 1, 1))
    assert calls.call_group(boy, date(2026, 6, 10)) == "child"      # 11 until tomorrow
    assert calls.call_group(boy, date(2026, 6, 11)) == "student"    # 12 today
    registered_at_50 = _person(date(1965, 1, 1), "working", registered=date(2015, 1, 1))
    assert calls.call_group(registered_at_50, date(2026, 6, 10)) == "retired"


def test_an_occupation_the_desk_records_counts_for_adults_only():
    retired_early = _person(date(1976, 1, 1), "retired", registered=date(2020, 1, 1))  # 44 when registered
    assert calls.call_group(retired_early, date(2026, 6, 10)) == "retired"
    child_marked_working = _person(date(2019, 1, 1), "working", registered=date(2024, 1, 1))
    assert calls.call_group(child_marked_working, date(2026, 6, 10)) == "child"


def test_the_child_age_is_a_clinic_setting(app, staff):
    eleven = _person(date(2015, 1, 1), "child")
    assert calls.call_group(eleven, date(2026, 6, 10)) == "child"
    with app.app_context():
        clinic_settings.save(app.config, {_key("child_age"): "10"}, staff["manager"])
        settings = followups.followup_settings(app.config)
    assert calls.call_group(eleven, date(2026, 6, 10), settings) == "student"


def test_call_windows_come_from_the_clinic_settings(app, staff):
    worker = _person(date(1990, 1, 1), "working")
    with app.app_context():
        clinic_settings.save(app.config, {_key("windows_working"): "09:00-10:00"}, staff["manager"])
        settings = followups.followup_settings(app.config)
    slot = calls.call_slot(worker, datetime(2026, 6, 10, 8, 0), settings=settings)
    assert (slot.start.time(), slot.end.time()) == (time(9), time(10))


# --- 每次复诊都应回访: every return visit ---------------------------------------------------------

@pytest.mark.parametrize("visit_type", ["revisit", "recall", "followup"])
def test_every_return_visit_gets_a_call(app, staff, make_patient, visit_type):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, visit_type)
        today = clinic_today()
    assert [(c.due_date - today).days for c in _open(patient, "call")] == [2]


def test_the_rules_screen_can_add_a_call_to_any_visit_type(app, staff, make_patient):
    patient = make_patient()
    with app.app_context():
        followups.rules()  # the clinic's defaults first
        followups.save_rule(followups.RuleData("Recall visit: two weeks", "visit_type", "recall", 14, "call",
                                               "satisfied"), staff["manager"])
        complete_visit(app, staff, patient, "recall")
        today = clinic_today()
    assert sorted((c.due_date - today).days for c in _open(patient, "call")) == [2, 14]


# --- 004: short, medium and long after-care ----------------------------------------------------------

@pytest.mark.parametrize("department", ["surgical", "aesthetic", "implant"])
def test_after_care_has_short_medium_and_long_term(app, staff, make_patient, department):
    patient = make_patient()
    with app.app_context():
        complete_visit(app, staff, patient, "first", procedures=[procedure(f"AC-{department[:3].upper()}", department)])
        today = clinic_today()
    days = [(f.due_date - today).days for f in _open(patient) if f.kind != "recall" and f.event != "first_visit"]
    assert any(d <= 7 for d in days), days                   # first week: wound, abnormal reactions
    assert any(30 <= d <= 92 for d in days), days             # 1–3 months: stability
    assert any(182 <= d <= 366 for d in days), days           # 6–12 months: durability and satisfaction


def test_a_procedure_can_change_one_stage_of_its_after_care(app, staff, make_patient):
    patient = make_patient()
    veneer = procedure("AC-VEN", "aesthetic", rules=[{"stage": "long", "after_months": 12, "kind": "review",
                                                     "topic": "veneer check"}])
    with app.app_context():
        complete_visit(app, staff, patient, "first", procedures=[veneer])
        today = clinic_today()
    long_term = [f for f in _open(patient) if f.kind != "recall" and (f.due_date - today).days > 120]
    assert [(f.due_date, f.kind) for f in long_term] == [(followups.add_months(today, 12), "review")]


def test_the_rules_screen_shows_recall_months_and_after_care_stages(app, staff, as_role):
    manager = as_role("manager")
    page = manager.get("/followups/rules").get_data(as_text=True)
    assert "every 6 months" in page and "every 3 months" in page
    assert "long term" in page and "medium term" in page and "short term" in page
    made = manager.post("/followups/rules", data={"name": "Check-up visit call", "event": "visit_type",
                                                 "applies_to": "followup", "offset_days": "3", "kind": "call",
                                                 "questions": "satisfied", "active": "y"})
    assert made.status_code == 303
    bad = manager.post("/followups/rules", data={"name": "Nonsense", "event": "visit_type", "applies_to": "party",
                                                "offset_days": "3", "kind": "call", "active": "y"})
    assert bad.status_code == 422 and "visit types" in bad.get_data(as_text=True)


def test_migration_0011_gives_a_clinic_seeded_earlier_the_missing_after_care_stages(tmp_path):
    """A clinic whose rules were seeded before: extraction gets 2 and 6 months, aesthetic work 9 months,
    and the special recall reads diagnoses and findings; a rule the manager edited is left alone."""
    from portal import create_app
    from portal.db import db
    from portal.migrations import m0011_followup_stages as step
    from portal.migrations import migrate
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}", "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        db.connect(reuse_if_open=True)
        migrate(target=10)
        old = [("R1", "拔牙：次日", "department", "surgical", 1, "call"),
               ("R2", "美学：2个月", "department", "aesthetic", 60, "call"),
               ("R3", "美学：我自己的一年", "department", "aesthetic", 365, "call"),
               ("R4", "特殊复查", "recall_special", step.OLD_SPECIAL, 91, "recall")]
        for row in old:
            db.execute_sql("INSERT INTO followup_rule (code, name, event, applies_to, offset_days, kind, questions, "
                           "active, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', 1, 1, '2026-01-01 00:00:00')",
                           row)
        migrate()
        rows = db.execute_sql("SELECT applies_to, offset_days, version FROM followup_rule ORDER BY id").fetchall()
        db.close()
    assert sorted((a, d) for a, d, _ in rows if a in ("surgical", "aesthetic")) == [
        ("aesthetic", 60), ("aesthetic", 365), ("surgical", 1), ("surgical", 60), ("surgical", 182)]
    assert (step.NEW_SPECIAL, 91, 2) in rows
