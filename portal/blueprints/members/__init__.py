"""Members area (issue 7): billing at the desk, the member list and card, points, benefits,
referrals, gifts, change-of-doctor requests and the manager's settings."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user

bp = Blueprint("members", __name__)

from portal.blueprints.members import views, views_admin, views_billing, views_receipt  # noqa: E402,F401


@bp.app_context_processor
def _desk_tasks():
    """For the small include on the desk's home page: gifts to hand over, queried only if shown."""
    def desk_tasks():
        if getattr(current_user, "role", None) not in ("frontdesk", "consultant", "manager"):
            return []
        from portal.services.members import open_tasks
        return open_tasks()
    return {"desk_tasks": desk_tasks}


def _link_section(patient, config, today):
    from portal.services.members import for_patient_link
    return for_patient_link(patient, config, today)


@bp.record_once
def _register_link_section(state):
    from portal.services import patient_links
    patient_links.register_section("membership", _l("Membership"), "members/_link_section.html", _link_section)
