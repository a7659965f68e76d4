"""Who is present in a company on a day (not yet gone: no exit date, or one not passed), as
SQL: the condition, a correlated count and the counts of several companies in one query."""

from __future__ import annotations

from sqlalchemy import Date, Integer, bindparam, func, or_, select

from extensions import db
from models.employees import Employee
from services.core import clock
from services.core.sql import cached_statement

TODAY = "today"  # the name of the bound day in the statements below


def present():
    """Employees still in the company on the bound `today` (the (company_id, exit_date) index)."""
    today = bindparam(TODAY, type_=Date)
    return or_(Employee.exit_date.is_(None), Employee.exit_date >= today)


def present_employees_count(company_id):
    """Correlated count of the present employees of the company `company_id` refers to."""
    # count(*), not count(id): the (company_id, exit_date) index answers alone (index-only).
    return select(func.count()).where(Employee.company_id == company_id, present()).scalar_subquery()


def present_employee_counts(company_ids: list[int]) -> dict[int, int]:
    """{company_id: present employees} for these companies only (absent: none), one query."""
    if not company_ids:
        return {}
    rows = db.session.execute(_present_counts_statement(), {"company_ids": company_ids, TODAY: clock.today()})
    return dict(rows.tuples().all())


# Built once per process (services/core/sql.py, docs/PERFORMANCE.md).
@cached_statement
def _present_counts_statement():
    return (
        select(Employee.company_id, func.count())
        .where(Employee.company_id.in_(bindparam("company_ids", type_=Integer, expanding=True)), present())
        .group_by(Employee.company_id)
    )
