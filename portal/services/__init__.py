"""The clinic's rules. No Flask here: views load, check access and call these."""


class ServiceError(Exception):
    """A rule said no. `message` is already in the user's language (lazy gettext)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
