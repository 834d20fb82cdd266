"""Numbers people read and write down (chart 病历号, receipt) from one locked counter row per name
and year, never from MAX()+1: two desks at the same instant get two numbers, no retry loop.

next_value() must run inside the caller's unit of work (portal.db.unit_of_work): the number is
taken in the same transaction as the row that carries it, so a rolled-back registration gives
its number back. On PostgreSQL the upsert locks the counter row until commit, so concurrent
registrations queue for the few milliseconds the rest of the transaction takes; on SQLite the
unit of work already holds the write lock (BEGIN IMMEDIATE). Migration 0012 seeded the rows
from the numbers issued before, so an upgraded clinic continues its sequence.
"""
from datetime import date

from portal.db import db

NAMES = ("chart", "receipt")


def next_value(name: str, year: int) -> int:
    """The next number of `name` in `year` (1 for the first); the caller's transaction holds it."""
    if name not in NAMES:
        raise ValueError(f"unknown counter {name!r}")
    if not db.in_transaction():
        raise RuntimeError("counters.next_value() runs inside a unit of work")
    p = db.param
    row = db.execute_sql(
        f"INSERT INTO counter (name, year, value) VALUES ({p}, {p}, 1) "
        f"ON CONFLICT (name, year) DO UPDATE SET value = counter.value + 1 RETURNING value",
        (name, int(year))).fetchone()
    return int(row[0])


def chart_no(today: date) -> str:
    """2026000123: the year and its six-digit sequence."""
    return f"{today.year}{next_value('chart', today.year):06d}"


def receipt_no(on: date) -> str:
    """R2026000123: the receipt's year and that year's six-digit sequence."""
    return f"R{on.year}{next_value('receipt', on.year):06d}"
