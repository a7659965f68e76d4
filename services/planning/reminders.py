"""Reminders e-mailed to employers two days before a visit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from extensions import db
from models.planning import (
    ACTIVE_VISIT_STATUSES,
    Visit,
)
from services import scope
from services.core import audit
from services.planning.common import notify_employers


def send_reminders(now: datetime, days_before: int = 2) -> int:
    """Queue a reminder for each active visit starting within `days_before` days. Each visit is
    claimed with an atomic UPDATE ... WHERE reminder_sent_at IS NULL, so a second run (or a
    concurrent one) never queues it twice. Commits per visit."""
    from services.core.database import write_intent

    candidates = (
        db.session.execute(
            select(Visit.id).where(
                Visit.status.in_(ACTIVE_VISIT_STATUSES),
                Visit.reminder_sent_at.is_(None),
                Visit.starts_at > now,
                Visit.starts_at <= now + timedelta(days=days_before),
            )
        )
        .scalars()
        .all()
    )
    db.session.commit()
    sent = 0
    for visit_id in candidates:
        with write_intent():
            claimed = db.session.execute(
                update(Visit)
                .where(Visit.id == visit_id, Visit.reminder_sent_at.is_(None))
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                visit = scope.visit(scope.EVERY_COMPANY, visit_id)
                notify_employers(visit.company, visit, "reminder", "Rappel : visite dans deux jours")
                audit.record("planning.reminder_queued", company=visit.company, target=visit)
                sent += 1
            db.session.commit()
    return sent
