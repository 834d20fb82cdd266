"""Message texts: short, localised, and with no clinical details (no procedures, no doctor's notes)."""
from flask_babel import force_locale, gettext as _

STAFF_TEMPLATES = ("staff_alert", "urgent_task", "complaint_overdue")


def render(template: str, locale: str, ctx: dict) -> str:
    with force_locale(locale):
        clinic = ctx.get("clinic", "")
        when = ctx.get("when", "")
        phone = ctx.get("clinic_phone", "")
        call = _(" Questions or changes: %(phone)s.", phone=phone) if phone else ""
        texts = {
            "booking_confirmation": _("[%(clinic)s] Your appointment is booked for %(when)s.", clinic=clinic, when=when),
            "reminder_day_before": _("[%(clinic)s] Reminder: your appointment is tomorrow, %(when)s.",
                                     clinic=clinic, when=when),
            "reminder_hours_before": _("[%(clinic)s] See you today at %(when)s.", clinic=clinic, when=when),
            "change_notice": _("[%(clinic)s] Your appointment has moved to %(when)s.", clinic=clinic, when=when),
            "cancellation_notice": _("[%(clinic)s] Your appointment on %(when)s is cancelled.",
                                     clinic=clinic, when=when),
            "no_show_followup": _("[%(clinic)s] We missed you on %(when)s. Reply or call us to book a new time.",
                                  clinic=clinic, when=when),
            "staff_alert": _("[%(clinic)s] %(text)s", clinic=clinic, text=ctx.get("text", "")),
            "urgent_task": _("[%(clinic)s] Urgent: a follow-up call found warning signs. Please open your tasks in the portal.",
                             clinic=clinic),
            "complaint_overdue": _("[%(clinic)s] A complaint is past its deadline. Please open Complaints in the portal.",
                                   clinic=clinic),
            "followup_unreached": _("[%(clinic)s] We tried to call you about your recent visit. If anything troubles you, "
                                    "please call us.", clinic=clinic),
            "patient_link": _("[%(clinic)s] Your personal link to view your records: %(url)s (valid until %(expires)s).",
                              clinic=clinic, url=ctx.get("url", ""), expires=ctx.get("expires", "")),
            "recall_reminder": _("[%(clinic)s] It is time for your regular dental check-up. Reply or call us to book.",
                                 clinic=clinic),
            "tier_reached": _("[%(clinic)s] Welcome to your new membership level. Your gift is waiting at the front desk.",
                              clinic=clinic),
            "points_expiring": _("[%(clinic)s] Some of your points expire on %(date)s.", clinic=clinic,
                                 date=ctx.get("date", "")),
            "birthday_greeting": _("[%(clinic)s] Happy birthday! A small gift is waiting for you at the front desk.",
                                   clinic=clinic),
        }
        if template not in texts:
            raise KeyError(f"unknown message template {template!r}")
        return texts[template] + ("" if template in STAFF_TEMPLATES else call)


def subject(template: str, locale: str, clinic: str) -> str:
    with force_locale(locale):
        return _("%(clinic)s: your appointment", clinic=clinic)
