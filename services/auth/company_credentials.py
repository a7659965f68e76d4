"""Checking a code adhérent and its n° télédéclarant, with failure limits per code and per
IP, a neutral error that never says which field is wrong, and an audit trail."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models.companies import CODE_RE, Company
from services.auth import login_guard, throttle
from services.core import audit
from services.core.credentials import check_teledeclarant, hash_teledeclarant

NEUTRAL_ERROR = "Code adhérent et/ou n° télédéclarant incorrect"


class CompanyCredentialError(Exception):
    """The pair is wrong, or too many attempts were made (message is safe to show)."""

    def __init__(self, message: str, *, locked: bool = False):
        super().__init__(message)
        self.message = message
        self.locked = locked


def normalise_code(code: str) -> str:
    return (code or "").strip()


def _limits(code: str, ip: str | None, actor, device_token: str | None) -> tuple[list[str], str | None]:
    """(lock keys to check, the trusted identity or None). A logged-in user or a browser with a
    device cookie is trusted: only its own (code, identity) counter applies, so that a stranger
    hammering a public code adhérent does not lock the real member out. Others face the (code,
    IP) pair, the code-wide growing delay and the IP limit (services/auth/login_guard.py)."""
    identity = None
    if actor is not None and getattr(actor, "id", None) is not None:
        identity = f"user:{actor.id}"
    else:
        nonce = login_guard.device_nonce(device_token)
        identity = f"device:{nonce}" if nonce else None
    if identity is not None:
        return [login_guard.pair_key("code", code, identity)], identity
    keys = [f"ip:{ip or 'unknown'}", login_guard.pair_key("code", code, ip)]
    if CODE_RE.match(code):
        keys.append(f"code:{code}")
    return keys, None


def verify_company_credentials(
    code: str, number: str, *, ip: str | None, actor=None, device_token: str | None = None
) -> Company:
    """Return the active company whose code and n° télédéclarant match, or raise
    CompanyCredentialError. Failures count against the limits of `_limits`. Caller commits
    (also after a failure, so that the counters persist)."""
    code = normalise_code(code)
    keys, identity = _limits(code, ip, actor, device_token)
    for key in keys:
        left = throttle.locked_for(key)
        if left is not None:
            audit.record("teledeclarant.locked", actor=actor, actor_label=code[:20], ip=ip)
            raise CompanyCredentialError(
                f"Trop de tentatives. Réessayez dans {throttle.minutes_label(left)}.", locked=True
            )
    company = None
    if CODE_RE.match(code):
        company = db.session.execute(
            select(Company).where(Company.code == code, Company.active.is_(True))
        ).scalar_one_or_none()
    stored = company.teledeclarant_hash if company is not None else None
    if company is None:
        hash_teledeclarant(code, number or "")  # same work whether the code exists or not
    if company is not None and check_teledeclarant(code, number or "", stored):
        throttle.reset(keys[0] if identity else login_guard.pair_key("code", code, ip))
        return company
    for key in keys:
        if key.startswith("code:"):
            login_guard.register_growing_failure(key)
        elif key.startswith("ip:"):
            throttle.register_failure(key, throttle.IP_RULE)
        else:
            throttle.register_failure(key, throttle.CODE_RULE)
    audit.record("teledeclarant.failed", actor=actor, actor_label=code[:20], ip=ip, trusted=identity is not None)
    raise CompanyCredentialError(NEUTRAL_ERROR)
