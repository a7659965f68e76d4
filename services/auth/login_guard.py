"""Online guessing limits that a stranger cannot turn against the real user (docs/AUTH.md,
"Lockouts"), after OWASP's "Slow Down Online Guessing Attacks with Device Cookies".

Three limits apply to untrusted attempts (a browser with no device cookie for the account):
- per (account or code, IP address): `PAIR_RULE`, 5 failures in 15 minutes lock that pair only;
- account-wide (or code-wide), whatever the IP: a growing delay (`account_delay`) after 10
  failures, 1, 2, 4, 8, 16 then 30 minutes between guesses;
- per IP address, whatever the account: `services.auth.member_accounts.LOGIN_IP_RULE`.
An attempt refused by a lock is not checked, so it gives the attacker nothing.

A device cookie (signed, 180 days, given at each successful login) makes its browser trusted
for that account: none of the three limits applies, only a per-cookie one (`DEVICE_RULE`: 10
failures in an hour distrust the cookie for an hour). The e-mailed reset code (or the
temporary password) logs in whatever the locks: it is random, single-use and valid 60 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.auth import throttle

PAIR_RULE = throttle.Rule(max_failures=5, window=timedelta(minutes=15), lock=timedelta(minutes=15))
DEVICE_RULE = throttle.Rule(max_failures=10, window=timedelta(hours=1), lock=timedelta(hours=1))
FREE_FAILURES = 10  # account-wide failures before the growing delay starts
MAX_DELAY = timedelta(minutes=30)
DEVICE_COOKIE_AGE = timedelta(days=180)
DEVICE_COOKIE_NAME = "portail_device"


def account_delay(failures: int) -> timedelta | None:
    """The account-wide delay after `failures` untrusted failures: none before 10, then 1, 2,
    4, 8, 16 and 30 minutes. Once at 30 minutes, an attacker gets 2 guesses an hour."""
    if failures < FREE_FAILURES:
        return None
    return min(timedelta(minutes=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


# Counts failures atomically for a growing delay; the lock itself follows account_delay().
_COUNT_ONLY = throttle.Rule(max_failures=10**9, window=timedelta(hours=24), lock=timedelta(0))


def register_growing_failure(key: str, now=None) -> tuple[int, timedelta | None]:
    """One more failure on a subject-wide counter (a code adhérent, an unknown address); sets
    the growing delay. Returns (failures within 24 h, delay). Caller commits."""
    from sqlalchemy import select

    from extensions import db
    from models.base import utcnow
    from models.throttle import ThrottleCounter

    now = now or utcnow()
    throttle.register_failure(key, _COUNT_ONLY, now)
    row = db.session.execute(select(ThrottleCounter).where(ThrottleCounter.key == key)).scalar_one()
    delay = account_delay(row.failures)
    if delay is not None:
        row.locked_until = now + delay
    return row.failures, delay


def subject_hash(subject: str) -> str:
    """A short hash of an address or a code adhérent, for counter keys and device cookies."""
    return hashlib.sha256(subject.encode()).hexdigest()[:48]


def pair_key(kind: str, subject: str, ip: str | None) -> str:
    return f"{kind}-pair:{subject_hash(subject)}:{ip or 'unknown'}"


def device_key(nonce: str) -> str:
    return f"device:{nonce}"


# --------------------------------------------------------------------------- device cookies


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="portail-device-cookie")


def issue_device_token(email: str) -> str:
    """The device cookie's value after a successful login of `email` (its normalised form)."""
    return _serializer().dumps({"a": subject_hash(email), "n": secrets.token_urlsafe(16)})


def device_nonce(token: str | None, email: str | None = None) -> str | None:
    """The cookie's nonce when it is genuine, younger than 180 days, for `email` (any account
    when None) and not distrusted after too many failures; else None."""
    if not token or len(token) > 500:
        return None
    try:
        data = _serializer().loads(token, max_age=int(DEVICE_COOKIE_AGE.total_seconds()))
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return None
    if email is not None and data.get("a") != subject_hash(email):
        return None
    if throttle.locked_for(device_key(data["n"])) is not None:
        return None
    return data["n"]


def register_device_failure(nonce: str) -> bool:
    """A failure from a trusted device; True when the cookie is now distrusted. Caller commits."""
    return throttle.register_failure(device_key(nonce), DEVICE_RULE)
