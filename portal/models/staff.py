"""Staff accounts, their server-side sessions and login attempts."""
import peewee as pw

from portal.models.base import BaseModel, utcnow

ROLES = ("doctor", "nurse", "frontdesk", "consultant", "manager")


class Staff(BaseModel):
    username = pw.CharField(max_length=40, unique=True)
    display_name = pw.CharField(max_length=60)
    role = pw.CharField(max_length=20)
    password_hash = pw.CharField(max_length=200)
    active = pw.BooleanField(default=True)
    locale = pw.CharField(max_length=10, null=True)
    must_change_password = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)
    password_changed_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "staff"

    # flask-login: the session carries the session record's key, not the row id,
    # so ending a session record logs that browser out (see services.auth).
    session_key = None

    def get_id(self):
        return self.session_key

    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.active

    @property
    def is_anonymous(self):
        return False


class StaffSession(BaseModel):
    key_hash = pw.CharField(max_length=64, unique=True)
    staff = pw.ForeignKeyField(Staff, backref="sessions", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)
    ip = pw.CharField(max_length=64, null=True)
    user_agent = pw.CharField(max_length=200, null=True)
    ended_at = pw.DateTimeField(null=True)
    end_reason = pw.CharField(max_length=30, null=True)

    class Meta:
        table_name = "staff_session"


class LoginAttempt(BaseModel):
    username = pw.CharField(max_length=40, index=True)
    ip = pw.CharField(max_length=64, index=True)
    at = pw.DateTimeField(default=utcnow, index=True)
    success = pw.BooleanField()

    class Meta:
        table_name = "login_attempt"
