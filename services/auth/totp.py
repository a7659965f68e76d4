"""Staff second factor: TOTP secrets encrypted at rest, replay-proof codes, recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select, update

from extensions import db
from models.base import utcnow
from models.staff import StaffRecoveryCode
from models.users import User
from services.auth import throttle
from services.core import audit

ISSUER_FALLBACK = "Portail adhérents"
RECOVERY_CODE_COUNT = 10
# Characters for recovery codes typed from paper (no 0/O, 1/I/L).
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# A second factor guessed 5 times in 15 minutes locks that account's verification for 15 min.
TOTP_RULE = throttle.Rule(max_failures=5, window=throttle.CODE_RULE.window, lock=throttle.CODE_RULE.lock)


class SecondFactorError(Exception):
    """The code was refused (message safe to show)."""

    def __init__(self, message: str, *, locked: bool = False):
        super().__init__(message)
        self.message = message
        self.locked = locked


# --------------------------------------------------------------------------- encryption


def _fernet() -> Fernet:
    cfg = current_app.config
    configured = cfg.get("TOTP_ENCRYPTION_KEY")
    if configured:
        return Fernet(configured)
    # Derive a dedicated key from SECRET_KEY: never the raw SECRET_KEY for two purposes.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portail-adherents totp secret").derive(
        cfg["SECRET_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


# --------------------------------------------------------------------------- enrolment


def is_enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret_encrypted is not None


def start_enrolment(user: User) -> str:
    """Give a not-yet-enrolled user a fresh pending secret (encrypted). Returns the secret."""
    if is_enrolled(user):
        raise SecondFactorError("La double authentification est déjà activée.")
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = encrypt_secret(secret)
    user.totp_last_step = None
    audit.record("staff.2fa.enrolment_started", actor=user, target=user)
    return secret


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment not yet confirmed, or None."""
    if is_enrolled(user) or not user.totp_secret_encrypted:
        return None
    return decrypt_secret(user.totp_secret_encrypted)


def provisioning_uri(user: User, secret: str) -> str:
    issuer = current_app.config.get("SERVICE_SHORT_NAME") or ISSUER_FALLBACK
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=f"{issuer} Espace service")


def qr_data_uri(uri: str) -> str:
    """The QR code as an inline SVG data URI, made on the server (no request elsewhere)."""
    qr = segno.make(uri, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=5, border=2, dark="#000", light="#fff", xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str, *, ip: str | None = None) -> list[str]:
    """Check the first code against the pending secret, enable TOTP and return fresh recovery
    codes (shown once). Raises SecondFactorError. Caller commits (also after a failure)."""
    secret = pending_secret(user)
    if secret is None:
        raise SecondFactorError("Aucun enrôlement en cours : recommencez.")
    _check_lock(user, ip)
    if not _accept_totp(user, secret, code):
        _fail(user, ip, "staff.2fa.enrolment_failed")
    user.totp_enabled_at = utcnow()
    throttle.reset(_throttle_key(user))
    codes = _replace_recovery_codes(user)
    audit.record("staff.2fa.enabled", actor=user, target=user, ip=ip)
    return codes


def reset_second_factor(user: User, *, actor: User, ip: str | None = None) -> None:
    """An admin clears a staff user's second factor (lost phone): they enrol again."""
    user.totp_secret_encrypted = None
    user.totp_last_step = None
    user.totp_enabled_at = None
    db.session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.user_id == user.id, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    audit.record("staff.2fa.reset", actor=actor, target=user, ip=ip)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verified:
    method: str  # "totp" | "recovery"
    recovery_codes_left: int | None = None


def verify(user: User, code: str, *, ip: str | None = None) -> Verified:
    """Accept a TOTP code (±1 step, never the same step twice) or an unused recovery code.
    Raises SecondFactorError. Caller commits (also after a failure: counters persist)."""
    if not is_enrolled(user):
        raise SecondFactorError("La double authentification n'est pas encore activée.")
    _check_lock(user, ip)
    cleaned = "".join(code.split()) if code else ""
    if cleaned.isdecimal():
        secret = decrypt_secret(user.totp_secret_encrypted or "")
        if secret is not None and _accept_totp(user, secret, cleaned):
            throttle.reset(_throttle_key(user))
            audit.record("staff.2fa.verified", actor=user, target=user, ip=ip, method="totp")
            return Verified("totp")
    elif cleaned:
        left = _consume_recovery_code(user, cleaned)
        if left is not None:
            throttle.reset(_throttle_key(user))
            audit.record("staff.2fa.verified", actor=user, target=user, ip=ip, method="recovery", left=left)
            return Verified("recovery", left)
    _fail(user, ip, "staff.2fa.failed")
    raise AssertionError("unreachable")  # pragma: no cover


def _throttle_key(user: User) -> str:
    return f"totp:{user.id}"


def _check_lock(user: User, ip: str | None) -> None:
    left = throttle.locked_for(_throttle_key(user))
    if left is not None:
        audit.record("staff.2fa.locked", actor=user, target=user, ip=ip)
        raise SecondFactorError(f"Trop de tentatives. Réessayez dans {throttle.minutes_label(left)}.", locked=True)


def _fail(user: User, ip: str | None, action: str) -> None:
    locked = throttle.register_failure(_throttle_key(user), TOTP_RULE)
    audit.record(action, actor=user, target=user, ip=ip)
    if locked:
        raise SecondFactorError("Trop de tentatives. Réessayez dans 15 minutes.", locked=True)
    raise SecondFactorError("Code incorrect ou déjà utilisé. Saisissez le code affiché par votre application.")


def _accept_totp(user: User, secret: str, code: str, now: float | None = None) -> bool:
    """Valid window 1; the accepted time-step is remembered so that a code is never replayed."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdecimal():
        return False
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            user.totp_last_step = step
            return True
    return False


# --------------------------------------------------------------------------- recovery codes


def _hash_recovery(code: str) -> str:
    normalised = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # ~49 bits
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.user_id == user.id, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(StaffRecoveryCode(user_id=user.id, code_hash=_hash_recovery(code)))
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User, *, ip: str | None = None) -> list[str]:
    codes = _replace_recovery_codes(user)
    audit.record("staff.2fa.recovery_codes_regenerated", actor=user, target=user, ip=ip)
    return codes


def _consume_recovery_code(user: User, code: str) -> int | None:
    """Spend a matching unused code; the number of codes left, or None when none matched."""
    row = db.session.execute(
        select(StaffRecoveryCode).where(
            StaffRecoveryCode.user_id == user.id,
            StaffRecoveryCode.code_hash == _hash_recovery(code),
            StaffRecoveryCode.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    # Conditional update: two concurrent uses of the same code cannot both succeed.
    done = db.session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.id == row.id, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        return None
    return recovery_codes_left(user)


def recovery_codes_left(user: User) -> int:
    from sqlalchemy import func

    return db.session.execute(
        select(func.count())
        .select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.user_id == user.id, StaffRecoveryCode.used_at.is_(None))
    ).scalar_one()
