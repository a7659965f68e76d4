"""Mon compte and Utilisateurs: company coordinates, profile, e-mail and password changes,
login sessions, and who may act for a company (memberships and invitations)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.base import utcnow
from models.companies import ROLE_EMPLOYER, ROLE_LABELS, ROLES, Company, Membership
from models.support import EmailChangeRequest, Invitation
from models.users import LoginSession, User
from services import scope
from services.auth import sessions
from services.auth.passwords import hash_password, password_problems, verify_password
from services.core import audit
from services.core.outbox import queue_mail

EMAIL_CHANGE_TTL = timedelta(hours=24)
INVITATION_TTL = timedelta(hours=72)

# Company fields the employer may change, with their French labels (history and e-mails).
COMPANY_FIELDS = {
    "address": "Adresse",
    "postal_code": "Code postal",
    "city": "Ville",
    "phone": "Téléphone",
    "email": "Adresse e-mail",
    "naf": "Code NAF",
    "invoice_contact_name": "Contact factures – nom",
    "invoice_contact_email": "Contact factures – e-mail",
    "convocation_contact_name": "Contact convocations – nom",
    "convocation_contact_email": "Contact convocations – e-mail",
}
PROFILE_FIELDS = {"last_name": "Nom", "first_name": "Prénom", "job_title": "Fonction", "mobile": "Mobile"}

LAST_EMPLOYER_MESSAGE = (
    "L'entreprise doit toujours avoir au moins un employeur : désignez d'abord un autre "
    "employeur avant de retirer ou de modifier cet accès."
)


class AccountError(ValueError):
    """A refused operation; the message is French and meant for the user."""


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _link(path: str) -> str:
    return current_app.config["PORTAL_BASE_URL"] + path


def format_naf(naf: str | None) -> str:
    """`6201Z` shown as `62.01Z`."""
    return f"{naf[:2]}.{naf[2:]}" if naf and len(naf) == 5 else (naf or "")


# --------------------------------------------------------------------------- company coordinates


def update_company(company: Company, data: dict, actor: User, *, ip: str | None = None) -> dict:
    """Apply the changed coordinates, audit old and new values, tell the service. Returns
    {field: [old, new]} (empty when nothing changed)."""
    changes = {}
    for name in COMPANY_FIELDS:
        if name not in data:
            continue
        new = data[name] or None
        old = getattr(company, name)
        if new != old:
            changes[name] = [old, new]
            setattr(company, name, new)
    if not changes:
        return changes
    audit.record("company.updated", actor=actor, company=company, target=company, ip=ip, changes=changes)
    queue_mail(
        current_app.config["SERVICE_SUPPORT_EMAIL"],
        f"Coordonnées modifiées – {company.label}",
        "account_company_updated",
        company=company,
        actor=actor,
        changes=[(COMPANY_FIELDS[k], v[0], v[1]) for k, v in changes.items()],
    )
    db.session.flush()
    return changes


@dataclass
class HistoryEntry:
    created_at: datetime
    actor_name: str
    changes: list[tuple[str, str | None, str | None]]


def company_history(company: Company, limit: int = 50) -> list[HistoryEntry]:
    """The latest changes of coordinates, newest first, in one query."""
    rows = db.session.execute(
        select(AuditEvent, User.first_name, User.last_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.company_id == company.id, AuditEvent.action == "company.updated")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    entries = []
    for event, first, last in rows:
        changes = (event.details or {}).get("changes", {})
        entries.append(
            HistoryEntry(
                created_at=event.created_at,
                actor_name=f"{first} {last}" if first else "Le service",
                changes=[(COMPANY_FIELDS.get(k, k), v[0], v[1]) for k, v in changes.items()],
            )
        )
    return entries


# --------------------------------------------------------------------------- profile


def update_profile(user: User, data: dict, *, ip: str | None = None) -> dict:
    changes = {}
    for name in PROFILE_FIELDS:
        if name not in data:
            continue
        new = data[name] or None
        old = getattr(user, name)
        if new != old:
            changes[name] = [old, new]
            setattr(user, name, new)
    if changes:
        audit.record("user.profile_updated", actor=user, target=user, ip=ip, fields=sorted(changes))
        db.session.flush()
    return changes


def email_taken(email: str, *, except_user: User | None = None) -> bool:
    stmt = select(User.id).where(func.lower(User.email) == email.lower())
    if except_user is not None:
        stmt = stmt.where(User.id != except_user.id)
    return db.session.execute(stmt.limit(1)).first() is not None


def request_email_change(user: User, new_email: str, *, ip: str | None = None) -> EmailChangeRequest:
    """Send a confirmation link to the new address (24 h, single use); tell the old one."""
    new_email = new_email.strip().lower()
    if new_email == user.email.lower():
        raise AccountError("Cette adresse est déjà celle de votre compte.")
    if email_taken(new_email, except_user=user):
        raise AccountError("Cette adresse est déjà utilisée par un autre compte.")
    now = utcnow()
    # Only the latest request is valid.
    for pending in db.session.execute(
        select(EmailChangeRequest).where(EmailChangeRequest.user_id == user.id, EmailChangeRequest.used_at.is_(None))
    ).scalars():
        pending.used_at = now
    token, token_hash = _token()
    change = EmailChangeRequest(
        user_id=user.id, new_email=new_email, token_hash=token_hash, created_at=now, expires_at=now + EMAIL_CHANGE_TTL
    )
    db.session.add(change)
    queue_mail(
        new_email,
        "Confirmez votre nouvelle adresse e-mail",
        "account_email_confirm",
        user=user,
        link=_link(f"/compte/email/{token}"),
        hours=int(EMAIL_CHANGE_TTL.total_seconds() // 3600),
    )
    queue_mail(
        user.email, "Changement d'adresse e-mail demandé", "account_email_notice", user=user, new_email=new_email
    )
    audit.record("user.email_change_requested", actor=user, target=user, ip=ip)
    db.session.flush()
    return change


def find_email_change(token: str) -> EmailChangeRequest | None:
    """The live request for this token (unused, unexpired), else None."""
    row = db.session.execute(
        select(EmailChangeRequest).where(EmailChangeRequest.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def confirm_email_change(token: str, *, ip: str | None = None) -> User:
    row = find_email_change(token)
    if row is None:
        raise AccountError("Ce lien n'est plus valable. Refaites la demande depuis « Mon compte ».")
    row.used_at = utcnow()
    user = row.user
    if email_taken(row.new_email, except_user=user):
        raise AccountError("Cette adresse est déjà utilisée par un autre compte.")
    old = user.email
    user.email = row.new_email
    audit.record("user.email_changed", actor=user, target=user, ip=ip)
    queue_mail(old, "Votre adresse e-mail a été modifiée", "account_email_changed", user=user, new_email=row.new_email)
    db.session.flush()
    return user


def change_password(
    user: User, current: str, new: str, *, keep_session_id: int | None, ip: str | None = None, end_read=None
) -> int:
    """Check the current password, set the new one, end the other sessions. Returns how many.
    `end_read`, when given, is called before hashing (the route passes `db.session.commit`):
    no write transaction, hence no SQLite write lock, is held while argon2 works."""
    user_id, stored = user.id, user.password_hash
    problems = password_problems(new, email=user.email, names=(user.first_name, user.last_name))
    if end_read is not None:
        end_read()
    if not verify_password(stored, current):
        raise AccountError("Le mot de passe actuel est incorrect.")
    if problems:
        raise AccountError(problems[0])
    new_hash = hash_password(new)
    user = db.session.get(User, user_id)
    user.password_hash = new_hash
    user.password_changed_at = utcnow()
    user.must_change_password = False
    ended = sessions.revoke_all(user, except_id=keep_session_id)
    audit.record("user.password_changed", actor=user, target=user, ip=ip, sessions_ended=ended)
    queue_mail(user.email, "Votre mot de passe a été modifié", "account_password_changed", user=user)
    db.session.flush()
    return ended


# --------------------------------------------------------------------------- login sessions


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str:
    """A user agent in French words: "Chrome sur Windows"."""
    ua = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in ua), None)
    system = next((name for marker, name in _SYSTEMS if marker in ua), None)
    if browser and system:
        return f"{browser} sur {system}"
    if browser or system:
        return f"{browser or 'Navigateur inconnu'}" + (f" sur {system}" if system else "")
    return "Appareil inconnu"


def active_sessions(user: User) -> list[LoginSession]:
    now = utcnow()
    return list(
        db.session.execute(
            select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.revoked_at.is_(None),
                LoginSession.expires_at > now,
                LoginSession.last_seen_at > now - sessions.idle_timeout_for(user),
            )
            .order_by(LoginSession.last_seen_at.desc())
        ).scalars()
    )


def revoke_session(user: User, session_id: int, *, ip: str | None = None) -> bool:
    row = db.session.execute(
        select(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user.id)
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    sessions.revoke(row)
    audit.record("session.revoked", actor=user, target=row, ip=ip)
    db.session.flush()
    return True


def revoke_all_sessions(user: User, *, ip: str | None = None) -> int:
    ended = sessions.revoke_all(user)
    audit.record("session.revoked_all", actor=user, target=user, ip=ip, sessions_ended=ended)
    db.session.flush()
    return ended


# --------------------------------------------------------------------------- users of a company


def _employer_scope(company: Company) -> list[int]:
    # Employers of the member also act for its sites.
    return [company.id] + ([company.parent_id] if company.parent_id else [])


def company_memberships(company: Company) -> list[tuple[Membership, User]]:
    """Active memberships of the company with their users, in one query."""
    return list(
        db.session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.company_id == company.id, Membership.revoked_at.is_(None))
            .order_by(User.last_name, User.first_name, Membership.id)
        ).tuples()
    )


def pending_invitations(company: Company) -> list[Invitation]:
    return list(
        db.session.execute(
            select(Invitation)
            .where(
                Invitation.company_id == company.id,
                Invitation.accepted_at.is_(None),
                Invitation.cancelled_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc())
        ).scalars()
    )


def _count_employers(company: Company) -> int:
    return db.session.execute(
        select(func.count(Membership.id)).where(
            Membership.company_id.in_(_employer_scope(company)),
            Membership.role == ROLE_EMPLOYER,
            Membership.revoked_at.is_(None),
        )
    ).scalar_one()


def _ensure_not_last_employer(membership: Membership, company: Company) -> None:
    if membership.role == ROLE_EMPLOYER and _count_employers(company) <= 1:
        raise AccountError(LAST_EMPLOYER_MESSAGE)


def revoke_membership(company: Company, membership: Membership, actor: User, *, ip: str | None = None) -> None:
    _ensure_not_last_employer(membership, company)
    membership.revoked_at = utcnow()
    audit.record(
        "membership.revoked",
        actor=actor,
        company=company,
        target=membership,
        ip=ip,
        user_id=membership.user_id,
        role=membership.role,
    )
    db.session.flush()


def change_role(company: Company, membership: Membership, role: str, actor: User, *, ip: str | None = None) -> bool:
    if role not in ROLES:
        raise AccountError("Rôle inconnu.")
    if role == membership.role:
        return False
    if role != ROLE_EMPLOYER:
        _ensure_not_last_employer(membership, company)
    old = membership.role
    membership.role = role
    audit.record(
        "membership.role_changed",
        actor=actor,
        company=company,
        target=membership,
        ip=ip,
        user_id=membership.user_id,
        old=old,
        new=role,
    )
    db.session.flush()
    return True


def invite(company: Company, email: str, role: str, actor: User, *, ip: str | None = None) -> str:
    """Give `email` access with `role`. An existing user is linked at once and told by mail
    ("linked"); a new person gets a single-use link to set a password ("invited")."""
    if role not in ROLES:
        raise AccountError("Rôle inconnu.")
    email = email.strip().lower()
    user = db.session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
    if user is not None:
        if user.is_staff:
            raise AccountError("Cette adresse ne peut pas être invitée.")
        membership = db.session.execute(
            select(Membership).where(Membership.user_id == user.id, Membership.company_id == company.id)
        ).scalar_one_or_none()
        if membership is not None and membership.revoked_at is None:
            raise AccountError("Cette personne a déjà accès à l'entreprise.")
        if membership is None:
            membership = Membership(user_id=user.id, company_id=company.id, role=role, granted_by_id=actor.id)
            db.session.add(membership)
        else:  # a former access, given back
            membership.revoked_at = None
            membership.role = role
            membership.created_at = utcnow()
            membership.granted_by_id = actor.id
        db.session.flush()
        audit.record(
            "membership.granted", actor=actor, company=company, target=membership, ip=ip, user_id=user.id, role=role
        )
        queue_mail(
            user.email,
            f"Accès au portail pour {company.label}",
            "invitation_existing",
            user=user,
            company=company,
            actor=actor,
            role_label=ROLE_LABELS[role],
            link=_link(f"/entreprises/{company.code}/"),
        )
        return "linked"
    now = utcnow()
    for old in db.session.execute(
        select(Invitation).where(
            Invitation.company_id == company.id,
            func.lower(Invitation.email) == email,
            Invitation.accepted_at.is_(None),
            Invitation.cancelled_at.is_(None),
        )
    ).scalars():
        old.cancelled_at = now  # the newest link replaces the older ones
    token, token_hash = _token()
    invitation = Invitation(
        company_id=company.id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record("invitation.sent", actor=actor, company=company, target=invitation, ip=ip, role=role)
    queue_mail(
        email,
        f"Invitation au portail adhérents – {company.label}",
        "invitation_new",
        company=company,
        actor=actor,
        role_label=ROLE_LABELS[role],
        link=_link(f"/invitation/{token}"),
        hours=int(INVITATION_TTL.total_seconds() // 3600),
    )
    return "invited"


def find_invitation(token: str) -> Invitation | None:
    row = db.session.execute(select(Invitation).where(Invitation.token_hash == hash_token(token))).scalar_one_or_none()
    if row is None or row.accepted_at is not None or row.cancelled_at is not None or row.expires_at <= utcnow():
        return None
    return row


def accept_invitation(invitation: Invitation, data: dict, password: str, *, ip: str | None = None) -> User:
    """Create the invitee's account and access; the invitation cannot be used again."""
    if email_taken(invitation.email):
        raise AccountError(
            "Un compte existe déjà pour cette adresse : connectez-vous, puis demandez à l'employeur de vous ajouter."
        )
    problems = password_problems(
        password, email=invitation.email, names=(data.get("first_name") or "", data.get("last_name") or "")
    )
    if problems:
        raise AccountError(problems[0])
    now = utcnow()
    user = User(
        email=invitation.email,
        last_name=data["last_name"],
        first_name=data["first_name"],
        job_title=data.get("job_title") or None,
        password_hash=hash_password(password),
        password_changed_at=now,
    )
    db.session.add(user)
    db.session.flush()
    membership = Membership(
        user_id=user.id, company_id=invitation.company_id, role=invitation.role, granted_by_id=invitation.invited_by_id
    )
    db.session.add(membership)
    invitation.accepted_at = now
    invitation.user_id = user.id
    user.last_company_id = invitation.company_id
    db.session.flush()
    audit.record(
        "invitation.accepted", actor=user, company=invitation.company, target=invitation, ip=ip, role=invitation.role
    )
    return user


def cancel_invitation(company: Company, invitation_id: int, actor: User, *, ip: str | None = None) -> bool:
    row = scope.invitation(company, invitation_id)
    row.cancelled_at = utcnow()
    audit.record("invitation.cancelled", actor=actor, company=company, target=row, ip=ip)
    db.session.flush()
    return True
