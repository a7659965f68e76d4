"""Letters in bulk: after a member import, the n° télédéclarant letter of every member or
site that has none yet, in one PDF (one letter per page, in code order), and the list of who
got one. Each number is new (services.staff.team_and_members.renew_teledeclarant keeps only its hash) and
appears only in the PDF. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.companies import Company
from models.users import User
from services.core import audit
from services.staff import letters
from services.staff import team_and_members as staff

MAX_LETTERS = 500
BATCH_ACTION = "company.letters_batch"


def waiting_query():
    return select(Company).where(Company.teledeclarant_hash.is_(None), Company.active.is_(True))


def waiting(limit: int = 100) -> tuple[int, list[Company]]:
    """(how many active members and sites have no n° télédéclarant, the first ones by code)."""
    total = db.session.execute(select(func.count()).select_from(waiting_query().subquery())).scalar_one()
    rows = db.session.execute(waiting_query().order_by(Company.code).limit(limit)).scalars()
    return total, list(rows)


def generate(actor, service: dict, *, portal_url: str, now: datetime, ip: str | None = None) -> tuple[bytes, list[str]]:
    """The PDF of the letters of the waiting companies (at most MAX_LETTERS, by code) and
    their codes; nothing is done when none waits."""
    companies = list(db.session.execute(waiting_query().order_by(Company.code).limit(MAX_LETTERS)).scalars())
    if not companies:
        return b"", []
    pairs = [(company, staff.renew_teledeclarant(company, actor=actor, ip=ip)) for company in companies]
    pdf = letters.teledeclarant_letters(pairs, service, portal_url=portal_url, now=now)
    pairs.clear()  # the numbers live only in the PDF
    codes = [c.code for c in companies]
    audit.record(BATCH_ACTION, actor=actor, ip=ip, count=len(codes), codes=codes)
    db.session.flush()
    return pdf, codes


@dataclass
class Batch:
    created_at: datetime
    actor: str
    codes: list[str]


def recent_batches(limit: int = 10) -> list[Batch]:
    """Who got a letter: the latest batches, newest first (one query)."""
    rows = db.session.execute(
        select(AuditEvent.created_at, AuditEvent.details, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.action == BATCH_ACTION)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [Batch(r[0], r[2] or "—", list((r[1] or {}).get("codes", []))) for r in rows]
