"""Shared model base and helpers. Times are stored as naive UTC and shown in PORTAL_TZ."""
import secrets
from datetime import datetime, timezone

import peewee as pw

from portal.db import db

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_code(length: int = 8) -> str:
    """Opaque record code for URLs; never a row id."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False
