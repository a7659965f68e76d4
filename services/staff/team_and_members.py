"""Back-office operations: staff accounts, and what the staff do on members (search, sites,
a new n° télédéclarant). Plain arguments and the actor; flush, never commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from stdnum.fr import siret as siret_check

from extensions import db
from models.base import utcnow
from models.companies import Company, Membership
from models.employees import Employee
from models.users import KIND_STAFF, User
from services.auth import sessions
from services.auth.passwords import generate_temporary_secret, hash_password
from services.core import audit, clock
from services.core.credentials import generate_teledeclarant, hash_teledeclarant

STAFF_ROLES = {"agent": "Agent", "admin": "Administrateur"}
TEMP_PASSWORD_HOURS = 72  # SECURITY.md: a creation secret expires after 72 h
PER_PAGE = 25


class StaffError(Exception):
    """A back-office rule was broken (message safe to show, in French)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- staff accounts


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(func.lower(User.email) == email.strip().lower())).scalar_one_or_none()


def create_staff(
    email: str,
    role: str,
    *,
    first_name: str = "",
    last_name: str = "",
    actor=None,
    ip: str | None = None,
    end_read=None,
) -> tuple[User, str]:
    """Create a staff account with a temporary password (returned once, stored hashed, valid
    72 h, to be replaced at first login)."""
    email = email.strip().lower()
    if role not in STAFF_ROLES:
        raise StaffError("Rôle inconnu.", "role")
    temporary = generate_temporary_secret(16)
    temp_hash = hash_password(temporary)
    if end_read is not None:
        end_read()  # hashed above with no write transaction open; the writes start below
    if find_user_by_email(email) is not None:
        raise StaffError("Un compte existe déjà avec cette adresse e-mail.", "email")
    now = utcnow()
    user = User(
        email=email,
        first_name=first_name.strip() or email.split("@")[0][:100],
        last_name=last_name.strip() or "",
        kind=KIND_STAFF,
        staff_role=role,
        temp_secret_hash=temp_hash,
        temp_secret_expires_at=now + timedelta(hours=TEMP_PASSWORD_HOURS),
        temp_secret_purpose="creation",  # noqa: S106 - a purpose, not a secret
        must_change_password=True,
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("staff.created", actor=actor, actor_label=None if actor else "cli", target=user, ip=ip, role=role)
    return user, temporary


def list_staff() -> list[User]:
    return list(
        db.session.execute(select(User).where(User.kind == KIND_STAFF).order_by(User.last_name, User.email)).scalars()
    )


def _other_active_admins(user: User) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.kind == KIND_STAFF, User.staff_role == "admin", User.active.is_(True), User.id != user.id)
    ).scalar_one()


def change_role(user: User, role: str, *, actor: User, ip: str | None = None) -> None:
    if role not in STAFF_ROLES:
        raise StaffError("Rôle inconnu.", "role")
    if user.staff_role == "admin" and role != "admin" and _other_active_admins(user) == 0:
        raise StaffError("Il doit rester au moins un administrateur actif.", "role")
    if user.staff_role == role:
        return
    old, user.staff_role = user.staff_role, role
    audit.record("staff.role_changed", actor=actor, target=user, ip=ip, old=old, new=role)


def set_active(user: User, active: bool, *, actor: User, ip: str | None = None) -> None:
    if not active:
        if user.id == actor.id:
            raise StaffError("Vous ne pouvez pas désactiver votre propre compte.")
        if user.staff_role == "admin" and _other_active_admins(user) == 0:
            raise StaffError("Il doit rester au moins un administrateur actif.")
    if user.active == active:
        return
    user.active = active
    if not active:
        sessions.revoke_all(user)  # a deactivated account stops at the next click
    audit.record("staff.activated" if active else "staff.deactivated", actor=actor, target=user, ip=ip)


