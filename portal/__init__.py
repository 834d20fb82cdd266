"""The clinic portal: create_app() wires config, database, auth, i18n, CSRF and blueprints."""
import os
import secrets
from pathlib import Path

from flask import Flask, g, render_template, request
from flask_babel import Babel
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import access, db
from portal.config import LANGUAGES, from_env, instance_dir

csrf = CSRFProtect()
babel = Babel()


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/secret_key."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def select_locale():
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    chosen = request.cookies.get("lang") if request else None
    return chosen if chosen in LANGUAGES else None


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(instance_dir()), instance_relative_config=True)
    app.config.update(from_env())
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    if int(os.environ.get("TRUSTED_PROXIES", "0")):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(os.environ["TRUSTED_PROXIES"]), x_proto=1)

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    from portal.web import htmx
    htmx.init_app(app)
    from portal.blueprints.auth.views import init_login
    init_login(app)
    app.before_request(access.gate)

    from portal.blueprints import register_blueprints
    register_blueprints(app)
    from portal import submissions, templating
    templating.init_app(app)
    submissions.init_app(app)  # after the access gate: a form key is claimed only for an allowed request
    _error_pages(app)
    _headers(app)
    return app


def _error_pages(app: Flask) -> None:
    def page(code):
        def handler(error):
            return render_template("errors.html", code=code), code
        return handler

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, page(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors.html", code=400, csrf=True), 400


def _headers(app: Flask) -> None:
    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        resp.vary.add("HX-Request")
        if g.get("patient_data") or getattr(current_user, "is_authenticated", False):
            # Patient data is never kept by the browser or a proxy, nor restored from htmx history.
            resp.headers["Cache-Control"] = "no-store"
        return resp
