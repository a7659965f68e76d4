"""The companies a user reaches: switcher menu, search, "Mes entreprises" and linking a company."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Integer, String, and_, any_, asc, bindparam, case, desc, func, not_, or_, select
from sqlalchemy.orm import aliased

from extensions import db
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, ROLE_LABELS, Company, Membership
from models.users import User
from services.companies import attention
from services.companies.access import GRANT_PLANNING, RIGHTS, membership_for
from services.core import audit, clock
from services.core.outbox import queue_mail
from services.core.search import escape_like
from services.core.sql import cached_statement
from services.employees import presence

# The switcher lists at most this many "other" companies; beyond it, a search field appears.
MENU_LIMIT = 10
SEARCH_LIMIT = 20
PAGE_SIZE = 25
MAX_QUERY_LENGTH = 100

SORTS = {"code", "name", "city", "employees"}


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


_DIRECT_LINK = aliased(Membership, name="direct_link")
_PARENT_LINK = aliased(Membership, name="parent_link")

# The lists below run statements built once per process with bound parameters
# (services/core/sql.cached_statement; docs/PERFORMANCE.md): building a statement and
# computing its cache key cost more than running it.
_USER_ID = "user_id"
_PATTERN = "pattern"
_TODAY = presence.TODAY


def _user_id():
    return bindparam(_USER_ID, type_=Integer)


def _with_roles(query):
    """`query` (a SELECT starting with the `_LISTED` columns) plus the role and grants of the
    user's active links on each company and on its parent (one index lookup each), so that the
    rows and their roles come in one query. Read the rows with `_reach_of`."""
    return (
        query.add_columns(_DIRECT_LINK.role, _DIRECT_LINK.grants, _PARENT_LINK.role, _PARENT_LINK.grants)
        .outerjoin(_DIRECT_LINK, _link(_DIRECT_LINK, Company.id))
        .outerjoin(_PARENT_LINK, _link(_PARENT_LINK, Company.parent_id))
    )


def _link(membership, company_id):
    """ON clause: `membership` is the user's active link on the company `company_id`."""
    return and_(membership.company_id == company_id, membership.user_id == _user_id(), membership.revoked_at.is_(None))


class ListedCompany:
    """The company columns the lists show, read as plain columns: loading ORM entities (identity
    map, a loader per unloaded column) cost a third of the switcher search. Read-only, with the
    labels of `Company`."""

    __slots__ = ("id", "code", "name", "city", "parent_id", "active")

    is_site = Company.is_site
    label = Company.label
    site_label = Company.site_label

    def __init__(self, id, code, name, city, parent_id, active):  # noqa: A002 - the column's name
        self.id, self.code, self.name, self.city, self.parent_id, self.active = id, code, name, city, parent_id, active

    def __repr__(self) -> str:
        return f"<ListedCompany {self.code}>"


# The columns of ListedCompany, first in every list statement (see `_reach_of`).
_LISTED = (Company.id, Company.code, Company.name, Company.city, Company.parent_id, Company.active)


def _reach_of(row) -> Reach:
    """The Reach of a `_with_roles` row: the direct link wins over the parent's."""
    direct_role, direct_grants, parent_role, parent_grants = row[-4:]
    company = ListedCompany(*row[:6])
    if direct_role is not None:
        return Reach(company, direct_role, direct_grants or 0)
    return Reach(company, parent_role, parent_grants or 0)


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


def _search_filter(dialect: str):
    """Code, name or town contains the bound `pattern` (see `_params`), whatever the case."""
    pattern = bindparam(_PATTERN, type_=String)
    columns = (Company.code, Company.name, Company.city)
    if dialect != "sqlite":  # SQLite's LIKE ignores case already (ASCII, like its lower())
        columns = tuple(func.lower(column) for column in columns)
    return or_(*(column.like(pattern, escape="\\") for column in columns))


def clean_query(q: str | None) -> str:
    """A search string: stripped, bounded, without control characters."""
    q = "".join(ch for ch in (q or "") if ch.isprintable())
    return q.strip()[:MAX_QUERY_LENGTH]


