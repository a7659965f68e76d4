"""The real server (gunicorn, 2 workers, as in the Procfile) under concurrent writes: on the
embedded SQLite database every write request takes the write lock when its transaction begins
(BEGIN IMMEDIATE, app.WriteIntentMiddleware) and queues on busy_timeout instead of answering
500 "database is locked". The same test runs on PostgreSQL when TEST_DATABASE_URL says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import current_app, url_for
from sqlalchemy import func, select

from extensions import db
from models import Employee, User
from tests.conftest import free_port
from tests.factories import make_company, make_member
from tests.web.test_scale_out import SECRET, _request
from tests.web.test_scale_out import _cookie_for as _signed_cookie

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(app, database_url):
    port = free_port()
    env = dict(
        os.environ,
        PORTAIL_ENV="production",
        SECRET_KEY=SECRET,
        DATABASE_URL=database_url,
        SESSION_COOKIE_SECURE="0",
        NIR_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST="1024",
    )
    env.pop("REDIS_URL", None)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "--workers", "2", "--threads", "1", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            try:
                if _request(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _prepare(port: int, cookie: str, path: str) -> tuple[str, str]:
    """GET a page as that browser: its CSRF token and the (possibly renewed) session cookie."""
    status, headers, html = _request(port, path, {"Cookie": cookie})
    assert status == 200, (status, html[:300])
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    name = current_app.config["SESSION_COOKIE_NAME"]
    fresh = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith(name + "=")]
    return token, (fresh[-1].split(";", 1)[0] if fresh else cookie)


def _post(port: int, path: str, cookie: str, token: str, fields: dict) -> int:
    body = urllib.parse.urlencode({"csrf_token": token, **fields})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token}
    return _request(port, path, headers, method="POST", body=body)[0]


def _letters(n: int) -> str:
    """A name suffix without digits: 0 -> "a", 27 -> "bb"..."""
    return "abcdefghijklmnopqrstuvwxyz"[n % 26] * (1 + n // 26)


def test_fifty_hires_from_twenty_browsers_are_all_saved(server):
    company = make_company()
    users = [make_member(company) for _ in range(20)]
    db.session.commit()
    company_code = company.code
    with current_app.test_request_context():
        new_path = url_for("employees.new", code=company_code)
    browsers = [_prepare(server, _signed_cookie(u), new_path) for u in users]

    def hire(i: int) -> int:
        token, cookie = browsers[i % len(browsers)]
        fields = {
            "birth_name": f"Durand{_letters(i)}",
            "first_names": f"Camille{_letters(i)}",
            "sex": "F" if i % 2 else "M",
            "birth_date": "1990-05-17",
            "entry_date": "2026-01-05",
            "contract_nature": "01",
            "job_title": "Vendeuse",
        }
        return _post(server, new_path, cookie, token, fields)

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(hire, range(50)))
    assert [s for s in statuses if s >= 500] == [], statuses
    assert all(s in (200, 302, 303) for s in statuses), statuses
    db.session.expire_all()
    saved = db.session.execute(select(func.count(Employee.id)).where(Employee.company_id == company.id)).scalar_one()
    assert saved == 50


def test_twenty_parallel_account_updates_answer_no_error(server):
    company = make_company()
    users = [make_member(company) for _ in range(20)]
    db.session.commit()
    ids = [u.id for u in users]
    with current_app.test_request_context():
        path = url_for("account.update_profile")
    browsers = [_prepare(server, _signed_cookie(u), path) for u in users]

    def update(i: int) -> int:
        token, cookie = browsers[i]
        fields = {"last_name": f"Nouveau{_letters(i)}", "first_name": "Claire", "job_title": "Gérante"}
        return _post(server, path, cookie, token, fields)

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(update, range(20)))
    assert [s for s in statuses if s >= 500] == [], statuses
    db.session.expire_all()
    names = db.session.execute(select(User.last_name).where(User.id.in_(ids))).scalars().all()
    assert sorted(names) == sorted(f"Nouveau{_letters(i)}" for i in range(20))
