"""Read side of the employee register: list filters, follow-up per employee, visits, history.

Every function runs a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Date, bindparam, func, or_, select

from extensions import db
from models.companies import Company
from models.employees import CATEGORIES, Employee, EmployeeChange, fold_search
from services.core.clock import PARIS
from services.core.input_limits import parse_iso_date
from services.core.search import employee_names_contain, escape_like
from services.core.sql import cached_statement
from services.employees.follow_up import (
    APTITUDE,
    BADGE_CLASSES,
    BADGE_OK,
    BEFORE_ASSIGNMENT,
    RULE_TYPES,
    VIP,
    VISIT_TYPE_LABELS,
    DueVisit,
    PastVisit,
    facts_of,
    next_visit_due,
    visit_status_badge,
)

PER_PAGE = 25
# "Prochaine visite" sort and "Visites à prévoir" compute the follow-up rules in Python: at
# most this many matching employees (in name order) are considered (docs/EMPLOYEES.md).
COMPUTED_LIMIT = 5000
STATUSES = {"presents": "Présents", "sortis": "Sortis", "tous": "Tous"}
SORTS = {"nom": "Nom", "entree": "Date d'entrée", "visite": "Prochaine visite"}


# --------------------------------------------------------------------------- visits


def visits_by_employee(employee_ids) -> dict[int, dict]:
    """{employee_id: {"done": [PastVisit], "planned": [...], "rows": [...]}} in one query.

    Cancelled visits are left out; "rows" keeps done and planned ones for the employee page."""
    from models.planning import Visit

    ids = list(employee_ids)
    if not ids:
        return {}
    result: dict[int, dict] = {}
    rows = (
        db.session.execute(
            select(Visit).where(Visit.employee_id.in_(ids), Visit.status != "annulee").order_by(Visit.starts_at.desc())
        )
        .scalars()
        .all()
    )
    for visit in rows:
        entry = result.setdefault(visit.employee_id, {"done": [], "rows": []})
        entry["rows"].append(visit)
        when = visit_date(visit)
        if when is not None and visit_is_done(visit):
            entry["done"].append(PastVisit(when, visit_type(visit)))
    return result


def done_visits_by_employee(employee_ids) -> dict[int, dict]:
    """{employee_id: {"done": [PastVisit]}}: only done visits, as plain columns (no ORM rows),
    for computing the rules over many employees."""
    from models.planning import Visit

    ids = list(employee_ids)
    result: dict[int, dict] = {}
    if not ids:
        return result
    rows = db.session.execute(
        select(Visit.employee_id, Visit.starts_at, Visit.visit_type).where(
            Visit.employee_id.in_(ids), Visit.status == DONE_STATUS
        )
    )
    for employee_id, starts_at, kind in rows:
        if starts_at is not None:
            result.setdefault(employee_id, {"done": []})["done"].append(
                PastVisit(starts_at.astimezone(PARIS).date(), RULE_TYPES.get(kind, kind))
            )
    return result


# Planning visit types -> the follow-up rules' types.
DONE_STATUS = "realisee"


def visit_date(visit) -> date | None:
    return visit.starts_at.astimezone(PARIS).date() if visit.starts_at else None


def visit_is_done(visit) -> bool:
    return visit.status == DONE_STATUS


def visit_type(visit) -> str:
    return RULE_TYPES.get(visit.visit_type, visit.visit_type)


# --------------------------------------------------------------------------- follow-up


@dataclass
class FollowUp:
    due: DueVisit
    badge: str = BADGE_OK
    last_visit: date | None = None
    visits: list = field(default_factory=list)

    @property
    def badge_class(self) -> str:
        return BADGE_CLASSES.get(self.badge, "badge--info")


def follow_up_of(employee, visit_info: dict | None, day: date) -> FollowUp:
    done = (visit_info or {}).get("done", [])
    due = next_visit_due(facts_of(employee), done, day)
    last = max((v.date for v in done), default=None)
    return FollowUp(
        due=due, badge=visit_status_badge(due.due, day), last_visit=last, visits=(visit_info or {}).get("rows", [])
    )


# --------------------------------------------------------------------------- list


@dataclass
class ListParams:
    q: str = ""
    status: str = "presents"
    category: str = ""
    site: str = ""
    due_only: bool = False
    sort: str = "nom"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> ListParams:
        def pick(name, allowed, default):
            value = (args.get(name) or "").strip()
            return value if value in allowed else default

        q = " ".join((args.get("q") or "").replace("\x00", "").split())[:100]
        try:
            page = max(1, min(int(args.get("page", 1)), 100000))
        except (TypeError, ValueError):
            page = 1
        return cls(
            q=q,
            status=pick("statut", STATUSES, "presents"),
            category=pick("categorie", CATEGORIES, ""),
            site=(args.get("site") or "").strip()[:9],
            due_only=args.get("a_prevoir") in ("1", "on", "oui"),
            sort=pick("tri", SORTS, "nom"),
            page=page,
        )

    def query_args(self, **overrides) -> dict:
        values = {
            "q": self.q or None,
            "statut": self.status if self.status != "presents" else None,
            "categorie": self.category or None,
            "site": self.site or None,
            "a_prevoir": "1" if self.due_only else None,
            "tri": self.sort if self.sort != "nom" else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v is not None}


@dataclass(slots=True)
class Site:
    """A site of the member as the list, its filter and the forms' choices show it (plain
    columns, no ORM object: this runs on every list request, usually for no row)."""

    id: int
    code: str
    name: str
    city: str | None

    label = Company.label  # "00010-5 - Raison sociale"
    site_label = Company.site_label  # "00010-5 - Raison sociale (Dinan)"


def sites_of(company: Company) -> list[Site]:
    """The sites shown in the filter (a member's sites); none for a site itself."""
    if company.is_site:
        return []
    rows = db.session.connection().execute(_sites_statement(), {"parent_id": company.id})
    return [Site(*row) for row in rows]


@cached_statement
def _sites_statement():
    return (
        select(Company.id, Company.code, Company.name, Company.city)
        .where(Company.parent_id == bindparam("parent_id"))
        .order_by(Company.code)
    )


def _criteria(status: str, category: bool, words: int) -> list:
    """The list's WHERE clauses for one shape of the filters, with bind parameters: the same
    shape gives the same statement, built once (see _page_statement); values in _values()."""
    clauses = [Employee.company_id.in_(bindparam("company_ids", expanding=True))]
    if status == "presents":
        clauses.append(or_(Employee.exit_date.is_(None), Employee.exit_date >= bindparam("day", type_=Date)))
    elif status == "sortis":
        clauses.append(Employee.exit_date < bindparam("day", type_=Date))
    if category:
        clauses.append(Employee.category == bindparam("category"))
    # Each word, folded like `search_text` (accents and case ignored), anywhere in the birth
    # name, usage name, first names or job: one LIKE on one column of the name index.
    clauses.extend(Employee.search_text.like(bindparam(f"word{i}"), escape="\\") for i in range(words))
    return clauses


def _shape_and_values(company: Company, sites: list[Site], params: ListParams, day: date):
    ids = [company.id, *(s.id for s in sites)]
    if params.site:
        chosen = [c.id for c in [company, *sites] if c.code == params.site]
        ids = chosen or [-1]
    words = fold_search(params.q).split()[:5]
    values = {"company_ids": ids}
    if params.status in ("presents", "sortis"):
        values["day"] = day
    if params.category:
        values["category"] = params.category
    values.update({f"word{i}": f"%{escape_like(word)}%" for i, word in enumerate(words)})
    return (params.status, bool(params.category), len(words)), values


def filtered_query(company: Company, sites: list[Site], params: ListParams, day: date):
    shape, values = _shape_and_values(company, sites, params, day)
    return select(Employee).where(*_criteria(*shape)).params(values)


def name_order():
    """By name whatever the case and accents (GUÉGUEN before GUILLOU, "de Kerros" among the D):
    the folded `search_text` ("birth name, usage name, first names, job"), then id. It is the
    last column of the covering index `ix_employees_company_name`, so the page is still read
    from the index alone, with a sort of the company's matching entries (docs/PERFORMANCE.md)."""
    return (Employee.search_text, Employee.id)


@dataclass
class Row:
    employee: Employee
    follow_up: FollowUp


@dataclass
class ListResult:
    rows: list[Row]
    total: int
    page: int
    pages: int
    truncated: bool = False
    cells: list[tuple] = field(default_factory=list)


# The due visit's type, shortened for the list's "Prochaine visite" cell.
SHORT_TYPES = {VIP: "VIP", APTITUDE: "Examen d'aptitude"}


def _fr(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def row_cells(employee, fu: FollowUp, company_id: int, site_codes: dict[int, str]) -> tuple:
    """The strings of one list row, computed once in Python so the row macro only interpolates
    (no attribute lookups, date formatting or label mapping per cell in the template):
    (id, name, site code, exit date, job, category, entry date, last visit, due date, due type,
    badge, badge class). See `employees/_row.html`."""
    due = fu.due
    if due.due:
        due_label = "Avant l'affectation" if due.due == BEFORE_ASSIGNMENT else _fr(due.due)
        due_type = SHORT_TYPES.get(due.type) or VISIT_TYPE_LABELS.get(due.type, due.type)
    else:
        due_label = due_type = ""
    return (
        employee.id,
        employee.display_name,
        site_codes.get(employee.company_id, "") if employee.company_id != company_id else "",
        _fr(employee.exit_date) if employee.exit_date else "",
        employee.job_title,
        employee.category,
        _fr(employee.entry_date),
        _fr(fu.last_visit) if fu.last_visit else "—",
        due_label,
        due_type,
        fu.badge,
        BADGE_CLASSES.get(fu.badge, "badge--info"),
    )


def list_cells(rows: list[Row], company: Company, sites: list[Site]) -> list[tuple]:
    site_codes = {s.id: s.code for s in sites}
    return [row_cells(row.employee, row.follow_up, company.id, site_codes) for row in rows]


def list_employees(company: Company, sites: list[Site], params: ListParams, day: date) -> ListResult:
    """The page of rows, the count and each row's follow-up: one statement (three queries at most
    for the next-visit sort and "visites à prévoir")."""
    if params.sort == "visite" or params.due_only:
        query = filtered_query(company, sites, params, day)
        # The due date is computed by the rules in Python: compute it for every matching
        # employee from their facts (one query) and their visits (one query), then load the page.
        facts_rows = db.session.execute(
            query.with_only_columns(
                Employee.id,
                Employee.birth_date,
                Employee.entry_date,
                Employee.category,
                Employee.apprentice,
                Employee.night_work,
                Employee.exit_date,
                Employee.ever_sir,
                Employee.risks,
                Employee.birth_name,
                Employee.first_names,
            )
            .order_by(*name_order())
            .limit(COMPUTED_LIMIT + 1)
        ).all()
        truncated = len(facts_rows) > COMPUTED_LIMIT
        facts_rows = facts_rows[:COMPUTED_LIMIT]
        visits = done_visits_by_employee(r[0] for r in facts_rows)
        computed = []
        for r in facts_rows:
            proxy = _FactsRow(*r[:9])
            fu = follow_up_of(proxy, visits.get(r[0]), day)
            if params.due_only and fu.badge == BADGE_OK:
                continue
            computed.append(_Computed(fu, r))
        if params.sort == "visite":
            computed.sort(
                key=lambda c: (_due_key(c.follow_up.due.due), c.facts.birth_name, c.facts.first_names, c.facts.id)
            )
        elif params.sort == "entree":
            computed.sort(key=lambda c: (c.facts.entry_date, c.facts.id), reverse=True)
        total = len(computed)
        pages = max(1, -(-total // PER_PAGE))
        page = min(params.page, pages)
        chunk = computed[(page - 1) * PER_PAGE : page * PER_PAGE]
        page_ids = [c.facts.id for c in chunk]
        ids = select(Employee.id).where(Employee.id.in_(page_ids or [-1]))
        loaded = {row.employee.id: row.employee for row in page_rows(_rows_statement(ids, name_order()), None, day)[0]}
        rows = [Row(loaded[c.facts.id], c.follow_up) for c in chunk if c.facts.id in loaded]
        return ListResult(rows, total, page, pages, truncated, list_cells(rows, company, sites))

    shape, values = _shape_and_values(company, sites, params, day)
    statement = _page_statement(*shape, params.sort == "entree")
    page = params.page
    rows, total = page_rows(statement, {**values, "offset": (page - 1) * PER_PAGE}, day)
    if total is None and page == 1:
        total = 0  # nothing matches
    elif total is None:  # a page past the end (an old link): count, then show the last page
        count = filtered_query(company, sites, params, day).with_only_columns(func.count(Employee.id))
        total = db.session.execute(count).scalar_one()
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        page = pages
        rows, _ = page_rows(statement, {**values, "offset": (page - 1) * PER_PAGE}, day)
    return ListResult(rows, total, page, pages, cells=list_cells(rows, company, sites))


@dataclass(slots=True)
class ListEmployee:
    """The columns of an employee a list row shows and its follow-up needs (duck-types the
    Employee attributes used by _row.html and facts_of); read as plain columns, no ORM object."""

    id: int
    company_id: int
    birth_name: str
    usage_name: str | None
    first_names: str
    job_title: str
    category: str
    birth_date: date
    entry_date: date
    exit_date: date | None
    apprentice: bool
    night_work: bool
    ever_sir: bool = False
    risks: list | None = None

    @property
    def display_name(self) -> str:
        return f"{(self.usage_name or self.birth_name).upper()} {self.first_names}"


ROW_COLUMNS = (
    Employee.id,
    Employee.company_id,
    Employee.birth_name,
    Employee.usage_name,
    Employee.first_names,
    Employee.job_title,
    Employee.category,
    Employee.birth_date,
    Employee.entry_date,
    Employee.exit_date,
    Employee.apprentice,
    Employee.night_work,
    Employee.ever_sir,
    Employee.risks,
)


def _rows_statement(ids, order):
    """The employees selected by `ids` (a select of `id` and maybe `total`, LIMITed), in
    `order`, left-joined to their done visits: the page, its visits (and the count) at once."""
    from models.planning import Visit

    page = ids.subquery("page")
    return (
        select(*ROW_COLUMNS, Visit.starts_at, Visit.visit_type, *([page.c.total] if "total" in page.c else []))
        .join(page, page.c.id == Employee.id)
        .outerjoin(Visit, (Visit.employee_id == Employee.id) & (Visit.status == DONE_STATUS))
        .order_by(*order)
    )


@cached_statement
def _page_statement(status: str, category: bool, words: int, by_entry: bool):
    """The list statement of one shape of filters, built once per process (values are bind
    parameters): building and hashing this statement on each request cost as much as running it.

    The page's ids carry the count of all matches, so the page, its visits and the count are
    one statement. A search reads every match anyway (the LIKE has no index range): a window
    counts them in the same pass. Without a search the page stops at LIMIT in index order and
    the count is a scalar subquery (evaluated once) that reads the name index only."""
    order = (Employee.entry_date.desc(), Employee.id.desc()) if by_entry else name_order()
    if words:
        total = func.count().over()
    else:
        total = select(func.count(Employee.id)).where(*_criteria(status, category, words)).scalar_subquery()
    ids = (
        select(Employee.id, total.label("total"))
        .where(*_criteria(status, category, words))
        .order_by(*order)
        .limit(PER_PAGE)
        .offset(bindparam("offset"))
    )
    return _rows_statement(ids, order)


def page_rows(statement, values: dict | None, day: date) -> tuple[list[Row], int | None]:
    """Run a _rows_statement: the rows with each one's follow-up computed by the rules (for
    these rows only), and the `total` column if the statement has one and a row came back."""
    employees: dict[int, ListEmployee] = {}
    done: dict[int, dict] = {}
    total = None
    n = len(ROW_COLUMNS)
    counted = len(statement.selected_columns) > n + 2
    # Plain columns: run on the session's connection (Core), without the ORM execution layer.
    for values_ in db.session.connection().execute(statement, values):
        employee_id = values_[0]
        if employee_id not in employees:
            employees[employee_id] = ListEmployee(*values_[:n])
        starts_at, kind = values_[n], values_[n + 1]
        if starts_at is not None:
            done.setdefault(employee_id, {"done": []})["done"].append(
                PastVisit(starts_at.astimezone(PARIS).date(), RULE_TYPES.get(kind, kind))
            )
        if counted:
            total = values_[n + 2]
    return [Row(e, follow_up_of(e, done.get(e.id), day)) for e in employees.values()], total


class _Computed(NamedTuple):
    """An employee of the next-visit sort: the follow-up computed by the rules, and the facts
    row it came from (id, birth_date, entry_date, category, apprentice, night_work, exit_date,
    birth_name, first_names: named, never read by position)."""

    follow_up: FollowUp
    facts: Any


@dataclass
class _FactsRow:
    id: int
    birth_date: date
    entry_date: date
    category: str
    apprentice: bool
    night_work: bool
    exit_date: date | None
    ever_sir: bool = False
    risks: list | None = None


def _due_key(due) -> date:
    if due is None:
        return date.max
    if isinstance(due, str):
        return date.min
    return due


# --------------------------------------------------------------------------- history


@dataclass
class HistoryParams:
    kind: str = ""
    q: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args) -> HistoryParams:
        errors = {}

        def parse_date(name):
            value = (args.get(name) or "").strip()
            if not value:
                return None
            parsed = parse_iso_date(value[:10])
            if parsed is None:
                errors[name] = "Date invalide (format attendu : AAAA-MM-JJ, entre 1900 et 2100)."
            return parsed

        try:
            page = max(1, min(int(args.get("page", 1)), 100000))
        except (TypeError, ValueError):
            page = 1
        kind = (args.get("type") or "").strip()
        return cls(
            kind=kind if kind in EmployeeChange.KIND_LABELS else "",
            q=" ".join((args.get("salarie") or "").replace("\x00", "").split())[:100],
            since=parse_date("du"),
            until=parse_date("au"),
            page=page,
            errors=errors,
        )

    def query_args(self, **overrides) -> dict:
        values = {
            "type": self.kind or None,
            "salarie": self.q or None,
            "du": self.since.isoformat() if self.since else None,
            "au": self.until.isoformat() if self.until else None,
            "page": self.page if self.page > 1 else None,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v is not None}


def history(company_ids: list[int], params: HistoryParams, *, employee_id: int | None = None, per_page: int = 50):
    """(changes with their employee and actor, total, page, pages) in two queries."""
    from sqlalchemy.orm import joinedload

    from models.users import User  # noqa: F401 - joined below

    query = select(EmployeeChange).where(EmployeeChange.company_id.in_(company_ids))
    if employee_id is not None:
        query = query.where(EmployeeChange.employee_id == employee_id)
    if params.kind:
        query = query.where(EmployeeChange.kind == params.kind)
    if params.since:
        query = query.where(EmployeeChange.created_at >= datetime.combine(params.since, datetime.min.time(), PARIS))
    if params.until:
        query = query.where(EmployeeChange.created_at < datetime.combine(params.until, datetime.max.time(), PARIS))
    if params.q:
        query = query.join(Employee, Employee.id == EmployeeChange.employee_id)
        query = query.where(*employee_names_contain(params.q))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(params.page, pages)
    changes = (
        db.session.execute(
            query.options(joinedload(EmployeeChange.employee), joinedload(EmployeeChange.actor))
            .order_by(EmployeeChange.created_at.desc(), EmployeeChange.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .scalars()
        .unique()
        .all()
    )
    return changes, total, page, pages
