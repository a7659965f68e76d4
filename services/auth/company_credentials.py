"""Checking a code adhérent and its n° télédéclarant, with failure limits per code and per
IP, a neutral error that never says which field is wrong, and an audit trail."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models.companies import CODE_RE, Company
from services.auth import throttle
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


def verify_company_credentials(code: str, number: str, *, ip: str | None, actor=None) -> Company:
    """Return the active company whose code and n° télédéclarant match, or raise
    CompanyCredentialError. Failures count against the code and the IP. Caller commits
    (also after a failure, so that the counters persist)."""
    code = normalise_code(code)
    keys = [f"ip:{ip or 'unknown'}"]
    if CODE_RE.match(code):
        keys.append(f"code:{code}")
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
        throttle.reset(f"code:{code}")
        return company
    locked = False
    for key in keys:
        rule = throttle.CODE_RULE if key.startswith("code:") else throttle.IP_RULE
        locked = throttle.register_failure(key, rule) or locked
    audit.record("teledeclarant.failed", actor=actor, actor_label=code[:20], ip=ip)
    raise CompanyCredentialError(NEUTRAL_ERROR)
