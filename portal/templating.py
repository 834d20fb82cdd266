"""Jinja filters and globals: local dates, money, masking, role-aware navigation."""
from flask import request, url_for
from flask_babel import format_date, format_datetime, get_locale, lazy_gettext as _l
from flask_login import current_user

from portal import labels
from portal.access import can as _can
from portal.audit import ACTION_LABELS
from portal.services.identity import age_on, mask_id_number, mask_phone

# (endpoint, label, action): each role sees the entries its actions allow.
# The top bar: plain links, then menus that group a job's pages so the bar fits one line on a
# 1024 px tablet. Every *_NAV list is (endpoint, label, action); the role walk test reads them all.
MAIN_NAV = [
    ("home.index", _l("Home"), "signed_in"),
    ("patients.index", _l("Patients"), "patient.search"),
    ("patients.new", _l("Register"), "patient.create"),
]
SCHEDULE_NAV = [
    ("schedule.day", _l("Schedule"), "schedule.view"),
    ("schedule.mine", _l("My day"), "schedule.mine"),
    ("schedule.checkin", _l("Check-in"), "appointment.checkin"),
    ("schedule.outbox_list", _l("Messages"), "outbox.view"),
]
CARE_NAV = [
    ("followups.index", _l("Follow-ups"), "followup.work"),
    ("followups.recall_list", _l("Recalls"), "recall.view"),
    ("complaints.index", _l("Complaints"), "complaint.create"),
    ("chart.lab_overdue", _l("Lab cases"), "lab.read"),
]
MEMBER_NAV = [
    ("members.index", _l("Membership"), "member.view"),
]
# Set-up pages, under one "Clinic" menu.
ADMIN_NAV = [
    ("admin.staff", _l("Staff"), "staff.manage"),
    ("schedule.shift_plan", _l("Shifts"), "shift.manage"),
    ("schedule.chairs", _l("Chairs and rooms"), "chair.manage"),
    ("admin.tags", _l("Tags"), "tag.manage"),
    ("chart.catalogue", _l("Catalogue"), "catalogue.read"),
    ("admin.audit_trail", _l("Audit trail"), "audit.view"),
    ("followups.rules", _l("Follow-up rules"), "followup.rules"),
    ("members.settings_page", _l("Membership settings"), "member.settings"),
    ("admin.rules", _l("Clinic rules"), "clinic.rules"),
    ("chart.drug_list", _l("Drug catalogue"), "drug.manage"),  # issue 14: prescriptions
    ("chart.labs", _l("Labs"), "lab.labs"),
]
# (menu title or None for plain links, entries). A menu the role sees one entry of becomes a link.
NAV_BAR = [(None, MAIN_NAV), (_l("Appointments"), SCHEDULE_NAV), (_l("Patient care"), CARE_NAV),
           (None, MEMBER_NAV), (_l("Clinic"), ADMIN_NAV)]

ROLE_LABELS = {"doctor": _l("Doctor"), "nurse": _l("Nurse"), "frontdesk": _l("Front desk"),
               "consultant": _l("Consultant"), "manager": _l("Manager")}
SEX_LABELS = {"F": _l("Female"), "M": _l("Male")}
STATUS_LABELS = {"booked": _l("Booked"), "arrived": _l("Arrived"), "seated": _l("Seated"),
                 "completed": _l("Completed"), "no_show": _l("No-show"), "cancelled": _l("Cancelled"),
                 "rescheduled": _l("Rescheduled")}
MESSAGE_LABELS = {"booking_confirmation": _l("Booking confirmation"), "reminder_day_before": _l("Reminder the day before"),
                  "reminder_hours_before": _l("Reminder the same day"), "change_notice": _l("Change notice"),
                  "cancellation_notice": _l("Cancellation notice"), "no_show_followup": _l("Missed-visit message"),
                  "staff_alert": _l("Staff alert")}
OUTBOX_STATUS_LABELS = {"failed": _l("Failed"), "pending": _l("Queued"), "sending": _l("Sending"),
                        "sent": _l("Sent"), "skipped": _l("Not sent"), "cancelled": _l("Cancelled")}
# The button that moves an appointment into a status says what the person does.
NEXT_ACTION_LABELS = {"arrived": _l("Check in"), "seated": _l("Seat"), "completed": _l("Complete")}


def money(fen: int | None) -> str:
    """Integer fen to ¥1,234.50."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def init_app(app):
    env = app.jinja_env
    env.filters.update(
        dt=lambda v, fmt="short": format_datetime(v, fmt) if v else "",
        d=lambda v, fmt="medium": format_date(v, fmt) if v else "",
        money=money, mask_id=mask_id_number, mask_phone=mask_phone,
        # one language per page (portal/labels.py): a stored key in the reader's words
        label=labels.label, keys_text=labels.keys_text, topic_text=labels.topic_text,
    )

    from portal.blueprints.patients.forms import CHANNEL_CHOICES, TIME_CHOICES
    from portal.blueprints.schedule.forms import VISIT_TYPE_CHOICES, WEEKDAY_CHOICES

    def nav(entries):
        if not getattr(current_user, "is_authenticated", False):
            return []
        return [(ep, label, request.endpoint == ep) for ep, label, action in entries
                if ep in app.view_functions and _can(current_user, action)]

    def nav_bar():
        """[(menu title or None, [(endpoint, label, active)])] for the signed-in user."""
        bar = []
        for title, entries in NAV_BAR:
            granted = nav(entries)
            if title is None or len(granted) == 1:
                bar += [(None, [entry]) for entry in granted]
            elif granted:
                bar.append((title, granted))
        return bar

    # Globals rather than a context processor, so imported macros see them too.
    env.globals.update(
        channel_labels=dict(CHANNEL_CHOICES), time_labels=dict(TIME_CHOICES),
        can=lambda action, record=None: _can(current_user, action, record),
        nav_bar=nav_bar, role_labels=ROLE_LABELS, action_labels=ACTION_LABELS, status_labels=STATUS_LABELS, next_action_labels=NEXT_ACTION_LABELS,
        message_labels=MESSAGE_LABELS, outbox_status_labels=OUTBOX_STATUS_LABELS,
        visit_type_labels=dict(VISIT_TYPE_CHOICES),
        # Plain strings in the current language, for templates that repeat a label hundreds of times.
        visit_type_labels_str=lambda: {k: str(v) for k, v in VISIT_TYPE_CHOICES},
        status_labels_str=lambda: {k: str(v) for k, v in STATUS_LABELS.items()}, weekday_labels=dict(WEEKDAY_CHOICES), sex_labels=SEX_LABELS, age_on=age_on,
        clinic_name=app.config["CLINIC_NAME"],
        localized=labels.localized, rule_name=labels.rule_name, bill_line_text=labels.bill_line_text,
        desk_task_text=labels.desk_task_text, gift_reason_text=labels.gift_reason_text,
        audit_detail_text=labels.audit_detail_text, audit_ref_text=labels.audit_ref_text, applies_words=labels.applies_words,
    )

    @app.context_processor
    def locale_():
        current = get_locale()
        return {"locale": "zh_CN" if current is None or current.language == "zh" else "en"}
