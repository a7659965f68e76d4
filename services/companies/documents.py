"""Mon espace documentaire: the company's documents other than its invoices (attestations,
avis, ...), the employees and years that have some, and one page of them."""

from __future__ import annotations

from sqlalchemy import Integer, String, and_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import joinedload

from extensions import db
from models.billing import BILLING_DOC_KINDS, Document
from models.companies import Company
from models.employees import Employee
from services.core.sql import cached_statement


# Built once per process, the company a parameter (services/core/sql.py, docs/PERFORMANCE.md).
@cached_statement
def _filter_choices_statement():
    """Employees and years that have documents (other than invoices), employees first by
    name, then years newest first: one UNION ALL."""
    company_id = bindparam("company_id", type_=Integer)
    mine = and_(Document.company_id == company_id, Document.kind.not_in(BILLING_DOC_KINDS))
    employees_q = (
        select(
            literal(0).label("part"),
            Employee.id.label("id"),
            Employee.birth_name.label("birth_name"),
            Employee.usage_name.label("usage_name"),
            Employee.first_names.label("first_names"),
        )
        .join(Document, Document.employee_id == Employee.id)
        .where(mine, Employee.company_id == company_id)
        .distinct()
    )
    years_q = (
        select(
            literal(1).label("part"),
            Document.year.label("id"),
            cast(null(), String).label("birth_name"),
            cast(null(), String).label("usage_name"),
            cast(null(), String).label("first_names"),
        )
        .where(mine)
        .distinct()
    )
    both = union_all(employees_q, years_q).subquery()
    return select(both).order_by(both.c.part, both.c.birth_name, both.c.first_names, both.c.id.desc())


def filter_choices(company: Company) -> tuple[list, list[int]]:
    """(employees with documents: rows of id, birth_name, usage_name, first_names; years with
    documents, newest first), in one query."""
    rows = db.session.execute(_filter_choices_statement(), {"company_id": company.id}).all()
    return [row for row in rows if row.part == 0], [row.id for row in rows if row.part == 1]


def document_page(company: Company, filters: dict, page: int, per_page: int) -> list[Document]:
    """One page of documents, newest first, and one more row when a next page exists.
    `filters`: optional "type" (kind), "salarie" (employee id), "annee" (year), already checked."""
    query = (
        select(Document)
        .options(joinedload(Document.employee))
        .where(Document.company_id == company.id, Document.kind.not_in(BILLING_DOC_KINDS))
    )
    if "type" in filters:
        query = query.where(Document.kind == filters["type"])
    if "salarie" in filters:
        query = query.where(Document.employee_id == int(filters["salarie"]))
    if "annee" in filters:
        query = query.where(Document.year == int(filters["annee"]))
    query = query.order_by(Document.created_at.desc(), Document.id.desc())
    return db.session.execute(query.limit(per_page + 1).offset((page - 1) * per_page)).scalars().all()
