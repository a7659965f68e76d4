"""Failure limits per key (code adhérent, IP, ...): counted in the database so that every
worker and every app server sees the same numbers, and a lock that expires by itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from extensions import db
from models.base import utcnow
from models.throttle import ThrottleCounter


@dataclass(frozen=True)
class Rule:
    max_failures: int  # failures allowed inside the window before the lock
    window: timedelta
    lock: timedelta


# Defaults from SECURITY.md; routes may pass their own.
CODE_RULE = Rule(max_failures=5, window=timedelta(minutes=15), lock=timedelta(minutes=15))
IP_RULE = Rule(max_failures=20, window=timedelta(hours=1), lock=timedelta(hours=1))


def locked_for(key: str, now: datetime | None = None) -> timedelta | None:
    """Time left on the lock of `key`, or None when it may try."""
    now = now or utcnow()
    row = db.session.execute(select(ThrottleCounter).where(ThrottleCounter.key == key)).scalar_one_or_none()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until - now


def register_failure(key: str, rule: Rule, now: datetime | None = None) -> bool:
    """Count one failure (atomic upsert); True when the key is now locked. Caller commits."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ThrottleCounter).values(key=key, failures=1, window_started_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"failures": ThrottleCounter.failures + 1})
    db.session.execute(stmt)
    row = db.session.execute(
        select(ThrottleCounter).where(ThrottleCounter.key == key).execution_options(populate_existing=True)
    ).scalar_one()
    if now - row.window_started_at > rule.window:
        # The window is over: this failure starts a new one.
        row.failures, row.window_started_at = 1, now
    if row.failures >= rule.max_failures:
        row.locked_until = now + rule.lock
        row.failures, row.window_started_at = 0, now
        return True
    return False


def reset(key: str) -> None:
    row = db.session.execute(select(ThrottleCounter).where(ThrottleCounter.key == key)).scalar_one_or_none()
    if row is not None:
        row.failures, row.locked_until = 0, None


def minutes_label(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60) + (1 if delta.total_seconds() % 60 else 0))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"