# --------------------------------------------------------------------------- members


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_members(query: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Members and sites by code, name, SIRET or town: two queries whatever the result."""
    # Control characters (NUL above all: PostgreSQL refuses it) never match anything useful.
    query = " ".join("".join(c for c in (query or "") if c.isprintable()).split())[:100]
    stmt = select(Company)
    if query:
        pattern = f"%{_like(query.lower())}%"
        digits = re.sub(r"\s", "", query)
        conditions = [
            func.lower(Company.name).like(pattern, escape="\\"),
            func.lower(Company.city).like(pattern, escape="\\"),
            Company.code.like(f"{_like(query)}%", escape="\\"),
        ]
        if digits.isdecimal():
            conditions.append(Company.siret.like(f"{_like(digits)}%", escape="\\"))
        stmt = stmt.where(or_(*conditions))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = max(1, page)
    items = list(
        db.session.execute(stmt.order_by(Company.code).limit(per_page).offset((page - 1) * per_page)).scalars()
    )
    return Page(items, total, page, per_page)


@dataclass
class MemberOverview:
    company: Company
    parent: Company | None
    sites: list[Company]
    memberships: list[Membership]
    employees_present: int


def member_overview(company: Company) -> MemberOverview:
    """What a member's page shows, in a fixed number of queries."""
    from sqlalchemy.orm import joinedload

    parent = db.session.get(Company, company.parent_id) if company.parent_id else None
    sites = list(
        db.session.execute(select(Company).where(Company.parent_id == company.id).order_by(Company.code)).scalars()
    )
    memberships = list(
        db.session.execute(
            select(Membership)
            .options(joinedload(Membership.user))
            .where(Membership.company_id == company.id)
            .order_by(Membership.revoked_at.is_not(None), Membership.role, Membership.created_at)
        ).scalars()
    )
    today = clock.today()
    present = db.session.execute(
        select(func.count())
        .select_from(Employee)
        .where(Employee.company_id == company.id, or_(Employee.exit_date.is_(None), Employee.exit_date >= today))
    ).scalar_one()
    return MemberOverview(company, parent, sites, memberships, present)


def clean_siret(value: str | None) -> str | None:
    digits = re.sub(r"[\s.]", "", value or "")
    return digits or None


def next_site_code(parent: Company) -> str:
    rows = db.session.execute(select(Company.code).where(Company.code.like(f"{parent.code}-%"))).scalars()
    used = [int(code.rsplit("-", 1)[1]) for code in rows if code.rsplit("-", 1)[1].isdecimal()]
    number = max(used, default=0) + 1
    if number > 999:
        raise StaffError("Ce membre a atteint le nombre maximal de sites.")
    return f"{parent.code}-{number}"


def create_site(
    parent: Company,
    *,
    name: str,
    city: str,
    address: str | None,
    postal_code: str | None,
    siret: str | None,
    actor: User,
    ip: str | None = None,
) -> Company:
    """A new site `NNNNN-N` of a member. Its n° télédéclarant is made with its letter."""
    if parent.is_site:
        raise StaffError("Un site ne peut pas avoir de sous-site : créez le site sur le membre.")
    siret = clean_siret(siret)
    if siret and not siret_check.is_valid(siret):
        raise StaffError("Le SIRET n'est pas valide (14 chiffres, clé de contrôle).", "siret")
    site = Company(
        code=next_site_code(parent),
        parent_id=parent.id,
        name=name.strip(),
        city=city.strip(),
        address=(address or "").strip() or None,
        postal_code=(postal_code or "").strip() or None,
        siret=siret,
        active=True,
    )
    db.session.add(site)
    db.session.flush()
    audit.record("company.site_created", actor=actor, company=site, target=site, ip=ip, parent=parent.code)
    return site


def renew_teledeclarant(company: Company, *, actor: User, ip: str | None = None) -> str:
    """Give the company a new n° télédéclarant: only its hash is stored, the old one stops
    working at once. Returns the number for the letter; never log or store it."""
    number = generate_teledeclarant()
    company.teledeclarant_hash = hash_teledeclarant(company.code, number)
    company.teledeclarant_changed_at = utcnow()
    audit.record("company.teledeclarant_renewed", actor=actor, company=company, target=company, ip=ip)
    return number
