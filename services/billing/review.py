"""The review page of a declaration: the counting rules in SQL, one page of the list."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
)

from extensions import db
from models.billing import (
    ENTRY_FEE_PER_COMPANY,
    TariffYear,
)
from models.companies import Company
from models.employees import Employee
from services.billing.amounts import Amount, compute_amount, is_new_company
from services.billing.common import INTERIM
from services.billing.headcount import (
    Counted,
    Excluded,
    _year_before,
    billing_category,
    excluded_natures,
    exclusion_reason,
)

# The review page of a large company: the same rules as `exclusion_reason` and
# `billing_category`, written in SQL, so that the counts and the amount come from one
# aggregate query and only one page of the list is loaded (5,000 employees: 9.7 MB of HTML
# and ~2.5 s before). `confirm_declaration` still classifies every row in Python for its
# snapshot; tests/web/test_billing.py checks that both agree.

REVIEW_PER_PAGE = 25
EXCLUDED_PER_PAGE = 50


def _days_between(end, start):
    """`end - start` in days as an SQL integer expression (SQLite has no date subtraction)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return end - start


def counted_clause(tariff: TariffYear, ref_date, *, min_days=None):
    """SQL condition true exactly when `exclusion_reason(employee, tariff, ref_date)` is None.
    `ref_date` and `min_days` (default: the tariff's) may be bound parameters."""
    conditions = [
        Employee.entry_date <= ref_date,
        or_(Employee.exit_date.is_(None), Employee.exit_date >= ref_date),
    ]
    if tariff.exclude_interim:
        conditions.append(Employee.contract_nature != INTERIM)
    if natures := excluded_natures(tariff):
        conditions.append(Employee.contract_nature.not_in(natures))
    if not tariff.include_suspended:
        conditions.append(not_(Employee.contract_suspended))
    if not tariff.include_apprentices:
        conditions.append(not_(Employee.apprentice))
    if tariff.min_contract_days:
        end = func.coalesce(Employee.exit_date, Employee.contract_end_date)
        limit = tariff.min_contract_days if min_days is None else min_days
        conditions.append(or_(end.is_(None), _days_between(end, Employee.entry_date) + 1 > limit))
    return and_(*conditions)


@dataclass
class Review:
    """What the review page shows: the whole company's counts and amount, one page of rows."""

    tariff: TariffYear
    counts: dict[str, int]
    new_employees: int
    new_company: bool
    amount: Amount
    counted: list[Counted]
    excluded_total: int  # listed on demand: excluded_employees()
    page: int
    pages: int

    @property
    def headcount(self) -> int:
        return sum(self.counts.values())


# The columns the review needs (display name, contract, dates, category, the counting rules),
# read as plain rows: not the NIR, the risks (JSON), the timestamps, nor an ORM identity each.
REVIEW_COLUMNS = (
    Employee.id,
    Employee.birth_name,
    Employee.usage_name,
    Employee.first_names,
    Employee.entry_date,
    Employee.contract_nature,
    Employee.contract_end_date,
    Employee.contract_suspended,
    Employee.apprentice,
    Employee.category,
    Employee.exit_date,
)


class ReviewEmployee:
    """A read-only register row of the review list: the attributes `exclusion_reason`,
    `billing_category` and the templates read, with the same `display_name` as `Employee`."""

    __slots__ = tuple(column.key for column in REVIEW_COLUMNS) + ("display_name",)

    def __init__(self, row):
        for name, value in zip(self.__slots__, row, strict=False):
            setattr(self, name, value)
        self.display_name = f"{(self.usage_name or self.birth_name).upper()} {self.first_names}"


@dataclass(frozen=True)
class _ReviewStatements:
    aggregate: Select
    page: Select
    excluded: Select
    review: Select  # aggregate + page in one statement (one round trip)


_review_statements_cache: dict[tuple, _ReviewStatements] = {}