def switcher_menu(user, active: Company) -> SwitcherMenu:
    """The switcher's content in a fixed number of queries (2), whatever the count."""
    root_id = active.parent_id or active.id
    dialect = _dialect()
    params = _params(user, root_id=root_id)
    group = [_reach_of(row) for row in db.session.execute(_group_statement(), params)]
    rows = db.session.execute(_others_statement(dialect), params).all()
    others = [_reach_of(row) for row in rows]
    head = next((reach for reach in group if reach.company.id == root_id), None)
    sites = [reach for reach in group if reach.company.id != root_id]
    total = len(group) + (rows[0].total if rows else 0)
    more = max(0, total - len(group) - len(others))
    return SwitcherMenu(active=active, head=head, sites=sites, others=others, total=total, more=more)


@cached_statement
def _group_statement():
    """The active company's member and its sites that the user reaches, by code."""
    root = bindparam("root_id", type_=Integer)
    query = select(*_LISTED).where(Company.active.is_(True), or_(Company.id == root, Company.parent_id == root))
    query = _with_roles(query)
    return query.where(or_(_DIRECT_LINK.role.is_not(None), _PARENT_LINK.role.is_not(None))).order_by(Company.code)


@cached_statement
def _others_statement(dialect: str):
    """The other reached companies, the most recently linked first (the link giving access:
    on the company itself or on its member), the first MENU_LIMIT with their count."""
    direct, parent = aliased(Membership), aliased(Membership)
    linked_at = case(
        (direct.created_at.is_(None), parent.created_at),
        (parent.created_at.is_(None), direct.created_at),
        (direct.created_at > parent.created_at, direct.created_at),
        else_=parent.created_at,
    )
    root = bindparam("root_id", type_=Integer)
    # coalesce: NOT (parent_id = x) is NULL, not true, for members without a parent.
    in_group = or_(Company.id == root, func.coalesce(Company.parent_id, 0) == root)
    reached = (
        select(Company.id, Company.code, linked_at.label("linked_at"))
        .outerjoin(direct, _link(direct, Company.id))
        .outerjoin(parent, _link(parent, Company.parent_id))
        .where(*_reached(dialect, False), not_(in_group))
        .cte("others")
        .prefix_with("MATERIALIZED")
    )
    found = (
        select(reached.c.id, reached.c.code, reached.c.linked_at, func.count().over().label("total"))
        .order_by(reached.c.linked_at.desc(), reached.c.code)
        .limit(MENU_LIMIT)
        .subquery()
    )
    query = select(*_LISTED, found.c.total).join(found, found.c.id == Company.id)
    return _with_roles(query).order_by(found.c.linked_at.desc(), found.c.code)


def search_companies(user, q: str, limit: int = SEARCH_LIMIT) -> tuple[list[Reach], int]:
    """Reachable companies matching `q` on code, name or town (first `limit`), and the total
    count: ONE query whatever the number of companies (the matches with their total as a
    window count and the roles)."""
    rows = db.session.execute(_search_statement(_dialect(), bool(q), limit), _params(user, q)).all()
    total = rows[0].total if rows else 0
    return [_reach_of(row) for row in rows], total


@cached_statement
def _search_statement(dialect: str, searching: bool, limit: int):
    reached = _reached_cte(dialect, searching, Company.code)
    found = (
        select(reached.c.id, reached.c.sort_key, func.count().over().label("total"))
        .order_by(reached.c.sort_key)
        .limit(limit)
        .subquery()
    )
    query = select(*_LISTED, found.c.total).join(found, found.c.id == Company.id)
    return _with_roles(query).order_by(found.c.sort_key)


def _dialect() -> str:
    return db.engine.dialect.name


def _in(dialect: str, column, ids):
    """`column IN (ids)` for a sub-select of ids. On PostgreSQL, column = ANY(ARRAY(ids)): it
    computes the ids once, then reads the rows by index; with IN (sub-select) it chose a hash
    or merge join reading every company (it expects a few hundred index lookups to cost more
    than that scan)."""
    if dialect == "postgresql":
        return column == any_(func.array(ids.scalar_subquery()))
    return column.in_(ids)


