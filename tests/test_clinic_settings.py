"""Clinic rules the manager edits on screen (issue 11): validated, versioned with who and when,
defaults from DOMAIN.md, and read where the rules are applied."""
from datetime import timedelta

import pytest

from portal.models import AuditEvent, ClinicSetting, Complaint
from portal.services import ServiceError
from portal.services import clinic_settings
from portal.services import complaints
from portal.services import schedule as booking
from portal.services.clock import to_local
from portal.services.followup_calls import warning_signs
from portal.services.workdays import add_workdays
from tests.schedule_fixtures import clinic  # noqa: F401

URL = "/admin/rules"
SEVERE = "complaint.resolve_days.severe"


def _log_severe_complaint(as_role, patient):
    resp = as_role("frontdesk").post("/complaints/new", data={
        "patient": patient.chart_no, "channel": "phone", "category": "clinical", "severity": "severe",
        "summary": "The crown came loose after a week.", "doctor": "0"})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return Complaint.select().order_by(Complaint.id.desc()).get()


def test_defaults_come_from_the_domain_rules(app):
    with app.app_context():
        values = clinic_settings.all_values(app.config)
    assert values["complaint.reply_hours"] == 24
    assert [values[f"complaint.resolve_days.{s}"] for s in ("minor", "medium", "severe")] == [3, 7, 14]
    assert values["schedule.first_visit_min_minutes"] == 60
    assert values["followup.warning_score"] == 7 and values["followup.max_attempts"] == 3


def test_manager_shortens_severe_complaints_and_new_deadlines_follow(app, staff, as_role, make_patient):
    patient = make_patient()
    before = _log_severe_complaint(as_role, patient)
    received = to_local(before.received_at, app.config["PORTAL_TZ"]).date()
    assert before.resolve_due == add_workdays(received, 14)

    resp = as_role("manager").post(URL, data={SEVERE: "10"})
    assert resp.status_code == 303
    after = _log_severe_complaint(as_role, patient)
    received = to_local(after.received_at, app.config["PORTAL_TZ"]).date()
    assert after.resolve_due == add_workdays(received, 10)
    assert Complaint.get_by_id(before.id).resolve_due == before.resolve_due  # an earlier complaint keeps its deadline


def test_manager_changes_the_first_reply_hours(app, staff, as_role, make_patient):
    assert as_role("manager").post(URL, data={"complaint.reply_hours": "12"}).status_code == 303
    c = _log_severe_complaint(as_role, make_patient())
    assert c.reply_due_at - c.received_at == timedelta(hours=12)