def _review_statements(tariff: TariffYear) -> _ReviewStatements:
    """The review's three statements for the counting rules of `tariff`, with the company,
    the dates, the minimum contract length and the page as bound parameters. Built once per
    process and rule set: building them took as long as running them (SQLite, 5,000 rows)."""
    dialect = db.session.get_bind().dialect.name
    shape = (
        dialect,
        tariff.exclude_interim,
        tariff.include_suspended,
        tariff.include_apprentices,
        bool(tariff.min_contract_days),
        tuple(excluded_natures(tariff)),  # written into the statement by counted_clause
    )
    statements = _review_statements_cache.get(shape)
    if statements is not None:
        return statements
    ref_date, since = bindparam("ref_date", type_=Date), bindparam("since", type_=Date)
    counted_where = counted_clause(tariff, ref_date, min_days=bindparam("min_days", type_=Integer))
    # The company is rendered into the SQL text (literal_execute), the rest stays bound: on
    # PostgreSQL a statement prepared after five runs may switch to a generic plan, which
    # estimates an average company (16 employees) and, for the 5,000 of 00010, read them all
    # through the entry-date index and sorted them (0.5 -> 3-8 ms for the page).
    mine = Employee.company_id == bindparam("company_id", type_=Integer, literal_execute=True)
    # Everyone counted is in this window too (exit on or after the reference date).
    window = and_(mine, or_(Employee.exit_date.is_(None), Employee.exit_date >= since))
    counted_case = case((counted_where, 1), else_=0)
    # Grouped by the stored (category, apprentice), mapped to the billing category in Python:
    # ix_employees_company_billing holds every column read here in that order, so the
    # aggregate is one ordered index range, no table row and no sort.
    aggregate = (
        select(
            Employee.category,
            Employee.apprentice,
            func.count(),
            func.sum(counted_case),
            func.sum(case((Employee.entry_date > since, counted_case), else_=0)),
        )
        .where(window)
        .group_by(Employee.category, Employee.apprentice)
    )
    # The lists walk the (company, name) index and stop after one page. SQLite's planner
    # prefers the range `entry_date <= ?` of the (company, entry date) index, then sorts the
    # whole company (5,000 rows) for 50: there the rule is tested as a CASE, which no index
    # serves. PostgreSQL estimates the plain conditions well and walks the name index.
    if dialect == "sqlite":
        counted_rows, excluded_rows = counted_case == 1, counted_case == 0
    else:
        counted_rows, excluded_rows = counted_where, not_(counted_where)
    by_name = (Employee.birth_name, Employee.first_names, Employee.id)
    page = (
        select(*REVIEW_COLUMNS)
        .where(mine, counted_rows)
        .order_by(*by_name)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    excluded = (
        select(*REVIEW_COLUMNS)
        .where(window, excluded_rows)
        .order_by(*by_name)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    # The review reads the aggregate and the page in one statement: part 0 is the aggregate
    # (category, apprentice, total, counted, new), part 1 the page's rows (REVIEW_COLUMNS).
    agg = aggregate.subquery()
    listed = page.subquery()
    no_counts = (cast(null(), Integer),) * 3
    review = union_all(
        select(
            literal(0, Integer).label("part"),
            *(
                agg.c.category
                if column.key == "category"
                else agg.c.apprentice
                if column.key == "apprentice"
                else cast(null(), column.type).label(column.key)
                for column in REVIEW_COLUMNS
            ),
            *agg.c[2:],
        ),
        select(literal(1, Integer).label("part"), *(listed.c[column.key] for column in REVIEW_COLUMNS), *no_counts),
    )
    order = review.selected_columns
    review = review.order_by(order.part, order.birth_name, order.first_names, order.id)
    statements = _review_statements_cache[shape] = _ReviewStatements(aggregate, page, excluded, review)
    return statements


def review_declaration(company: Company, tariff: TariffYear, page: int = 1, per_page: int = REVIEW_PER_PAGE) -> Review:
    """Counts, excluded total and amount from one SQL aggregate and one page of counted
    employees (by name), read together: one query whatever the headcount (two with a
    per-company entry fee, or a page past the last one). The employees not counted are
    listed on demand (excluded_employees)."""
    ref_date = tariff.reference_date
    since = _year_before(ref_date)
    statements = _review_statements(tariff)
    params = {"company_id": company.id, "ref_date": ref_date, "since": since, "min_days": tariff.min_contract_days}
    page = max(1, page)
    counts, new_employees, excluded_total, listed = {}, 0, 0, []
    for row in db.session.execute(statements.review, {**params, "limit": per_page, "offset": (page - 1) * per_page}):
        if row[0]:
            listed.append(row[1:-3])
            continue
        category, apprentice, (total, n, new) = row.category, row.apprentice, row[-3:]
        n, new = int(n or 0), int(new or 0)
        if n:
            code = billing_category(SimpleNamespace(category=category, apprentice=apprentice), tariff)
            counts[code] = counts.get(code, 0) + n
        new_employees += new
        excluded_total += total - n
    new_company = (
        tariff.entry_fee_mode == ENTRY_FEE_PER_COMPANY
        and bool(tariff.entry_fee)
        and is_new_company(company, tariff.year, tariff.reference_date)
    )
    amount = compute_amount(tariff, counts, new_employees, new_company=new_company)
    headcount = sum(counts.values())
    pages = max(1, -(-headcount // per_page))
    if page > pages:  # past the last page (the register shrank): read the last one
        page = pages
        listed = db.session.execute(statements.page, {**params, "limit": per_page, "offset": (page - 1) * per_page})
    counted = [Counted(e, billing_category(e, tariff), e.entry_date > since) for e in map(ReviewEmployee, listed)]
    return Review(tariff, counts, new_employees, new_company, amount, counted, excluded_total, page, pages)


@dataclass
class ExcludedPage:
    rows: list[Excluded]
    total: int
    page: int
    pages: int


def excluded_employees(
    company: Company, tariff: TariffYear, page: int = 1, per_page: int = EXCLUDED_PER_PAGE
) -> ExcludedPage:
    """One page (by name) of the register rows that do not count, with the reason, and their
    total: the review's "Salariés non comptés", loaded when the user opens it."""
    ref_date = tariff.reference_date
    statements = _review_statements(tariff)
    params = {
        "company_id": company.id,
        "ref_date": ref_date,
        "since": _year_before(ref_date),
        "min_days": tariff.min_contract_days,
    }
    total = sum(t - int(n or 0) for _c, _a, t, n, _new in db.session.execute(statements.aggregate, params))
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    rows = db.session.execute(statements.excluded, {**params, "limit": per_page, "offset": (page - 1) * per_page})
    return ExcludedPage(
        [Excluded(e, exclusion_reason(e, tariff, ref_date) or "") for e in map(ReviewEmployee, rows)],
        total,
        page,
        pages,
    )
