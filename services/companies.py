"""The companies a user reaches: switcher menu, search, "Mes entreprises" and linking a company."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, asc, desc, func, not_, or_, select

from extensions import db
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, ROLE_LABELS, Company, Membership
from models.employees import Employee
from models.users import User
from services import audit
from services.access import GRANT_PLANNING, RIGHTS, accessible_companies_query, membership_for
from services.outbox import queue_mail

# The switcher lists at most this many "other" companies; beyond it, a search field appears.
MENU_LIMIT = 10
SEARCH_LIMIT = 20
PAGE_SIZE = 25
MAX_QUERY_LENGTH = 100

SORTS = {"code", "name", "city", "employees"}


def _active_links(user):
    """Subquery of the user's active memberships (company id, role, grants, linked at)."""
    return (
        select(Membership.company_id, Membership.role, Membership.grants, Membership.created_at)
        .where(Membership.user_id == user.id, Membership.revoked_at.is_(None))
        .subquery()
    )


def role_has_right(role: str | None, grants: int, right: str | None) -> bool:
    """has_right() for a (role, grants) pair read without loading a Membership."""
    if right is None:
        return role is not None
    if right in RIGHTS.get(role, set()):
        return True
    return right == "planning" and bool((grants or 0) & GRANT_PLANNING)


@dataclass
class Reach:
    """A company as the user reaches it: its role there (direct link wins over the parent's)."""

    company: Company
    role: str
    grants: int = 0

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_right(self, right: str | None) -> bool:
        return role_has_right(self.role, self.grants, right)


def _roles_for(user, companies: list[Company]) -> dict[int, tuple[str, int]]:
    """{company_id: (role, grants)} for `companies`, in one query."""
    ids = {c.id for c in companies} | {c.parent_id for c in companies if c.parent_id}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Membership.company_id, Membership.role, Membership.grants).where(
            Membership.user_id == user.id, Membership.revoked_at.is_(None), Membership.company_id.in_(ids)
        )
    ).all()
    by_id = {r.company_id: (r.role, r.grants) for r in rows}
    result = {}
    for c in companies:
        found = by_id.get(c.id) or by_id.get(c.parent_id)
        if found:
            result[c.id] = found
    return result


def _reaches(user, companies: list[Company]) -> list[Reach]:
    roles = _roles_for(user, companies)
    return [Reach(c, *roles[c.id]) for c in companies if c.id in roles]


@dataclass
class SwitcherMenu:
    active: Company
    head: Reach | None  # the member (parent) of the active company's group, when reachable
    sites: list[Reach] = field(default_factory=list)  # "Vos succursales"
    others: list[Reach] = field(default_factory=list)  # the most recently linked other companies
    total: int = 0  # every company the user reaches
    more: int = 0  # other companies not listed (reach them by search)

    @property
    def searchable(self) -> bool:
        return self.total > MENU_LIMIT


