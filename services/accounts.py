"""Member accounts: creation from a verified company, login checks with failure limits,
temporary secrets (e-mailed password, reset code) and password changes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, Company, Membership
from models.throttle import ThrottleCounter
from models.users import User
from services import audit, sessions, throttle
from services.outbox import queue_mail
from services.passwords import generate_temporary_secret, hash_password, normalise, verify_password

TEMP_PASSWORD_TTL = timedelta(hours=72)
RESET_CODE_TTL = timedelta(minutes=60)
PURPOSE_ACCOUNT = "account"
PURPOSE_RESET = "reset"

NEUTRAL_LOGIN_ERROR = "Adresse e-mail ou mot de passe incorrect."
# Failures of one address are forgotten after a day without any.
FAILURE_MEMORY = timedelta(hours=24)
# Failures allowed from one IP, whatever the address (shared offices stay well below it).
LOGIN_IP_RULE = throttle.Rule(max_failures=50, window=timedelta(hours=1), lock=timedelta(minutes=30))
# Reset requests per address: beyond this the answer stays the same but no mail is sent.
RESET_RULE = throttle.Rule(max_failures=5, window=timedelta(hours=1), lock=timedelta(hours=1))
# Only used to count failures atomically; the lock itself follows lock_after().
_COUNT_ONLY = throttle.Rule(max_failures=10**9, window=FAILURE_MEMORY, lock=timedelta(0))


def lock_after(failures: int) -> timedelta | None:
    """The growing delay after `failures` consecutive failures, ending in a 30-minute lock."""
    if failures >= 20:
        return timedelta(minutes=30)
    if failures >= 10:
        return timedelta(minutes=15)
    if failures >= 5:
        return timedelta(minutes=1)
    return None


def normalise_email(email: str) -> str:
    return normalise((email or "").strip()).lower()


def find_user(email: str) -> User | None:
    email = normalise_email(email)
    if not email or len(email) > 254:
        return None
    return db.session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()


def mask_email(email: str) -> str:
    """`jean@entreprise.fr` -> `j***@entreprise.fr`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def addresses_with_access(company: Company) -> list[str]:
    """Masked addresses of the users who already reach the company (directly or via its parent)."""
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    rows = db.session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.company_id.in_(ids), Membership.revoked_at.is_(None), User.active.is_(True))
        .order_by(User.email)
        .distinct()
    ).scalars()
    return [mask_email(e) for e in rows]


# --------------------------------------------------------------------------- account creation


@dataclass
class SignupResult:
    user: User
    created: bool  # False: the address had an account and the company was linked to it


class AccountError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _set_temp_secret(user: User, secret_hash: str, purpose: str, ttl: timedelta, now: datetime) -> None:
    # One temporary secret at a time: a newer one voids the older.
    user.temp_secret_hash = secret_hash
    user.temp_secret_expires_at = now + ttl
    user.temp_secret_purpose = purpose


def _tell_company_users(user, company: Company, role: str) -> None:
    """The company's existing users learn of an access opened with its code (issue 20, item 6),
    as they do after "Ajouter une entreprise"."""
    from services.companies import tell_existing_users

    tell_existing_users(user, company, role)


