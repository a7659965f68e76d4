"""Shared fixtures: the app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), a clean
database per test, logins, query counting, a local SMTP server, a live server and Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app import create_app
from extensions import db
from services.auth import sessions

# --------------------------------------------------------------------------- database


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url(base: str) -> str:
    """A database of our own per xdist worker, created fresh on the server of `base`."""
    import psycopg

    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"{url.database}_{_worker_suffix()}"
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        return _postgres_url(base)
    path = tmp_path_factory.mktemp("db") / f"portail-{_worker_suffix()}.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def app(database_url):
    from flask_migrate import upgrade

    application = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    with application.app_context():
        # The schema comes only from the Alembic migrations, as in production.
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def _clean_all_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _app_context(app):
    """Every test runs in an app context on an empty database."""
    with app.app_context():
        yield
        db.session.remove()
        _clean_all_tables()
    limiter = app.extensions.get("limiter")
    if limiter:
        for lim in limiter if isinstance(limiter, set) else [limiter]:
            lim.reset()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh app context (its own `g` and database session), as in
    production, instead of reusing the test's context."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: the request must see what the test wrote, and
        # on SQLite a read snapshot kept across a request's commit could not write afterwards.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --------------------------------------------------------------------------- logins


def login(client, user) -> str:
    """Log `user` in on `client` by opening a server-side session (no form involved)."""
    token = sessions.open_session(user, ip="127.0.0.1", user_agent="pytest")
    db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session["sid"] = token
    return token


@pytest.fixture
def login_as(client):
    def _login(user):
        return login(client, user)

    return _login


def csrf_token(client, path: str = "/") -> str:
    """Fetch a page and read the CSRF token the layout puts on <body>."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


# --------------------------------------------------------------------------- query counting


@contextmanager
def count_queries():
    """Count SQL statements sent to the database inside the block: `with count_queries() as q`."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --------------------------------------------------------------------------- SMTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPSink:
    """Collects the messages a real SMTP conversation delivered (aiosmtpd)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": msg})
        return "250 Message accepted for delivery"

    def bodies(self):
        return [m["message"].get_body(preferencelist=("plain",)).get_content() for m in self.messages]

    def wait_for(self, count: int, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server(app):
    from aiosmtpd.controller import Controller

    sink = SMTPSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    old = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    app.extensions["mail"].server = "127.0.0.1"
    app.extensions["mail"].port = port
    sink.port = port
    sink.controller = controller
    yield sink
    controller.stop()
    app.config.update(MAIL_SERVER=old[0], MAIL_PORT=old[1])
    app.extensions["mail"].server, app.extensions["mail"].port = old


# --------------------------------------------------------------------------- live server & browser


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP in a thread, on the test database."""
    from werkzeug.serving import make_server

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/test.sh, which installs it")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


def _new_page(browser, live_server, *, javascript: bool, width: int = 1280):
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=javascript,
        viewport={"width": width, "height": 900},
        locale="fr-FR",
    )
    context.set_default_timeout(10_000)
    return context, context.new_page()


@pytest.fixture
def page(browser, live_server):
    """A Chromium page with JavaScript (htmx) on."""
    context, pg = _new_page(browser, live_server, javascript=True)
    yield pg
    context.close()


@pytest.fixture
def page_nojs(browser, live_server):
    """A Chromium page with JavaScript off: every journey must still work."""
    context, pg = _new_page(browser, live_server, javascript=False)
    yield pg
    context.close()


@pytest.fixture
def mobile_page(browser, live_server):
    """A 360 px wide page."""
    context, pg = _new_page(browser, live_server, javascript=True, width=360)
    yield pg
    context.close()


def browser_login(page, live_server, user) -> None:
    """Put a server-side session cookie for `user` in the browser context (no form)."""
    from flask import current_app

    token = sessions.open_session(user, ip="127.0.0.1", user_agent="playwright")
    db.session.commit()
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    cookie = serializer.dumps({"sid": token})
    page.context.add_cookies(
        [{"name": current_app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server.url}]
    )


def axe_check(page, *, context: str = "") -> None:
    """Run axe-core on the page and fail on any violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response.get("violations", [])
    assert not violations, f"axe violations {context}:\n" + results.generate_report()


def page_checks(page, *, context: str = "") -> None:
    """The per-page checks of the definition of done: axe, one <h1>, no horizontal scroll."""
    axe_check(page, context=context)
    assert page.locator("h1").count() == 1, f"expected exactly one <h1> {context}"


def screenshot(page, name: str) -> None:
    """Write a screenshot for the docs (docs/screenshots/NAME.png) when SCREENSHOTS=1."""
    if os.environ.get("SCREENSHOTS") == "1":
        root = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "screenshots")
        os.makedirs(root, exist_ok=True)
        page.screenshot(path=os.path.join(root, f"{name}.png"), full_page=True)
