"""Application factory: configuration, extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import logging
import os

from flask import Flask, abort, g, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import config as config_module
from extensions import csrf, db, limiter, login_manager, mail, migrate
from services.core import database

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


class WriteIntentMiddleware:
    """POST/PUT/PATCH/DELETE open every transaction with BEGIN IMMEDIATE on SQLite (see
    services/core/database.py), so concurrent writers queue on busy_timeout instead of failing with
    "database is locked". Set around the whole WSGI call, before Flask runs any hook: a
    blueprint's before_request that reads the database (the login session) cannot open a
    deferred transaction first, whatever the order in which hooks were registered."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        writes = environ.get("REQUEST_METHOD", "GET").upper() in UNSAFE_METHODS
        token = database.set_write_intent(writes)
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            database.reset_write_intent(token)


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` up to 2**31 - 1 (a PostgreSQL integer, the type of every id): a larger
    number in a URL is a 404, never a database error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits, min, (2**31 - 1) if max is None else max, signed)


def create_app(config=None) -> Flask:
    """Build the app. `config` is a config class, a name ("testing"), or a dict of overrides."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = BoundedIntegerConverter
    overrides = {}
    if isinstance(config, dict):
        overrides = config
        config = overrides.pop("CONFIG", None)
    config_class = config if isinstance(config, type) else config_module.select_config(config)
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    config_module.ensure_secret_key(app.config, app.instance_path)

    from services.core import static_assets

    static_assets.init_app(app)
    app.wsgi_app = WriteIntentMiddleware(app.wsgi_app)
    if app.config["PROXY_FIX_X_FOR"]:
        n = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0, x_port=0, x_prefix=0)

    import models  # noqa: F401  (every table known to SQLAlchemy and Alembic)

    database.configure(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    from services.employees import next_due

    next_due.install()  # the stored next due visit, kept after every flush
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    _register_template_filters(app)
    _register_template_context(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # fpdf2's font subsetting chatter
    return app


def _init_login(app: Flask) -> None:
    from blueprints.login_session import load_request_user

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    # The cookie never carries a user id, only a server-side session token (see
    # blueprints/login_session.py); Flask-Login's own session protection is not relied on.
    login_manager.session_protection = None
    login_manager.user_loader(lambda _user_id: None)
    login_manager.request_loader(load_request_user)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for

        from blueprints.errors import render_error
        from blueprints.htmx import hx_redirect, is_htmx
        from blueprints.navigation import safe_next_path

        if "auth.login" not in app.view_functions:
            return render_error(401, "Connectez-vous pour accéder à cette page.")
        target = url_for("auth.login", next=safe_next_path(request.full_path))
        return hx_redirect(target) if is_htmx() else redirect(target)


def _register_blueprints(app: Flask) -> None:
    """The blueprints, then the member space's navigation entries each one declares
    (`RUBRIQUES` in its package), then the providers that feed other features' screens."""
    from blueprints import (
        account,
        api,
        auth,
        billing,
        companies,
        employees,
        navigation,
        planning,
        public,
        service,
        signup,
        support,
    )

    for package in (public, companies, auth, signup, service, billing, employees, account, support, planning, api):
        app.register_blueprint(package.bp)
        for rubrique in getattr(package, "RUBRIQUES", ()):
            navigation.register(rubrique)
    if app.config.get("DEV_MAILBOX"):  # development-only mailbox; absent (404) in production
        from blueprints.devmail import bp as devmail_bp

        app.register_blueprint(devmail_bp)
    _register_providers()


def _register_providers() -> None:
    """Importing a provider module registers its providers (once per process): the back-office
    dashboard counts and member-page sections (services/staff/dashboard.py) and the "À
    traiter" labels of "Mes entreprises" (services/companies/attention.py)."""
    import services.billing.signals  # noqa: F401  (billing: dashboard, member page, "À traiter")
    import services.staff.dashboard  # noqa: F401  (planning and messages counts, built in)


def _register_cli(app: Flask) -> None:
    from cli import register

    register(app)


def _register_request_hooks(app: Flask) -> None:
    from blueprints import input_guard

    input_guard.init_app(app)  # form encodings only on unsafe requests, before any other hook

    @app.before_request
    def refuse_oversized_bodies():
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            abort(413)

    @app.after_request
    def security_headers(response):
        from blueprints.scoping import commit_remembered_company

        commit_remembered_company()
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        return response


def _register_error_handlers(app: Flask) -> None:
    from blueprints.errors import render_error
    from services import scope

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "La page a expiré. Rechargez-la puis recommencez votre saisie.")

    @app.errorhandler(scope.NotFound)
    def not_in_scope(exc):
        # The scoped loaders' one refusal: no such object, or another company's (same answer).
        return render_error(404)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return render_error(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500)


def _register_template_filters(app: Flask) -> None:
    """Filters every blueprint's templates share: French amounts and dates (Babel)."""
    from services.core import french

    app.add_template_filter(french.format_eur, "eur")  # 1 234,50 €
    app.add_template_filter(french.date_fr, "date_fr")  # 1er décembre 2026
    app.add_template_filter(french.short_date, "fr_date")  # 01/12/2026


def _register_template_context(app: Flask) -> None:
    from functools import lru_cache

    from flask import has_request_context, url_for

    from blueprints.navigation import visible_rubriques

    @lru_cache(maxsize=8192)
    def _cached_url(script_root: str, endpoint: str, items: tuple) -> str:
        return url_for(endpoint, **dict(items))

    def template_url_for(endpoint: str, **values) -> str:
        """url_for for templates, memoized: a page builds 15-30 links, mostly the same ones
        (navigation, static files), and url_for costs ~10 us each (docs/PERFORMANCE.md).
        Only relative URLs of absolute endpoints are memoized: they depend on nothing but the
        endpoint, its values and the script root (the app's url_defaults are pure)."""
        if endpoint.startswith(".") or not has_request_context() or any(k.startswith("_") for k in values):
            return url_for(endpoint, **values)
        try:
            return _cached_url(request.script_root, endpoint, tuple(values.items()))
        except TypeError:  # an unhashable value
            return url_for(endpoint, **values)

    app.jinja_env.globals["url_for"] = template_url_for

    def link(endpoint: str, **values) -> str | None:
        """url_for for an endpoint this deployment has, else None (the template skips it)."""
        return template_url_for(endpoint, **values) if endpoint in app.view_functions else None

    app.jinja_env.globals["link"] = link
    # Whether a static file exists (e.g. an optional icon), from the fingerprint manifest.
    app.jinja_env.globals["has_static"] = lambda path: path in app.extensions.get("static_manifest", {})

    @app.context_processor
    def inject_globals():
        cfg = app.config
        return {
            "service": {
                "name": cfg["SERVICE_NAME"],
                "short_name": cfg["SERVICE_SHORT_NAME"],
                "logo": cfg["SERVICE_LOGO"],
                "address": cfg["SERVICE_ADDRESS"],
                "phone": cfg["SERVICE_PHONE"],
                "support_email": cfg["SERVICE_SUPPORT_EMAIL"],
                "billing_email": cfg["SERVICE_BILLING_EMAIL"],
            },
            "active_company": g.get("company"),
            "active_membership": g.get("membership"),
            "visible_rubriques": visible_rubriques,
            "dev_mailbox": cfg.get("DEV_MAILBOX", False),
        }
