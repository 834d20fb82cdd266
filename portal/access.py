"""Who may do what: one declarative matrix, one decorator per view, deny by default.

Every view declares the action it performs with @allow("action"). A request whose endpoint
declares nothing is refused (and `tests/test_access_matrix.py` fails on such a route).
Record-level rules live in `can()` and run in every loader (`load_or_404`).
"""
from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

ROLES = ("doctor", "nurse", "frontdesk", "consultant", "manager")
ALL_STAFF = frozenset(ROLES)
PUBLIC = "public"          # anyone, signed in or not
SIGNED_IN = "signed_in"    # any active staff account

# action -> roles. Minimum necessary: each role gets what its job needs (DOMAIN.md).
MATRIX: dict[str, frozenset] = {
    PUBLIC: frozenset(),
    SIGNED_IN: ALL_STAFF,
    "patient.search": ALL_STAFF,
    "patient.read": ALL_STAFF,
    "patient.create": frozenset({"frontdesk", "consultant", "manager"}),
    "patient.update": frozenset({"frontdesk", "consultant", "doctor", "manager"}),
    "patient.medical.view": frozenset({"doctor", "nurse", "frontdesk", "manager"}),
    "patient.medical.update": frozenset({"doctor", "frontdesk", "manager"}),
    "patient.id_number.view": frozenset({"frontdesk", "manager"}),
    "patient.consent": frozenset({"frontdesk", "consultant", "manager"}),
    "patient.tag": frozenset({"frontdesk", "consultant", "doctor", "manager"}),
    "family.manage": frozenset({"frontdesk", "consultant", "manager"}),
    "tag.manage": frozenset({"consultant", "manager"}),
    "staff.manage": frozenset({"manager"}),
    "audit.view": frozenset({"manager"}),
    # Lifelong dental record (issue 4). Front desk sees no clinical notes; nurses see the chart and
    # the protocol but do not diagnose or sign; the consultant sees the chart and runs the plan.
    "chart.read": frozenset({"doctor", "nurse", "consultant", "manager"}),
    "chart.write": frozenset({"doctor"}),
    "visit.read": frozenset({"doctor", "nurse", "manager"}),
    "visit.write": frozenset({"doctor"}),
    "visit.sign": frozenset({"doctor"}),
    "visit.start": frozenset({"doctor"}),  # issue 13: from the appointment, by who records clinical data
    # issue 14: record templates and quick phrases: the manager keeps the clinic set, a doctor their own
    "note_template.manage": frozenset({"doctor", "manager"}),
    "protocol.tick": frozenset({"doctor", "nurse"}),
    "catalogue.read": ALL_STAFF,
    "catalogue.manage": frozenset({"manager"}),
    "plan.read": frozenset({"doctor", "nurse", "consultant", "manager"}),
    "plan.manage": frozenset({"doctor", "consultant"}),
    "image.read": frozenset({"doctor", "nurse", "manager"}),
    "image.upload": frozenset({"doctor", "nurse"}),
    "image.release": frozenset({"doctor"}),
    # Consent forms 知情同意书 (issue 14): the nurse prepares a form, the doctor signs it with the patient;
    # the manager keeps the templates; the front desk sees none of it.
    "consent.read": frozenset({"doctor", "nurse", "manager"}),
    "consent.prepare": frozenset({"doctor", "nurse"}),
    "consent.sign": frozenset({"doctor"}),
    "consent.print": frozenset({"doctor", "nurse", "manager"}),
    "consent.templates": frozenset({"manager"}),
    "schedule.view": ALL_STAFF,
    "schedule.mine": frozenset({"doctor"}),
    "appointment.book": frozenset({"frontdesk", "consultant", "doctor", "manager"}),
    "appointment.checkin": frozenset({"frontdesk", "nurse", "doctor", "manager"}),
    "shift.manage": frozenset({"manager"}),
    "chair.manage": frozenset({"manager"}),
    "outbox.view": frozenset({"frontdesk", "consultant", "manager"}),
    "calendar.own": frozenset({"doctor"}),
    # Follow-ups, recalls, complaints and surveys (issue 6): consultants run them, the manager sees all,
    # doctors handle the escalations raised for them, the front desk logs complaints and hands the survey tablet.
    "followup.work": frozenset({"consultant", "manager"}),
    "followup.rules": frozenset({"manager"}),
    "followup.task": frozenset({"doctor", "manager"}),
    "recall.view": frozenset({"frontdesk", "consultant", "manager"}),
    "complaint.create": frozenset({"frontdesk", "consultant", "manager"}),
    "complaint.view": frozenset({"consultant", "manager"}),
    "complaint.manage": frozenset({"consultant", "manager"}),
    "survey.answer": frozenset({"frontdesk", "consultant", "manager"}),
    "survey.results": frozenset({"consultant", "manager"}),
    "survey.manage": frozenset({"manager"}),
    "article.read": frozenset({"doctor", "nurse", "consultant", "manager"}),
    # Printouts and patient links (issue 5). A printout is a disclosure: who may read it may print it.
    "print.report": frozenset({"doctor", "nurse", "consultant", "manager"}),
    "print.instructions": frozenset({"doctor", "nurse", "manager"}),
    "print.quote": frozenset({"doctor", "consultant", "manager"}),
    "print.visit": frozenset({"doctor", "nurse", "manager"}),
    "print.card": ALL_STAFF,
    "print.job": ALL_STAFF,
    "patient_link.manage": frozenset({"frontdesk", "consultant", "doctor", "manager"}),
    # Billing and membership (issue 7). Member data is confidential: no clinical role sees it. The front desk
    # takes payments, the consultant runs membership, the manager approves and keeps gifts and settings.
    "member.view": frozenset({"frontdesk", "consultant", "manager"}),
    "member.benefit": frozenset({"frontdesk", "consultant", "manager"}),
    "member.points": frozenset({"consultant", "manager"}),
    "billing.view": frozenset({"frontdesk", "consultant", "manager"}),
    "billing.take": frozenset({"frontdesk", "manager"}),
    "billing.approve": frozenset({"manager"}),
    "takings.view": frozenset({"frontdesk", "manager"}),
    "gift.issue": frozenset({"frontdesk", "consultant", "manager"}),
    "gift.manage": frozenset({"manager"}),
    "doctor_change.request": frozenset({"frontdesk", "manager"}),
    "doctor_change.approve": frozenset({"manager"}),
    "member.settings": frozenset({"manager"}),
    "clinic.rules": frozenset({"manager"}),  # issue 11: complaint deadlines, first-visit length, call rules
    # Lab cases 技工单 (issue 14): clinical content (work, teeth, shade), never the front desk. The doctor orders and
    # records fitting or remake; the nurse tracks the work (in progress, back); the manager keeps the labs list.
    "lab.read": frozenset({"doctor", "nurse", "consultant", "manager"}),
    "lab.order": frozenset({"doctor"}),
    "lab.progress": frozenset({"doctor", "nurse"}),
    "lab.labs": frozenset({"manager"}),
    # Perio charts (issue 14): a nurse records readings, a doctor confirms; the consultant reads them to
    # explain the treatment; the front desk sees none of it.
    "perio.read": frozenset({"doctor", "nurse", "consultant", "manager"}),
    "perio.record": frozenset({"doctor", "nurse"}),
    "perio.confirm": frozenset({"doctor"}),
    "print.perio": frozenset({"doctor", "nurse", "consultant", "manager"}),
    # Prescriptions (issue 14): the doctor writes, signs and voids; the nurse reads and prints them for the
    # patient; the manager reads them and keeps the drug catalogue. The front desk sees none of it.
    "prescription.read": frozenset({"doctor", "nurse", "manager"}),
    "prescription.write": frozenset({"doctor"}),
    "prescription.print": frozenset({"doctor", "nurse", "manager"}),
    "drug.read": frozenset({"doctor", "nurse", "manager"}),
    "drug.manage": frozenset({"manager"}),
}


