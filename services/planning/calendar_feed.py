"""Private calendar feed per company: a secret URL (token hashed in calendar_feeds), renewable
and revocable; the feed shows employee initials only, never full names."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select, update

from extensions import db
from models.companies import Company
from models.planning import CalendarFeed
from services import scope
from services.core import audit
from services.planning.convocation import new_calendar, visit_event
from services.planning.reading import VisitFilters, coming_visits


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def active_feed(company: Company) -> CalendarFeed | None:
    return db.session.execute(
        select(CalendarFeed).where(CalendarFeed.company_id == company.id, CalendarFeed.revoked_at.is_(None))
    ).scalar_one_or_none()


_HAS_ACTIVE_FEED = (
    select(CalendarFeed.id)
    .where(CalendarFeed.company_id == bindparam("company_id"), CalendarFeed.revoked_at.is_(None))
    .limit(1)
)


def has_active_feed(company: Company) -> bool:
    """Whether the company has a live subscription address (the planning page says so)."""
    return db.session.connection().execute(_HAS_ACTIVE_FEED, {"company_id": company.id}).first() is not None


def renew_feed(company: Company, actor, now: datetime) -> str:
    """Revoke the current feed (if any) and create a new one; returns the clear token once."""
    db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.company_id == company.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(company_id=company.id, token_hash=hash_token(token), created_by_id=getattr(actor, "id", None))
    db.session.add(feed)
    db.session.flush()
    audit.record("planning.feed_renewed", actor=actor, company=company, target=feed)
    return token


def revoke_feed(company: Company, actor, now: datetime) -> bool:
    count = db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.company_id == company.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        audit.record("planning.feed_revoked", actor=actor, company=company)
    return bool(count)


def company_for_token(token: str) -> Company | None:
    if not token or len(token) > 100:
        return None
    return db.session.execute(
        select(Company)
        .join(CalendarFeed, CalendarFeed.company_id == Company.id)
        .where(
            CalendarFeed.token_hash == hash_token(token), CalendarFeed.revoked_at.is_(None), Company.active.is_(True)
        )
    ).scalar_one_or_none()


def initials(employee) -> str:
    name = employee.usage_name or employee.birth_name
    first = (employee.first_names or "?").strip()[:1]
    return f"{first.upper()}. {name.strip()[:1].upper()}."


def build_feed(company: Company, service: dict, now: datetime) -> bytes:
    cal = new_calendar(f"{service['short_name']} – visites {company.code}")
    cal.add("x-published-ttl", "PT1H")
    for visit in coming_visits(scope.company_ids(company), VisitFilters(), now, limit=1000):
        label = initials(visit.employee)
        summary = f"{visit.type_label} – {label}"
        description = f"Visite de santé au travail ({visit.type_label}) – salarié(e) {label}, {visit.company.code}."
        cal.add_component(visit_event(visit, summary=summary, description=description, domain=service["domain"]))
    return cal.to_ical()
