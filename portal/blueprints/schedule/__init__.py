"""Scheduling area: day and week views, appointments, check-in, shifts and chairs, outbox, calendars."""
from flask import Blueprint

bp = Blueprint("schedule", __name__)

from portal.blueprints.schedule import appointments, messages, setup, views  # noqa: E402,F401
