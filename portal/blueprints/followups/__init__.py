"""Follow-ups area: the consultant's worklist and calls, doctors' urgent tasks, recalls, rules,
satisfaction surveys and care articles."""
from flask import Blueprint

bp = Blueprint("followups", __name__)

from portal.blueprints.followups import views, views_admin, views_surveys  # noqa: E402,F401
