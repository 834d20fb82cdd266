"""Search keys indexed together with the display order's tie-breaker (issue 19).

A search lists a page of patients by one key (name, full pinyin, initials, reversed phone) and
then by id. With the key alone in the index, PostgreSQL had to sort each run of equal keys by id
(an incremental sort: for a common name such as 张伟 that is every 张伟 in the registry) and could
fall back to sorting every match; with (key, id) the index range scan is the page's order and
stops after the page. SQLite already kept the rowid in each index entry; the composite index
reads the same there. The old single-column indexes are dropped: the new ones serve every query
they did (a key is the leading column).
"""

COLUMNS = ("name", "name_pinyin", "name_initials", "phone_rev")


def up(run):
    for column in COLUMNS:
        run(f"DROP INDEX IF EXISTS patient_{column}")
        run(f"CREATE INDEX patient_{column}_id ON patient ({column}, id)")
