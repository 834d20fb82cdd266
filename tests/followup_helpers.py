"""Helpers for follow-up tests: an appointment taken to 'completed' through the real services."""
from datetime import date, timedelta

from portal.models import Appointment, Chair, Procedure, new_code, utcnow
from portal.services import catalogue as cat
from portal.services import chart_visits as visits
from portal.services import schedule as booking
from portal.services.clock import to_local
from tests.clock import clinic_today


def procedure(code, department, rules=(), name="测试项目"):
    return Procedure.get_or_none(Procedure.code == code) or cat.save_procedure(cat.ProcedureData(
        code=code, name_zh=name, name_en=f"Test {code}", department=department, duration_minutes=30, price_fen=100,
        followup_rules=list(rules)), None)


def complete_visit(app, staff, patient, visit_type="first", procedures=(), doctor=None, actor=None):
    """Book (directly, today), do the procedures on a visit, then arrive → seat → complete."""
    doctor = doctor or staff["doctor"]
    chair = Chair.select().first() or Chair.create(code=new_code(6), name="1号椅")
    # Earlier today (status changes happen on the appointment's day), 21 minutes apart: 20 fit before 07:30.
    start = utcnow() - timedelta(minutes=25) - timedelta(minutes=Appointment.select().count() * 21)
    appt = Appointment.create(code=new_code(), patient=patient, doctor=doctor, chair=chair, start_at=start,
                              end_at=start + timedelta(minutes=20), visit_type=visit_type)
    if procedures:
        visit = visits.open_visit(patient, doctor, clinic_today(), appointment=appt)
        for proc in procedures:
            cat.start(visit, proc, doctor, alerts_seen=True)
    for status in ("arrived", "seated", "completed"):
        booking.change_status(appt, status, actor or staff["nurse"], app.config)
    return Appointment.get_by_id(appt.id)


def local_today(app):
    return to_local(utcnow(), app.config["PORTAL_TZ"]).date()
