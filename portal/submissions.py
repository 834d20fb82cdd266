"""One-time form keys: a form submitted twice (a double click, a re-sent POST after a slow
answer) changes things once, and the repeat gets the answer the first submission got.

Every staff form carries `{{ form_key() }}`, a fresh random key per rendering. The first POST
with a key claims it (a committed row in `form_submission`, before the view runs); a repeat that
arrives while the first is still running waits for it, then answers as it did (status, redirect,
htmx headers, body). The conditional updates in the services keep each state change right under
races between different people; this keeps one person's repeated click from being a second
request at all, so nothing is refused that already succeeded.

An answer that cannot be kept (a file download, an error) releases the key: a repeat then runs
as a new submission, as it would without keys. Keys are per staff member and live a day.
"""
import json
import re
import secrets
import time
from datetime import timedelta

from flask import abort, current_app, g, make_response, request
from flask_login import current_user
from markupsafe import Markup
from peewee import IntegrityError

from portal.db import db
from portal.models import FormSubmission, utcnow

FIELD = "form_key"
KEY = re.compile(r"^[0-9a-f]{32}$")
KEPT_HEADERS = ("Location", "Content-Type", "HX-Redirect", "HX-Refresh", "HX-Trigger", "HX-Retarget", "HX-Reswap")
MAX_BODY = 256 * 1024
WAIT_SECONDS = 20.0


def form_key() -> Markup:
    """The hidden field for a staff form: a new key each time the form is drawn. (Pages for
    patients and the sign-in form carry none: keys are kept per staff member.)"""
    if not getattr(current_user, "is_authenticated", False):
        return Markup("")
    return Markup(f'<input type="hidden" name="{FIELD}" value="{secrets.token_hex(16)}">')


def _submitted_key() -> str | None:
    if request.method != "POST" or not getattr(current_user, "is_authenticated", False):
        return None
    key = request.form.get(FIELD, "")
    return key if KEY.match(key) else None


def _claim(key: str) -> bool:
    try:
        with db.atomic():
            FormSubmission.insert(key=key, staff=current_user.id, created_at=utcnow(), status="pending",
                                  headers="{}", body="").execute()
        return True
    except IntegrityError:
        return False


def _replay(row: FormSubmission):
    resp = make_response(row.body, row.response_status)
    for name, value in json.loads(row.headers).items():
        resp.headers[name] = value
    return resp


def before_request():
    key = _submitted_key()
    if key is None:
        return None
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if _claim(key):
            g.form_key = key
            return None
        row = FormSubmission.get_or_none(FormSubmission.key == key)
        if row is not None and row.staff_id != current_user.id:
            abort(400)  # somebody else's key: never hand out another person's answer
        if row is not None and row.status == "done":
            current_app.logger.info("form submitted again: answered as the first time (%s)", request.endpoint)
            return _replay(row)
        if time.monotonic() > deadline:
            abort(409)
        time.sleep(0.05)  # the first submission is still running (or was just released): look again


def after_request(resp):
    key = g.pop("form_key", None)
    if key is None:
        return resp
    keepable = resp.status_code < 500 and not resp.direct_passthrough and not resp.is_streamed
    body = resp.get_data(as_text=True) if keepable else ""
    if keepable and len(body) <= MAX_BODY:
        headers = {name: resp.headers[name] for name in KEPT_HEADERS if name in resp.headers}
        FormSubmission.update(status="done", response_status=resp.status_code, headers=json.dumps(headers),
                              body=body).where(FormSubmission.key == key).execute()
    else:
        FormSubmission.delete().where(FormSubmission.key == key).execute()
    return resp


def teardown_request(_exc):
    key = g.pop("form_key", None)
    if key is not None and not db.is_closed():  # the view raised before any answer: free the key
        FormSubmission.delete().where(FormSubmission.key == key, FormSubmission.status == "pending").execute()


def purge(older_than: timedelta = timedelta(days=1)) -> int:
    return FormSubmission.delete().where(FormSubmission.created_at < utcnow() - older_than).execute()


def init_app(app) -> None:
    app.before_request(before_request)
    app.after_request(after_request)
    app.teardown_request(teardown_request)
    app.jinja_env.globals["form_key"] = form_key
