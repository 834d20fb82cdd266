"""Demo chairs, shifts and a week of appointments around today, booked through the real service."""
import random
from datetime import date, datetime, time, timedelta

from portal.models import Appointment, Chair, Patient, Staff, new_code
from portal.services import schedule as booking
from portal.services import shifts
from portal.services.schedule import free_slots

CHAIRS = [("1号椅", "诊室一", False), ("2号椅", "诊室二", False), ("3号椅", "诊室三", False), ("VIP室", "VIP诊室", True)]


def seed_schedule(config, staff: list[Staff], today: date, rng: random.Random) -> int:
    if Chair.select().exists():
        return 0
    chairs = [Chair.create(code=new_code(6), name=n, room=r, is_vip=v, sort_order=i) for i, (n, r, v) in enumerate(CHAIRS)]
    doctors = [s for s in staff if s.role == "doctor"]
    monday = today - timedelta(days=today.weekday())
    for i, doctor in enumerate(doctors):
        for weekday in range(6):
            if weekday == 2 + i:  # each doctor has a weekday off
                continue
            shifts.add_pattern(doctor, weekday, time(9), time(12), monday - timedelta(days=28), chair=chairs[i])
            shifts.add_pattern(doctor, weekday, time(13, 30), time(18), monday - timedelta(days=28), chair=chairs[i])
    frontdesk = next(s for s in staff if s.role == "frontdesk")
    patients = list(Patient.select().order_by(Patient.id).limit(400))
    booked = 0
    for offset in range(-3, 8):
        day = today + timedelta(days=offset)
        for doctor in doctors:
            for _ in range(rng.randint(5, 9)):
                kind = rng.choice(["revisit", "revisit", "first", "recall", "followup", "emergency"])
                minutes = config["VISIT_MINUTES"][kind]
                start = datetime.combine(day, time(9)) + timedelta(minutes=15 * rng.randint(0, 34))
                slots = free_slots(doctor, minutes, start, config, days=1, limit=1)
                if not slots or slots[0].start.date() != day:
                    continue
                slot = slots[0]
                try:
                    appt = booking.book(frontdesk, rng.choice(patients), doctor, Chair.get_by_id(slot.chair_id),
                                        slot.start, minutes, kind, config, source=rng.choice(["frontdesk", "phone"]))
                except booking.ServiceError:
                    continue
                booked += 1
                if offset < 0:
                    for status in ("arrived", "seated", "completed"):
                        booking.change_status(appt, status, frontdesk, config, at=appt.start_at)
    # Messages for past visits have done their job; the demo outbox starts with what is still ahead.
    from portal.models import OutboxMessage, utcnow
    OutboxMessage.update(status="sent", sent_at=utcnow()).where(OutboxMessage.status == "pending",
                                                               OutboxMessage.scheduled_at <= utcnow()).execute()
    return booked