def _search_filter(q: str):
    pattern = f"%{_escape_like(q.lower())}%"
    return or_(
        func.lower(Company.code).like(pattern, escape="\\"),
        func.lower(Company.name).like(pattern, escape="\\"),
        func.lower(Company.city).like(pattern, escape="\\"),
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_query(q: str | None) -> str:
    """A search string: stripped, bounded, without control characters."""
    q = "".join(ch for ch in (q or "") if ch.isprintable())
    return q.strip()[:MAX_QUERY_LENGTH]


def switcher_menu(user, active: Company) -> SwitcherMenu:
    """The switcher's content in a fixed number of queries (4), whatever the count."""
    root_id = active.parent_id or active.id
    # coalesce: NOT (parent_id = x) is NULL, not true, for members without a parent.
    in_group = or_(Company.id == root_id, func.coalesce(Company.parent_id, 0) == root_id)
    reachable = accessible_companies_query(user).subquery()
    total = db.session.execute(select(func.count()).select_from(reachable)).scalar_one()
    group = list(db.session.execute(accessible_companies_query(user).where(in_group).order_by(Company.code)).scalars())
    links = _active_links(user)
    # Recency: when the link giving access (on the company itself or on its parent) was made.
    linked_at = func.max(links.c.created_at).label("linked_at")
    others_query = (
        select(Company, linked_at)
        .join(links, or_(links.c.company_id == Company.id, links.c.company_id == Company.parent_id))
        .where(Company.active.is_(True), not_(in_group))
        .group_by(Company.id)
        .order_by(desc("linked_at"), Company.code)
        .limit(MENU_LIMIT)
    )
    others = [row[0] for row in db.session.execute(others_query)]
    reaches = {r.company.id: r for r in _reaches(user, group + others)}
    head = reaches.get(root_id)
    sites = [reaches[c.id] for c in group if c.id != root_id and c.id in reaches]
    other_reaches = [reaches[c.id] for c in others if c.id in reaches]
    more = max(0, total - len(group) - len(other_reaches))
    return SwitcherMenu(active=active, head=head, sites=sites, others=other_reaches, total=total, more=more)


def search_companies(user, q: str, limit: int = SEARCH_LIMIT) -> tuple[list[Reach], int]:
    """Reachable companies matching `q` on code, name or town (first `limit`), and the total
    count. Three queries whatever the number of companies."""
    query = accessible_companies_query(user)
    if q:
        query = query.where(_search_filter(q))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    companies = list(db.session.execute(query.order_by(Company.code).limit(limit)).scalars())
    return _reaches(user, companies), total


def count_reachable(user) -> int:
    return db.session.execute(
        select(func.count()).select_from(accessible_companies_query(user).subquery())
    ).scalar_one()


@dataclass
class OverviewRow:
    reach: Reach
    employees: int
    attention: list[str]


@dataclass
class Overview:
    rows: list[OverviewRow]
    total: int
    page: int
    pages: int
    sort: str
    order: str
    q: str


def present_employees_subquery():
    today = date.today()
    return (
        select(Employee.company_id, func.count(Employee.id).label("n"))
        .where(or_(Employee.exit_date.is_(None), Employee.exit_date >= today))
        .group_by(Employee.company_id)
        .subquery()
    )


def overview(user, *, q: str = "", sort: str = "code", order: str = "asc", page: int = 1) -> Overview:
    """One page of "Mes entreprises": a fixed number of queries whatever the count."""
    from services import attention

    sort = sort if sort in SORTS else "code"
    order = order if order in ("asc", "desc") else "asc"
    base = accessible_companies_query(user)
    if q:
        base = base.where(_search_filter(q))
    total = db.session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    counts = present_employees_subquery()
    employees = func.coalesce(counts.c.n, 0).label("employees")
    column = {
        "code": Company.code,
        "name": func.lower(Company.name),
        "city": func.lower(Company.city),
        "employees": employees,
    }[sort]
    direction = asc if order == "asc" else desc
    rows = db.session.execute(
        base.add_columns(employees)
        .outerjoin(counts, counts.c.company_id == Company.id)
        .order_by(direction(column), Company.code)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    companies = [r[0] for r in rows]
    roles = _roles_for(user, companies)
    flags = attention.labels_for([c.id for c in companies])
    result = [
        OverviewRow(Reach(c, *roles[c.id]), n, flags.get(c.id, []))
        for c, n in ((r[0], r[1]) for r in rows)
        if c.id in roles
    ]
    return Overview(rows=result, total=total, page=page, pages=pages, sort=sort, order=order, q=q)


# --------------------------------------------------------------------------- linking


LINK_CREATED = "created"
LINK_REACTIVATED = "reactivated"
LINK_ALREADY = "already"


def link_company(
    user: User, company: Company, *, accountant: bool, ip: str | None = None
) -> tuple[Membership | None, str]:
    """Give `user` access to `company` after its credentials were checked. Returns the
    membership and what happened (created, reactivated, already). Flushes; caller commits."""
    if membership_for(user, company) is not None:
        return membership_for(user, company), LINK_ALREADY
    role = ROLE_ACCOUNTANT if accountant else ROLE_EMPLOYER
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.company_id == company.id)
    ).scalar_one_or_none()
    if membership is not None:
        membership.revoked_at = None
        membership.role = role
        membership.grants = 0
        outcome = LINK_REACTIVATED
    else:
        membership = Membership(user_id=user.id, company_id=company.id, role=role, created_at=utcnow())
        db.session.add(membership)
        outcome = LINK_CREATED
    db.session.flush()
    audit.record("company.linked", actor=user, company=company, target=membership, ip=ip, role=role, outcome=outcome)
    _tell_existing_users(user, company, role)
    return membership, outcome


def _tell_existing_users(new_user: User, company: Company, role: str) -> None:
    """One e-mail per user who already had access (to the company or its member)."""
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    recipients = db.session.execute(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            and_(Membership.company_id.in_(ids), Membership.revoked_at.is_(None)),
            User.id != new_user.id,
            User.active.is_(True),
        )
        .distinct()
        .order_by(User.id)
    ).scalars()
    for recipient in recipients:
        queue_mail(
            recipient.email,
            f"Nouvel accès à l'espace de {company.label}",
            "company_access_granted",
            recipient=recipient,
            new_user=new_user,
            company=company,
            accountant=role == ROLE_ACCOUNTANT,
            role_label=ROLE_LABELS[role],
        )
