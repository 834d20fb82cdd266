"""The suite's race harness: n threads, each with its own app context and database connection,
released together by a barrier — as n desks clicking at the same instant."""
import threading

from portal.db import db
from portal.services import ServiceError


def race(app, n, work, prepare=None, timeout=120):
    """Run work(i) — or work(i, prepare(i)), prepare running before the barrier (the page each desk
    had loaded) — in n threads released together. Returns (results, errors): results[i] is what
    work returned or the ServiceError (a Conflict too) it raised; errors lists anything else raised
    ('database is locked', a deadlock, an IntegrityError): always a failure."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            with app.app_context():
                prepared = prepare(i) if prepare else None
                barrier.wait()
                results[i] = work(i, prepared) if prepare else work(i)
        except ServiceError as err:
            results[i] = err
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            if not db.is_closed():
                db.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors
