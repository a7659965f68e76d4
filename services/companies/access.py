"""Who may act for which company. Access to a member covers its sites; a site alone gives
that site only. Every check filters in SQL on the company."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, or_, select

from extensions import db
from models.companies import ROLE_EMPLOYER, Company, Membership

# Rights a role has. Extra rights can be granted to a tiers déclarant by an employer.
GRANT_PLANNING = 1
RIGHTS = {
    ROLE_EMPLOYER: {"employees", "declaration", "invoices", "documents", "planning", "account", "users"},
    "tiers_declarant": {"employees", "declaration", "invoices"},
}


# Built once (they run on every company page): a reused statement keeps its cache key.
# The company and the memberships that may open it (on itself or on its parent) in one
# statement: one round trip less on every company page.
_COMPANY_AND_MEMBERSHIPS = (
    select(Company, Membership)
    .outerjoin(
        Membership,
        and_(
            Membership.user_id == bindparam("user_id"),
            Membership.revoked_at.is_(None),
            or_(Membership.company_id == Company.id, Membership.company_id == Company.parent_id),
        ),
    )
    .where(Company.code == bindparam("code"))
)
_ACTIVE_MEMBERSHIPS = select(Membership).where(
    Membership.user_id == bindparam("user_id"),
    Membership.company_id.in_(bindparam("company_ids", expanding=True)),
    Membership.revoked_at.is_(None),
)


def membership_for(user, company: Company) -> Membership | None:
    """The active membership that gives `user` access to `company` (direct, or via its parent).
    A direct membership on the site wins over the parent's."""
    if user is None or not getattr(user, "is_authenticated", False) or not company.active:
        return None
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    rows = db.session.execute(_ACTIVE_MEMBERSHIPS, {"user_id": user.id, "company_ids": ids}).scalars().all()
    by_company = {m.company_id: m for m in rows}
    return by_company.get(company.id) or by_company.get(company.parent_id)


def has_right(membership: Membership | None, right: str) -> bool:
    if membership is None:
        return False
    if right in RIGHTS.get(membership.role, set()):
        return True
    return right == "planning" and bool(membership.grants & GRANT_PLANNING)


def accessible_companies_query(user):
    """SELECT of the companies a user can reach (direct memberships and sites of members)."""
    direct = select(Membership.company_id).where(Membership.user_id == user.id, Membership.revoked_at.is_(None))
    return select(Company).where(
        Company.active.is_(True),
        or_(Company.id.in_(direct), Company.parent_id.in_(direct)),
    )


def get_company_for_user(user, code: str) -> tuple[Company, Membership] | None:
    """The company with this code and the membership that opens it to `user` (same rules as
    membership_for), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    rows = db.session.execute(_COMPANY_AND_MEMBERSHIPS, {"user_id": user.id, "code": code}).all()
    if not rows or not rows[0][0].active:
        return None
    company = rows[0][0]
    by_company = {m.company_id: m for _, m in rows if m is not None}
    membership = by_company.get(company.id) or by_company.get(company.parent_id)
    if membership is None:
        return None
    return company, membership


def first_accessible_company(user) -> Company | None:
    """The reachable company with the smallest code (the member space's default), or None."""
    return db.session.execute(accessible_companies_query(user).order_by(Company.code).limit(1)).scalar_one_or_none()
