"""The clinic's rules a manager edits on screen (issue 11): every change is a new row, so the
history of each setting stays visible. The current value of a key is its highest version."""
import peewee as pw

from portal.models.base import BaseModel, utcnow
from portal.models.staff import Staff


class ClinicSetting(BaseModel):
    key = pw.CharField(max_length=60)
    value = pw.CharField(max_length=200)
    version = pw.IntegerField()  # 1, 2, 3… per key; unique with the key, so two saves cannot both be "next"
    changed_by = pw.ForeignKeyField(Staff, null=True, backref="+", on_delete="SET NULL")
    changed_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "clinic_setting"
        indexes = ((("key", "version"), True),)