def _reached_ids(dialect: str):
    """SELECT of the ids of the companies the user's active links reach: each linked company
    and, for a member, its sites (active or not; callers filter)."""
    direct = select(Membership.company_id).where(Membership.user_id == _user_id(), Membership.revoked_at.is_(None))
    sites = select(Company.id).where(_in(dialect, Company.parent_id, direct))
    return direct.union_all(sites)  # duplicates are harmless in IN / ANY


def _params(user, q: str = "", **extra) -> dict:
    """The bound values of the statements below."""
    pattern = f"%{escape_like(q.lower())}%" if q else None
    return {_USER_ID: user.id, _PATTERN: pattern, _TODAY: clock.today(), **extra}


def _reached(dialect: str, searching: bool) -> list:
    """WHERE conditions: the active reached companies, matching the search."""
    conditions = [_in(dialect, Company.id, _reached_ids(dialect)), Company.active.is_(True)]
    if searching:
        conditions.append(_search_filter(dialect))
    return conditions


def _reached_cte(dialect: str, searching: bool, sort_key):
    """The active reached companies matching the search: (id, code, sort_key), looked up by
    primary key. MATERIALIZED so that PostgreSQL sorts these few rows instead of walking the
    whole code index in order (a page far down the list read every company)."""
    return (
        select(Company.id, Company.code, sort_key.label("sort_key"))
        .where(*_reached(dialect, searching))
        .cte("reached")
        .prefix_with("MATERIALIZED")
    )


def count_reachable(user) -> int:
    return db.session.execute(_count_statement(_dialect(), False), _params(user)).scalar_one()


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


def overview(user, *, q: str = "", sort: str = "code", order: str = "asc", page: int = 1) -> Overview:
    """One page of "Mes entreprises": a fixed number of queries whatever the count (the
    page with its total, the "À traiter" providers; one more for a page past the end)."""
    sort = sort if sort in SORTS else "code"
    order = order if order in ("asc", "desc") else "asc"
    dialect = _dialect()

    def page_rows(page: int) -> list:
        statement = _overview_statement(dialect, bool(q), sort, order)
        return db.session.execute(statement, _params(user, q, offset=(page - 1) * PAGE_SIZE)).all()

    page = max(1, page)
    rows = page_rows(page)
    if rows:
        total = rows[0].total
    elif page > 1:  # past the last page (a stale link): show the last one
        total = db.session.execute(_count_statement(dialect, bool(q)), _params(user, q)).scalar_one()
        page = max(1, -(-total // PAGE_SIZE))
        rows = page_rows(page) if total else []
    else:
        total = 0
    pages = max(1, -(-total // PAGE_SIZE))
    # The "À traiter" providers: the employee counts of this page are already known.
    flags = attention.labels_for([row.id for row in rows], present_counts={row.id: row.employees for row in rows})
    result = [OverviewRow(_reach_of(row), row.employees, flags.get(row.id, [])) for row in rows]
    return Overview(rows=result, total=total, page=page, pages=pages, sort=sort, order=order, q=q)


@cached_statement
def _overview_statement(dialect: str, searching: bool, sort: str, order: str):
    """The page's ids with the total (window count) first, over the reached companies only
    (employees are counted over them only when sorting by that count); then the page's rows
    with their employee count and role: 25 index lookups, never a count over the whole
    employees table."""
    column = {
        "code": Company.code,
        "name": func.lower(Company.name),
        "city": func.lower(Company.city),
        "employees": presence.present_employees_count(Company.id),
    }[sort]
    direction = asc if order == "asc" else desc
    reached = _reached_cte(dialect, searching, column)
    page_ids = (
        select(reached.c.id, reached.c.sort_key, reached.c.code, func.count().over().label("total"))
        .order_by(direction(reached.c.sort_key), reached.c.code)
        .limit(PAGE_SIZE)
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    query = select(*_LISTED, presence.present_employees_count(Company.id).label("employees"), page_ids.c.total).join(
        page_ids, page_ids.c.id == Company.id
    )
    return _with_roles(query).order_by(direction(page_ids.c.sort_key), page_ids.c.code)


@cached_statement
def _count_statement(dialect: str, searching: bool):
    return select(func.count(Company.id)).where(*_reached(dialect, searching))


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
    tell_existing_users(user, company, role)
    return membership, outcome


def tell_existing_users(new_user: User, company: Company, role: str) -> None:
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
