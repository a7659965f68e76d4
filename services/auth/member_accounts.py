"""Member accounts: creation from a verified company, login checks with failure limits,
temporary secrets (e-mailed password, reset code) and password changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, Company, Membership
from models.users import User
from services.auth import login_guard, sessions, throttle
from services.auth.passwords import generate_temporary_secret, hash_password, normalise, verify_password
from services.core import audit
from services.core.outbox import queue_mail

TEMP_PASSWORD_TTL = timedelta(hours=72)
RESET_CODE_TTL = timedelta(minutes=60)
PURPOSE_ACCOUNT = "account"
PURPOSE_RESET = "reset"

NEUTRAL_LOGIN_ERROR = "Adresse e-mail ou mot de passe incorrect."
# Failures of one address are forgotten after a day without any.
FAILURE_MEMORY = timedelta(hours=24)
# Failures allowed from one IP, whatever the address (shared offices stay well below it);
# untrusted attempts only (services/auth/login_guard.py).
LOGIN_IP_RULE = throttle.Rule(max_failures=50, window=timedelta(hours=1), lock=timedelta(minutes=30))
# Reset requests per address: beyond this the answer stays the same but no mail is sent.
RESET_RULE = throttle.Rule(max_failures=5, window=timedelta(hours=1), lock=timedelta(hours=1))


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
    from services.companies.switcher import tell_existing_users

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
    device_token: str | None = None  # the new device cookie after a success

    @property
    def ok(self) -> bool:
        return self.user is not None and self.error is None


def _address_key(email: str) -> str:
    return "login:" + login_guard.subject_hash(email)


def _ip_key(ip: str | None) -> str:
    return f"login-ip:{ip or 'unknown'}"


def _locked_message(left: timedelta) -> str:
    return (
        f"Trop de tentatives. Réessayez dans {throttle.minutes_label(left)}, ou recevez un code de "
        "connexion par « Mot de passe oublié ? »."
    )


def _address_lock(user: User | None, email: str, now: datetime) -> timedelta | None:
    if user is not None:
        if user.locked_until is not None and user.locked_until > now:
            return user.locked_until - now
        return None
    return throttle.locked_for(_address_key(email), now)


def _untrusted_lock(user: User | None, email: str, ip: str | None, now: datetime) -> timedelta | None:
    """The longest lock standing between an untrusted browser and this address: the IP's, the
    (address, IP) pair's and the address-wide growing delay."""
    locks = [
        throttle.locked_for(_ip_key(ip), now),
        throttle.locked_for(login_guard.pair_key("login", email, ip), now),
        _address_lock(user, email, now),
    ]
    locks = [x for x in locks if x is not None]
    return max(locks) if locks else None


def _register_address_failure(user: User | None, email: str, now: datetime) -> tuple[int, timedelta | None]:
    """Count an untrusted failure for the address (User fields, or a counter for unknown
    addresses so that both behave alike) and set the growing delay. Returns (failures, delay)."""
    if user is not None:
        if user.last_failed_login_at is None or now - user.last_failed_login_at > FAILURE_MEMORY:
            user.failed_logins = 0
        user.failed_logins = (user.failed_logins or 0) + 1
        user.last_failed_login_at = now
        delay = login_guard.account_delay(user.failed_logins)
        if delay is not None:
            user.locked_until = now + delay
        return user.failed_logins, delay
    return login_guard.register_growing_failure(_address_key(email), now)


def authenticate(
    email: str, password: str, *, ip: str | None, end_read=None, device_token: str | None = None
) -> LoginResult:
    """Check an address and a password (or the pending temporary secret). Every attempt does
    the same hashing work whether the address exists or not. `device_token` is the browser's
    device cookie: when it is genuine and for this address, the attempt is trusted and only the
    cookie's own limit applies; otherwise the (address, IP), address-wide and IP limits apply
    (services/auth/login_guard.py), and while one of them stands even the right password is refused.
    The e-mailed code (or temporary password) logs in whatever the locks. `end_read`, when
    given, is called after the read and before hashing (the route passes `db.session.commit` so
    that no write transaction is held while hashing). Caller commits, also after a failure."""
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
    nonce = login_guard.device_nonce(device_token, email)

    if not temp_ok and nonce is None:
        left = _untrusted_lock(user, email, ip, now)
        if left is not None:
            # Refused unchecked: a guess during a lock tells nothing and counts nothing.
            audit.record("login.locked", actor=user, actor_label=label, ip=ip)
            return LoginResult(error=_locked_message(left), locked=True)

    if user is None or not (password_ok or temp_ok):
        if nonce is not None:
            distrusted = login_guard.register_device_failure(nonce)
            audit.record("login.failed", actor=user, actor_label=label, ip=ip, device=True, distrusted=distrusted)
            return LoginResult(error=NEUTRAL_LOGIN_ERROR)
        failures, delay = _register_address_failure(user, email, now)
        pair_locked = throttle.register_failure(login_guard.pair_key("login", email, ip), login_guard.PAIR_RULE, now)
        ip_locked = throttle.register_failure(_ip_key(ip), LOGIN_IP_RULE, now)
        audit.record("login.failed", actor=user, actor_label=label, ip=ip, failures=failures)
        lefts = [
            delay,
            login_guard.PAIR_RULE.lock if pair_locked else None,
            LOGIN_IP_RULE.lock if ip_locked else None,
        ]
        lefts = [x for x in lefts if x is not None]
        if lefts:
            audit.record("login.locked", actor=user, actor_label=label, ip=ip, failures=failures)
            return LoginResult(error=_locked_message(max(lefts)), locked=True)
        return LoginResult(error=NEUTRAL_LOGIN_ERROR)

    # The address-wide count is kept (it fades 24 h after the last failure): a login of the
    # real user must not hand an attacker a fresh set of guesses. The user's own pair resets.
    throttle.reset(login_guard.pair_key("login", email, ip))
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
        trusted_device=nonce is not None,
        **({"temporary_secret": purpose} if used_temp else {}),
    )
    return LoginResult(user=user, used_temporary_secret=used_temp, device_token=login_guard.issue_device_token(email))


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


def active_company(company_id, code) -> Company | None:
    """The active company with this id and code (both from a signed token), or None."""
    return db.session.execute(
        select(Company).where(Company.id == company_id, Company.code == code, Company.active.is_(True))
    ).scalar_one_or_none()
