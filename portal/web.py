"""Request helpers shared by blueprints: fragment rendering, form errors, local dates."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_htmx import HTMX
from jinja2_fragments import BlockNotFoundError
from jinja2_fragments.flask import render_block

htmx = HTMX()


def wants_fragment() -> bool:
    """An htmx request that is neither boosted nor a history restore gets only its block."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, **context):
    """The whole page, or — for htmx — only the block whose name matches the target's id."""
    target = htmx.target if wants_fragment() else None
    if target:
        try:
            return render_block(template, target.replace("-", "_"), **context)
        except BlockNotFoundError:  # a target that is not a region of this page: send the page
            pass
    return render_template(template, **context)


def see_other(url: str, message=None, category: str = "success", trigger: str | None = None):
    """After a write: a plain browser gets 303; htmx gets a client redirect."""
    if message:
        flash(message, category)
    if htmx:
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        if trigger:
            resp.headers["HX-Trigger"] = trigger
        return resp
    return redirect(url, 303)


def refuse(error, back: str | None = None):
    """A refused change answers with its reason and a refusal status — 409 when the record moved
    on (services.Conflict), 422 when the input breaks a rule — never a 303 that looks like
    success. htmx shows the reason in the page's #notice region; a plain browser gets a page
    with the reason and a way back."""
    from portal.services import Conflict
    status = 409 if isinstance(error, Conflict) else 422
    message = getattr(error, "message", error)
    if htmx:
        resp = make_response(render_template("notice.html", message=message), status)
        resp.headers["HX-Retarget"] = "#notice"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    back = back or request.referrer or url_for("home.index")
    return make_response(render_template("refused.html", message=message, back=back, code=status), status)


def apply_service_error(form, error) -> None:
    """Show a rule's refusal on the field it names, or on the form as a whole."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = list(target.errors) + [error.message]
    else:
        form.form_errors.append(error.message)


def local_today() -> date:
    return datetime.now(ZoneInfo(current_app.config["PORTAL_TZ"])).date()


def client_ip() -> str:
    return request.remote_addr or ""
