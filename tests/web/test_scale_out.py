"""Two app servers (gunicorn) sharing PostgreSQL and Redis behave as one: sessions, logout,
failure limits, rate limits and readiness. Two outbox workers never sending a message twice
is proved in tests/unit/test_outbox_delivery.py (two workers claiming with SKIP LOCKED)."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import current_app

from extensions import db
from services.auth import sessions
from tests.conftest import free_port
from tests.factories import make_company, make_member

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Database 15 (14 for the second xdist worker...): each worker flushes only its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_WORKER_INDEX = int("".join(c for c in _WORKER if c.isdigit()) or 0)
REDIS_URL = f"redis://127.0.0.1:6379/{15 - _WORKER_INDEX % 8}"
SECRET = "scale-out-test-secret-key-0123456789-abcdef"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _needs_postgres_and_redis():
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres")):
        pytest.skip("scale-out test needs TEST_DATABASE_URL on PostgreSQL (several servers share it)")
    if not _redis_answers():
        pytest.skip("scale-out test needs Redis at 127.0.0.1:6379")


def _request(port: int, path: str, headers: dict | None = None, method: str = "GET", body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Gunicorn:
    """One app server: `gunicorn app:create_app()` with one worker, as in the Procfile."""

    def __init__(self, database_url: str, redis_url: str):
        self.port = free_port()
        env = dict(
            os.environ,
            PORTAIL_ENV="production",
            SECRET_KEY=SECRET,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SESSION_COOKIE_SECURE="0",
        )
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen(
            [gunicorn, "--workers", "1", "--bind", f"127.0.0.1:{self.port}", "app:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-2000:]
            try:
                if _request(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    def get(self, path: str, headers: dict | None = None):
        return _request(self.port, path, headers)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def servers(app, database_url):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    started = [
        Gunicorn(database_url, REDIS_URL),
        Gunicorn(database_url, REDIS_URL),
        Gunicorn(database_url, "redis://127.0.0.1:1/0"),
    ]  # nothing listens on port 1
    try:
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def _cookie_for(user) -> str:
    """A signed cookie carrying a new server-side session (the secret is the servers' one)."""
    token = sessions.open_session(user, ip="127.0.0.1", user_agent="pytest scale-out")
    db.session.commit()
    old = current_app.secret_key
    current_app.secret_key = SECRET
    try:
        signer = current_app.session_interface.get_signing_serializer(current_app)
        value = signer.dumps({"sid": token})
    finally:
        current_app.secret_key = old
    return f"{current_app.config['SESSION_COOKIE_NAME']}={value}"


def _member():
    company = make_company()
    user = make_member(company)
    db.session.commit()
    return company, user


def test_readyz_on_both_and_503_without_redis(servers):
    a, b, no_redis = servers
    for server in (a, b):
        status, _, body = server.get("/readyz")
        assert status == 200, body
        assert '"redis":"ok"' in body.replace(" ", "")
    status, _, body = no_redis.get("/readyz")
    assert status == 503
    assert '"database":"ok"' in body.replace(" ", "")
    assert '"redis":"error' in body.replace(" ", "")
    # The process itself is up: /healthz answers even without Redis.
    assert no_redis.get("/healthz")[0] == 200


def test_session_opened_on_one_server_is_valid_on_the_other(servers):
    a, b, _ = servers
    company, user = _member()
    cookie = _cookie_for(user)
    for server in (a, b):
        status, _, body = server.get(f"/entreprises/{company.code}/", {"Cookie": cookie})
        assert status == 200, body[:500]
        assert company.name in body


def _logout(server, cookie: str, code: str) -> None:
    """POST /deconnexion on `server` when the route exists, else revoke through the service."""
    if "auth.logout" in current_app.view_functions:
        from flask import url_for

        with current_app.test_request_context():
            path = url_for("auth.logout")
        status, headers, html = server.get(f"/entreprises/{code}/", {"Cookie": cookie})
        token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        fresh = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith("portail_session=")]
        if fresh:
            cookie = fresh[-1].split(";", 1)[0]
        status, _, _ = _request(
            server.port,
            path,
            {"Cookie": cookie, "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
            body=f"csrf_token={token}",
        )
        assert status in (200, 302, 303), status
    else:
        from sqlalchemy import select

        from models import LoginSession

        row = db.session.execute(select(LoginSession).order_by(LoginSession.id.desc())).scalars().first()
        sessions.revoke(row)
        db.session.commit()


def test_logout_on_one_server_is_effective_on_the_other(servers):
    a, b, _ = servers
    company, user = _member()
    cookie = _cookie_for(user)
    assert b.get(f"/entreprises/{company.code}/", {"Cookie": cookie})[0] == 200
    _logout(a, cookie, company.code)
    for server in (a, b):
        status, _, _ = server.get(f"/entreprises/{company.code}/", {"Cookie": cookie})
        assert status in (302, 401), status


def _form_post(server, page: str, fields: dict, cookie: str | None = None):
    """GET `page` on `server` for a CSRF token and cookie, then POST the form there."""
    from urllib.parse import urlencode

    status, headers, html = server.get(page, {"Cookie": cookie} if cookie else {})
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    fresh = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith("portail_session=")]
    cookie = fresh[-1].split(";", 1)[0] if fresh else cookie
    body = urlencode({**fields, "csrf_token": token.group(1)})
    status, _, html = _request(
        server.port, page, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, "POST", body
    )
    return status, html, cookie


