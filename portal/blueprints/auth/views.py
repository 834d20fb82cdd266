"""Sign in and out, change one's own password, choose the language."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user

from portal import audit
from portal.access import PUBLIC, SIGNED_IN, allow
from portal.blueprints.auth.forms import ChangePasswordForm, LoginForm
from portal.services import ServiceError
from portal.services import auth as auth_service
from portal.services import staff as staff_service
from portal.web import apply_service_error, client_ip, render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


def init_login(app):
    login_manager.init_app(app)
    login_manager.session_protection = None  # our own session records do this job

    @login_manager.user_loader
    def load(session_key):
        return auth_service.resume_session(session_key, current_app.config)


def _safe_next(target: str | None) -> str:
    """Only a local path, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            staff = auth_service.authenticate(form.username.data, form.password.data, client_ip(),
                                              current_app.config)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            session.clear()  # a new session id at every login: no fixation
            auth_service.start_session(staff, client_ip(), request.user_agent.string)
            login_user(staff)
            return redirect(_safe_next(request.args.get("next")), 303)
    status = 200 if request.method == "GET" or not form.errors and not form.form_errors else 422
    return render("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@allow(SIGNED_IN)
def logout():
    auth_service.end_session(current_user.get_id())
    audit.record("logout", object_type="staff", object_ref=current_user.username)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@allow(SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth_service.change_password(current_user, form.current_password.data, form.password.data,
                                         keep_key=current_user.get_id())
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            flash(_("Password changed. Your other sessions were signed out."), "success")
            return redirect(url_for("home.index"), 303)
    return render("auth/password.html", form=form)


@bp.route("/language/<code>", methods=["POST"])
@allow(PUBLIC)
def set_language(code):
    languages = current_app.config["LANGUAGES"]
    if code not in languages:
        flash(_("Unknown language."), "error")
        return redirect(url_for("home.index"), 303)
    if current_user.is_authenticated:
        staff_service.set_locale(current_user, code, languages)
    resp = make_response(redirect(_safe_next(request.form.get("next")), 303))
    resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return resp