@pytest.mark.parametrize("key, raw, message", [
    (SEVERE, "ten", "Enter a whole number."),
    (SEVERE, "-3", "Enter a whole number from 1 to 90."),
    (SEVERE, "0", "Enter a whole number from 1 to 90."),
    ("followup.windows_child", "14:30-12:00", "A time window must end after it starts."),
    ("followup.windows_child", "noon", "Write a time window as HH:MM-HH:MM"),
    ("followup.windows_child", "09:00-12:00, 11:00-13:00", "Time windows must not overlap."),
])
def test_invalid_input_is_refused_and_nothing_changes(app, staff, as_role, key, raw, message):
    # A valid change sent with the invalid one is not saved either: all or nothing.
    resp = as_role("manager").post(URL, data={key: raw, "complaint.reply_hours": "12"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert message in page
    assert raw.replace(">", "&gt;") in page  # the manager's input stays in the field to correct
    assert ClinicSetting.select().count() == 0
    with app.app_context():
        assert clinic_settings.get(app.config, SEVERE) == 14
        assert clinic_settings.get(app.config, "complaint.reply_hours") == 24


def test_full_width_input_from_a_chinese_keyboard_is_understood(app, staff):
    with app.app_context():
        clinic_settings.save(app.config, {"followup.windows_child": "０９：００至１２：００，１４：３０－１９：００"},
                             staff["manager"])
        assert clinic_settings.dump(clinic_settings.setting("followup.windows_child"),
                                    clinic_settings.get(app.config, "followup.windows_child")) \
            == "09:00-12:00, 14:30-19:00"


def test_every_change_is_a_new_version_with_who_and_when(app, staff, as_role):
    manager = as_role("manager")
    assert manager.post(URL, data={SEVERE: "10"}).status_code == 303
    assert manager.post(URL, data={SEVERE: "12"}).status_code == 303
    assert manager.post(URL, data={SEVERE: "12"}).status_code == 303  # no change: no new version
    rows = list(ClinicSetting.select().where(ClinicSetting.key == SEVERE).order_by(ClinicSetting.version))
    assert [(r.version, r.value, r.changed_by_id) for r in rows] == [(1, "10", staff["manager"].id),
                                                                      (2, "12", staff["manager"].id)]
    with app.app_context():
        history = clinic_settings.history(app.config)
        assert [(h.old, h.new, h.changed_by) for h in history] == [("10", "12", "Demo manager"),
                                                                   ("14", "10", "Demo manager")]
        assert clinic_settings.get(app.config, SEVERE) == 12
    page = manager.get(URL).get_data(as_text=True)
    history_html = page[page.index('id="history"'):]
    assert "Demo manager" in history_html and "14" in history_html and "10" in history_html
    assert "Resolve a severe complaint within (working days)" in history_html
    assert "2026" in history_html or "26" in history_html  # the date of the change is shown
    events = AuditEvent.select().where(AuditEvent.object_type == "clinic_setting", AuditEvent.action == "update")
    assert events.count() == 2


def test_page_lists_settings_by_group_with_current_values(app, staff, as_role):
    page = as_role("manager").get(URL).get_data(as_text=True)
    assert "Complaints" in page and "Follow-up calls" in page and "Booking" in page
    assert 'name="complaint.resolve_days.severe"' in page and 'value="14"' in page
    assert "12:00-13:30, 18:00-20:00" in page


@pytest.mark.parametrize("role", ["doctor", "nurse", "frontdesk", "consultant"])
def test_only_the_manager_may_see_or_change_the_rules(app, staff, as_role, role):
    client = as_role(role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={SEVERE: "10"}).status_code == 403
    assert ClinicSetting.select().count() == 0


def test_first_visit_minimum_follows_the_setting(app, staff, make_patient, clinic):
    with app.app_context():
        with pytest.raises(ServiceError, match="at least 60 minutes"):
            booking.book(staff["frontdesk"], make_patient(), clinic["doctors"][0], clinic["chairs"][0],
                         clinic["at"](9), 45, "first", app.config)
        clinic_settings.save(app.config, {"schedule.first_visit_min_minutes": "45"}, staff["manager"])
        appt = booking.book(staff["frontdesk"], make_patient(), clinic["doctors"][0], clinic["chairs"][0],
                            clinic["at"](9), 45, "first", app.config)
        assert appt.end_at - appt.start_at == timedelta(minutes=45)
        clinic_settings.save(app.config, {"schedule.first_visit_min_minutes": "90"}, staff["manager"])
        with pytest.raises(ServiceError, match="at least 90 minutes"):
            booking.book(staff["frontdesk"], make_patient(), clinic["doctors"][0], clinic["chairs"][0],
                         clinic["at"](14), 60, "first", app.config)


def test_warning_score_follows_the_setting(app, staff):
    with app.app_context():
        assert warning_signs({"pain": 5}, app.config) == []
        clinic_settings.save(app.config, {"followup.warning_score": "5"}, staff["manager"])
        assert warning_signs({"pain": 5}, app.config) == ["pain"]


def test_deadlines_without_a_database_use_the_defaults():
    from datetime import date, datetime
    reply, due = complaints.deadlines(datetime(2026, 6, 10, 2, 0), "minor", "Asia/Shanghai")
    assert reply == datetime(2026, 6, 11, 2, 0) and due == add_workdays(date(2026, 6, 10), 3)
