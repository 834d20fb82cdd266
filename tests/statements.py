"""Counting the SQL statements a request runs: the guard against N+1 queries in tests and benches."""
from portal.db import db


class StatementCounter:
    """Counts statements through peewee's Database.execute_sql (every query the app runs,
    the query builder's and the raw ones alike)."""

    def __init__(self):
        self.count = 0
        self.sql: list[str] = []
        self.original = None

    def __enter__(self):
        self.original = db.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            self.count += 1
            self.sql.append(sql)
            return self.original(sql, params, *args, **kwargs)
        db.obj.execute_sql = counting
        return self

    def __exit__(self, *exc):
        del db.obj.execute_sql  # back to the class's method


def statements_of(client, url) -> int:
    """How many statements one GET of `url` runs (it must answer 200)."""
    return len(statements_run(client, url))


def statements_run(client, url) -> list[str]:
    """The statements one GET of `url` runs (it must answer 200)."""
    with StatementCounter() as counter:
        resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return counter.sql
