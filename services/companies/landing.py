"""Where the member space opens after login (the landing rule of issue 20, seed step 4): the
company last worked on; else, for one member (with or without its sites), that member's home,
its sites in the switcher; else "Mes entreprises"."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models.companies import Company
from services.companies.access import accessible_companies_query, membership_for

OVERVIEW = "overview"


def landing(user) -> Company | str | None:
    """The company whose home opens, OVERVIEW for "Mes entreprises", or None without access.
    Two queries at most."""
    if user.last_company_id:
        company = db.session.get(Company, user.last_company_id)
        if company is not None and membership_for(user, company) is not None:
            return company
    reachable = accessible_companies_query(user).subquery()
    # A member and its sites are one: count the members (the parent of a site, or itself).
    members = db.session.execute(
        select(func.count(func.distinct(func.coalesce(reachable.c.parent_id, reachable.c.id))))
    ).scalar_one()
    if members == 0:
        return None
    if members > 1:
        return OVERVIEW
    # One member: its home when reachable (it sorts before its sites: "00010" < "00010-2").
    return db.session.execute(accessible_companies_query(user).order_by(Company.code).limit(1)).scalar_one_or_none()
