"""One row per numbered series and year (chart, receipt): the last number issued. Taken only
through portal.services.counters, which locks the row (migration 0012)."""
import peewee as pw

from portal.models.base import BaseModel


class Counter(BaseModel):
    name = pw.CharField(max_length=20)
    year = pw.IntegerField()
    value = pw.BigIntegerField()

    class Meta:
        table_name = "counter"
        primary_key = pw.CompositeKey("name", "year")
