"""The clinic's rules. No Flask here: views load, check access and call these."""


class ServiceError(Exception):
    """A rule said no. `message` is already in the user's language (lazy gettext)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class Conflict(ServiceError):
    """The record moved on since the user saw it (another desk, a second click): nothing was
    changed, and `message` says what it is now ("already cancelled by 李芳 at 10:42")."""