def test_failure_limits_are_global(servers, database_url):
    """Five wrong n° télédéclarant on one server lock the code on the other: the counters live
    in the shared database, not in a process."""
    from services.auth.company_credentials import CompanyCredentialError, verify_company_credentials

    a, b, _ = servers
    company = make_company(teledeclarant="ABCD-EFGH-JKMN")
    db.session.commit()
    if "signup.start" in current_app.view_functions:
        from flask import url_for

        with current_app.test_request_context():
            page = url_for("signup.start")
        for _ in range(5):
            status, _, _ = _form_post(a, page, {"code": company.code, "number": "WRONG-WRON-GWRO"})
            assert status in (422, 429)
        status, html, _ = _form_post(b, page, {"code": company.code, "number": "ABCD-EFGH-JKMN"})
        assert status == 429
        assert "Trop de tentatives" in html
    else:  # the route is not in this tree: two app instances on the shared database
        from app import create_app

        for _ in range(5):
            with pytest.raises(CompanyCredentialError):
                verify_company_credentials(company.code, "WRONG-WRON-GWRO", ip="198.51.100.7")
            db.session.commit()
        other = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
        with other.app_context():
            with pytest.raises(CompanyCredentialError) as locked:
                verify_company_credentials(company.code, "ABCD-EFGH-JKMN", ip="203.0.113.9")
            assert locked.value.locked
            db.session.rollback()
            db.engine.dispose()


def test_request_rate_limit_is_global(servers):
    """Flask-Limiter counts in Redis: the per-IP limit of the login form (30 per minute) used
    up on one server answers 429 on the other."""
    import redis

    assert "auth.login_email" in current_app.view_functions
    from flask import url_for

    with current_app.test_request_context():
        page = url_for("auth.login")
    a, b, _ = servers
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    try:
        status, html, cookie = _form_post(a, page, {"email": "personne@portail-bench.fr"})
        assert status == 200, html[:300]
        statuses = [_form_post(a, page, {"email": "personne@portail-bench.fr"}, cookie)[0] for _ in range(29)]
        assert 429 not in statuses
        status, _, _ = _form_post(b, page, {"email": "personne@portail-bench.fr"}, cookie)
        assert status == 429
    finally:
        r.flushdb()  # the other tests post forms from the same address


def test_rate_limits_are_shared_through_redis(servers, database_url):
    """Both servers' Flask-Limiter use REDIS_URL as storage: a hit counted by one is seen by
    the other."""
    from limits import RateLimitItemPerMinute

    from app import create_app

    apps = [
        create_app(
            {
                "CONFIG": "testing",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": REDIS_URL,
                "RATELIMIT_STORAGE_URI": REDIS_URL,
            }
        )
        for _ in range(2)
    ]
    limiters = [
        next(iter(a.extensions["limiter"])) if isinstance(a.extensions["limiter"], set) else a.extensions["limiter"]
        for a in apps
    ]
    item = RateLimitItemPerMinute(3)
    key = f"scale-out-{uuid.uuid4().hex}"
    for _ in range(3):
        assert limiters[0].limiter.hit(item, key, "198.51.100.7")
    assert not limiters[1].limiter.test(item, key, "198.51.100.7")
    assert not limiters[1].limiter.hit(item, key, "198.51.100.7")