def create_account_or_link(company: Company, data: dict, as_accountant: bool, actor_ip: str | None) -> SignupResult:
    """Create the user with a temporary password and a membership on `company`, e-mailed per
    the seed; or, when the address already has an account, link the company to it and tell
    the owner. `data`: last_name, first_name, job_title, email, mobile. Caller commits."""
    # Hash before touching the database (no hashing inside a write transaction).
    secret = generate_temporary_secret()
    secret_hash = hash_password(secret)
    role = ROLE_ACCOUNTANT if as_accountant else ROLE_EMPLOYER
    email = normalise_email(data["email"])
    now = utcnow()
    user = find_user(email)
    if user is not None:
        if user.is_staff or not user.active:
            raise AccountError("Cette adresse e-mail ne peut pas être utilisée. Contactez le service.")
        membership = db.session.execute(
            select(Membership).where(Membership.user_id == user.id, Membership.company_id == company.id)
        ).scalar_one_or_none()
        granted = membership is None or membership.revoked_at is not None
        if membership is None:
            db.session.add(Membership(user=user, company=company, role=role))
        elif membership.revoked_at is not None:
            membership.revoked_at, membership.role, membership.grants = None, role, 0
        db.session.flush()
        audit.record(
            "company.linked", actor=user, actor_label=email, company=company, target=user, ip=actor_ip, role=role
        )
        queue_mail(
            user.email,
            f"Votre espace {current_app.config['SERVICE_SHORT_NAME']} : entreprise ajoutée",
            "company_linked",
            user=user,
            company=company,
            role_label="tiers déclarant" if as_accountant else "employeur",
        )
        if granted:
            _tell_company_users(user, company, role)  # after the user's own mail
        return SignupResult(user=user, created=False)

    user = User(
        email=email,
        last_name=data["last_name"],
        first_name=data["first_name"],
        job_title=data["job_title"],
        mobile=data.get("mobile") or None,
        password_hash=None,
        failed_logins=0,
        must_change_password=False,
    )
    _set_temp_secret(user, secret_hash, PURPOSE_ACCOUNT, TEMP_PASSWORD_TTL, now)
    db.session.add(user)
    db.session.add(Membership(user=user, company=company, role=role))
    db.session.flush()
    audit.record("account.created", actor=user, actor_label=email, company=company, target=user, ip=actor_ip, role=role)
    queue_mail(
        user.email,
        f"Votre espace {current_app.config['SERVICE_SHORT_NAME']}",
        "account_created",
        login=user.email,
        password=secret,
        hours=int(TEMP_PASSWORD_TTL.total_seconds() // 3600),
    )
    _tell_company_users(user, company, role)  # after the new user's own mail
    return SignupResult(user=user, created=True)


# --------------------------------------------------------------------------- login


@dataclass
class LoginResult:
    user: User | None = None
    error: str | None = None
    locked: bool = False
    used_temporary_secret: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None and self.error is None


def _address_key(email: str) -> str:
    return "login:" + hashlib.sha256(email.encode()).hexdigest()[:48]


def _ip_key(ip: str | None) -> str:
    return f"login-ip:{ip or 'unknown'}"


def _locked_message(left: timedelta) -> str:
    return f"Trop de tentatives. Réessayez dans {throttle.minutes_label(left)}."


def _address_lock(user: User | None, email: str, now: datetime) -> timedelta | None:
    if user is not None:
        if user.locked_until is not None and user.locked_until > now:
            return user.locked_until - now
        return None
    return throttle.locked_for(_address_key(email), now)


def _register_address_failure(user: User | None, email: str, now: datetime) -> tuple[int, timedelta | None]:
    """Count a failure for the address (User fields, or a counter for unknown addresses so that
    both behave alike) and set the growing delay. Returns (failures, delay)."""
    if user is not None:
        if user.last_failed_login_at is None or now - user.last_failed_login_at > FAILURE_MEMORY:
            user.failed_logins = 0
        user.failed_logins = (user.failed_logins or 0) + 1
        user.last_failed_login_at = now
        delay = lock_after(user.failed_logins)
        if delay is not None:
            user.locked_until = now + delay
        return user.failed_logins, delay
    key = _address_key(email)
    throttle.register_failure(key, _COUNT_ONLY, now)
    row = db.session.execute(select(ThrottleCounter).where(ThrottleCounter.key == key)).scalar_one()
    delay = lock_after(row.failures)
    if delay is not None:
        row.locked_until = now + delay
    return row.failures, delay


def authenticate(email: str, password: str, *, ip: str | None, end_read=None) -> LoginResult:
    """Check an address and a password (or the pending temporary secret). Every attempt does
    the same hashing work whether the address exists or not. Failures grow a delay per address
    and count per IP; while locked even the right password is refused. `end_read`, when given,
    is called after the read and before hashing (the route passes `db.session.commit` so that
    no write transaction is held while hashing). Caller commits, also after a failure."""
    email = normalise_email(email)
    password = password or ""
    now = utcnow()
    user = find_user(email)
    if user is not None and not user.active:
        user = None
    user_id = user.id if user is not None else None
    password_hash = user.password_hash if user else None
    temp_hash = user.temp_secret_hash if user else None
    temp_valid = bool(user and temp_hash and user.temp_secret_expires_at and user.temp_secret_expires_at > now)
    if end_read is not None:
        end_read()

    # Always two verifications: the same work for every address.
    password_ok = verify_password(password_hash, password)
    temp_ok = verify_password(temp_hash, password) and temp_valid

    now = utcnow()
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and temp_ok and user.temp_secret_hash != temp_hash:
        temp_ok = False  # consumed or replaced meanwhile: single use
    label = email[:254]

    ip_left = throttle.locked_for(_ip_key(ip), now)
    address_left = _address_lock(user, email, now)
    if ip_left is not None or address_left is not None:
        if not (password_ok or temp_ok):
            _register_address_failure(user, email, now)
            throttle.register_failure(_ip_key(ip), LOGIN_IP_RULE, now)
        left = max(x for x in (ip_left, address_left) if x is not None)
        audit.record("login.locked", actor=user, actor_label=label, ip=ip)
        return LoginResult(error=_locked_message(left), locked=True)

    if user is None or not (password_ok or temp_ok):
        failures, delay = _register_address_failure(user, email, now)
        ip_locked = throttle.register_failure(_ip_key(ip), LOGIN_IP_RULE, now)
        audit.record("login.failed", actor=user, actor_label=label, ip=ip, failures=failures)
        if delay is not None or ip_locked:
            audit.record("login.locked", actor=user, actor_label=label, ip=ip, failures=failures)
            return LoginResult(error=_locked_message(delay or LOGIN_IP_RULE.lock), locked=True)
        return LoginResult(error=NEUTRAL_LOGIN_ERROR)

    user.failed_logins = 0
    user.locked_until = None
    user.last_failed_login_at = None
    user.last_login_at = now
    used_temp = temp_ok and not password_ok
    if used_temp:
        # Single use: the temporary secret is consumed; the user chooses a password next.
        purpose = user.temp_secret_purpose
        user.temp_secret_hash = user.temp_secret_expires_at = user.temp_secret_purpose = None
        user.must_change_password = True
    audit.record(
        "login.success",
        actor=user,
        actor_label=label,
        ip=ip,
        **({"temporary_secret": purpose} if used_temp else {}),
    )
    return LoginResult(user=user, used_temporary_secret=used_temp)


# --------------------------------------------------------------------------- reset and change


def request_reset(email: str, *, ip: str | None) -> None:
    """E-mail a single-use code valid 60 minutes to the address, if it has an account. The
    current password keeps working; a newer request voids the older code. The same hashing is
    done for unknown addresses. Caller commits."""
    code = generate_temporary_secret(10)
    code_hash = hash_password(code)  # before any database work, for every address
    email = normalise_email(email)
    now = utcnow()
    user = find_user(email)
    if user is not None and not user.active:
        user = None
    key = _address_key(email).replace("login:", "reset:", 1)
    limited = throttle.locked_for(key, now) is not None or throttle.register_failure(key, RESET_RULE, now)
    audit.record(
        "password.reset_requested", actor=user, actor_label=email[:254], ip=ip, sent=bool(user) and not limited
    )
    if user is None or limited:
        return
    _set_temp_secret(user, code_hash, PURPOSE_RESET, RESET_CODE_TTL, now)
    queue_mail(
        user.email,
        f"Votre code de connexion {current_app.config['SERVICE_SHORT_NAME']}",
        "reset_code",
        login=user.email,
        code=code,
        minutes=int(RESET_CODE_TTL.total_seconds() // 60),
    )


def change_password(user: User, new_password_hash: str, *, ip: str | None) -> None:
    """Set the chosen password (hashed by the caller before the write), clear any temporary
    secret and revoke every session of the user (the route opens a fresh one). Caller commits."""
    now = utcnow()
    user.password_hash = new_password_hash
    user.password_changed_at = now
    user.must_change_password = False
    user.temp_secret_hash = user.temp_secret_expires_at = user.temp_secret_purpose = None
    sessions.revoke_all(user)
    audit.record("password.changed", actor=user, actor_label=user.email, target=user, ip=ip)