def role_may(role: str | None, action: str) -> bool:
    if action == PUBLIC:
        return True
    return role in MATRIX.get(action, ())


def can(user, action: str, record=None) -> bool:
    """Role check plus the record-level rules."""
    if not getattr(user, "is_authenticated", False) or not user.active:
        return action == PUBLIC
    if not role_may(user.role, action):
        return False
    if record is not None and getattr(record, "restricted", False) and action.startswith("patient."):
        # A restricted (privacy-flagged) patient is seen by the manager and their attending doctor.
        return user.role == "manager" or record.attending_doctor_id == user.id
    return True


def allow(action: str):
    """Declare the action a view performs; the before-request gate enforces it."""
    if action not in MATRIX:
        raise KeyError(f"unknown action {action!r}: add it to access.MATRIX")

    def decorate(view):
        view.access_action = action

        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)
        wrapped.access_action = action
        return wrapped
    return decorate


def action_for(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_action", None)


def login_redirect():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        # An htmx request gets a client-side redirect, not a login form inside a fragment.
        resp = current_app.response_class(status=401)
        resp.headers["HX-Redirect"] = target
        return resp
    return redirect(target)


def deny(reason: str = "forbidden", patient=None):
    from portal import audit
    if current_user.is_authenticated:
        audit.record("denied", patient=patient, object_type="route",
                     object_ref=request.endpoint, detail={"path": request.path, "why": reason})
    abort(403)


def gate():
    """before_request: deny by default."""
    if request.endpoint is None:
        return None  # 404/405 from routing
    # A NUL byte is never part of a real code or query; PostgreSQL would refuse it with an error.
    if any("\x00" in str(v) for v in (request.view_args or {}).values()):
        abort(404)
    if any("\x00" in v for _, values in request.args.lists() for v in values):
        abort(400)
    action = action_for(request.endpoint)
    if action is None:
        current_app.logger.error("route %s declares no access action; refused", request.endpoint)
        abort(403)
    if action == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_redirect()
    if current_user.must_change_password and request.endpoint not in (
            "auth.change_password", "auth.logout"):
        return redirect(url_for("auth.change_password"))
    if not can(current_user, action):
        deny("role")
    return None


def load_or_404(model, action: str, **where):
    """Every record load goes through here: 404 what does not exist, 403 what the user may not
    see (after auditing the refusal)."""
    obj = model.get_or_none(**where)
    if obj is None:
        abort(404)
    if not can(current_user, action, obj):
        deny("record", patient=obj if model.__name__ == "Patient" else None)
    return obj


