"""Lockouts without denial of service (docs/AUTH.md, "Lockouts"): a stranger's wrong guesses
never keep the real user out (known device, or the e-mailed reset code), and an attacker with
as many IP addresses as they like gets a bounded number of guesses per hour per account."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Company, OutboxMessage
from models.base import utcnow
from services.auth import login_guard
from services.auth import member_accounts as accounts
from services.auth import throttle as throttle_module
from services.auth.company_credentials import CompanyCredentialError, verify_company_credentials
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, make_company, make_member

EMAIL = "claire@entreprise.fr"


@pytest.fixture
def member(app):
    app.config["AUTH_RATE_LIMIT"] = "10000 per minute"  # the per-IP HTTP limiter is not under test here
    company = make_company("00010")
    user = make_member(company, email=EMAIL)
    db.session.commit()
    yield user
    app.config.pop("AUTH_RATE_LIMIT", None)


def _post_password(client, password, ip):
    token = csrf_token(client, "/connexion/mot-de-passe")
    return client.post(
        "/connexion/mot-de-passe",
        data={"email": EMAIL, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def _stranger_tries(app, n: int, *, many_ips: bool) -> list[int]:
    stranger = app.test_client()
    return [
        _post_password(stranger, f"devine{i}", f"203.0.113.{(i % 250) + 1}" if many_ips else "203.0.113.66").status_code
        for i in range(n)
    ]


@pytest.mark.parametrize("many_ips", [True, False], ids=["many-ips", "one-ip"])
def test_fifty_wrong_tries_by_a_stranger_do_not_keep_out_a_known_device(client, app, member, many_ips):
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.10").status_code == 303
    assert client.get_cookie(login_guard.DEVICE_COOKIE_NAME) is not None
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/compte")})

    statuses = _stranger_tries(app, 50, many_ips=many_ips)
    assert 429 in statuses  # the stranger is slowed down...
    # ...from one IP only that (address, IP) pair is locked: another browser of the user gets in;
    # from many IPs the address-wide delay also refuses a fresh browser, even the right password,
    fresh = _post_password(app.test_client(), DEFAULT_PASSWORD, "192.0.2.10").status_code
    assert fresh == (429 if many_ips else 303)
    # but the browser the user already logged in from gets in, typo first.
    assert _post_password(client, "faute de frappe", "192.0.2.10").status_code == 422
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.10").status_code == 303


def test_the_emailed_reset_code_logs_in_during_a_lock(client, app, member):
    _stranger_tries(app, 50, many_ips=True)
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.20").status_code == 429
    token = csrf_token(client, "/connexion/reinitialiser")
    client.post("/connexion/reinitialiser", data={"email": EMAIL, "csrf_token": token})
    db.session.commit()
    body = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    code = re.search(r"Code de connexion : (\S+)", body.body_text).group(1)
    response = _post_password(client, code, "192.0.2.20")
    assert response.status_code == 303
    assert response.headers["Location"] == "/connexion/choisir-mot-de-passe"
    assert client.get_cookie(login_guard.DEVICE_COOKIE_NAME) is not None


def test_a_device_cookie_of_another_account_or_forged_is_not_trusted(client, app, member):
    other = make_member(make_company("00020"), email="autre@entreprise.fr")
    db.session.commit()
    assert other.id
    token = csrf_token(client, "/connexion/mot-de-passe")
    client.post(
        "/connexion/mot-de-passe",
        data={"email": "autre@entreprise.fr", "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert client.get_cookie(login_guard.DEVICE_COOKIE_NAME) is not None
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/compte")})
    _stranger_tries(app, 20, many_ips=True)
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.30").status_code == 429
    client.set_cookie(login_guard.DEVICE_COOKIE_NAME, "forged.value.signature")
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.30").status_code == 429


def test_a_known_device_that_guesses_wrong_too_often_is_distrusted(client, app, member):
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.40").status_code == 303
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/compte")})
    _stranger_tries(app, 20, many_ips=True)
    for _ in range(login_guard.DEVICE_RULE.max_failures):
        assert _post_password(client, "mauvais", "192.0.2.40").status_code == 422
    # Distrusted: the untrusted limits (standing after the stranger's tries) apply again.
    assert _post_password(client, DEFAULT_PASSWORD, "192.0.2.40").status_code == 429


class _Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_guess_rate_per_account_is_bounded_whatever_the_number_of_ips(member, monkeypatch):
    """An attacker trying every 10 seconds, each time from a new IP, for 3 hours: at most 15
    guesses checked in the first hour, then 2 an hour (docs/AUTH.md)."""
    clock = _Clock()
    start = clock.now
    monkeypatch.setattr(accounts, "utcnow", clock)
    monkeypatch.setattr(throttle_module, "utcnow", clock)
    checked_at = []
    for i in range(3 * 360):
        clock.now = start + timedelta(seconds=10 * i)
        ip = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
        result = accounts.authenticate(EMAIL, f"devine{i}", ip=ip)
        db.session.commit()
        assert not result.ok
        events = (
            db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.id.desc()).limit(1)
            )
            .scalars()
            .first()
        )
        if events is not None and events.id not in {e for _, e in checked_at}:
            checked_at.append((clock.now - start, events.id))
    per_hour = [sum(1 for t, _ in checked_at if h * 3600 <= t.total_seconds() < (h + 1) * 3600) for h in range(3)]
    assert per_hour[0] <= 15, per_hour
    assert per_hour[1] <= 2 and per_hour[2] <= 2, per_hour
    assert sum(per_hour) >= 15  # the attacker did get their few guesses: the bound is the real one


def test_teledeclarant_lock_is_per_code_and_ip_and_a_member_still_adds_the_company(client, app, member):
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    target = make_company("00030", teledeclarant="WXYZ-2345-6789")
    db.session.commit()
    assert company.id and target.id
    # A stranger hammers the public code from many IPs.
    for i in range(50):
        with pytest.raises(CompanyCredentialError):
            verify_company_credentials("00030", f"FAUX-{i:04d}", ip=f"203.0.113.{i + 1}")
        db.session.commit()
    # Anonymous from a new IP: the code-wide delay stands.
    with pytest.raises(CompanyCredentialError) as refused:
        verify_company_credentials("00030", "WXYZ-2345-6789", ip="192.0.2.50")
    assert refused.value.locked
    db.session.commit()
    # A logged-in member ("Ajouter une entreprise") is not locked out by the stranger.
    user = db.session.get(type(member), member.id)
    assert verify_company_credentials("00030", "WXYZ-2345-6789", ip="192.0.2.50", actor=user).code == "00030"
    # Nor is a browser with a device cookie (it logged in before), on the signup page.
    device = login_guard.issue_device_token(EMAIL)
    assert verify_company_credentials("00030", "WXYZ-2345-6789", ip="192.0.2.50", device_token=device).code == "00030"
