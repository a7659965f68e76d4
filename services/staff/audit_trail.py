"""The audit trail as the back office reads it: filtered by company, user, action and dates,
one page (newest first) or every event in order for the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from extensions import db
from models.audit import AuditEvent
from models.companies import Company
from models.users import User
from services.core.clock import PARIS
from services.core.search import escape_like
from services.staff.team_and_members import Page


@dataclass(frozen=True)
class AuditFilters:
    code: str | None = None
    email: str | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None


def _query(filters: AuditFilters):
    actor = aliased(User)
    stmt = (
        select(AuditEvent, actor.email, Company.code)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Company, Company.id == AuditEvent.company_id)
    )
    if filters.code:
        stmt = stmt.where(Company.code == filters.code.strip())
    if filters.email:
        email = filters.email.strip().lower()
        # Failed logins carry the address tried as actor_label, without a user.
        stmt = stmt.where(or_(func.lower(actor.email) == email, func.lower(AuditEvent.actor_label) == email))
    if filters.action:
        stmt = stmt.where(AuditEvent.action.like(f"{escape_like(filters.action.strip())}%", escape="\\"))
    if filters.start:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(filters.start, time.min, PARIS))
    if filters.end:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(filters.end + timedelta(days=1), time.min, PARIS))
    return stmt


def audit_page(filters: AuditFilters, page: int, per_page: int) -> Page:
    """One page of (event, actor e-mail, company code), newest first, with the total."""
    stmt = _query(filters)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(
        stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(rows, total, page, per_page)


def audit_rows(filters: AuditFilters) -> Iterator[tuple]:
    """Every matching (event, actor e-mail, company code), oldest first, streamed by 500."""
    stmt = _query(filters).order_by(AuditEvent.created_at, AuditEvent.id).execution_options(yield_per=500)
    yield from db.session.execute(stmt)
