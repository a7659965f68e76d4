"""Server-side login sessions: open, load (with idle and absolute timeouts), revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from extensions import db
from models.base import utcnow
from models.users import LoginSession, User

# last_seen_at is written at most this often, so that reading pages does not write each time.
_TOUCH_EVERY = timedelta(seconds=60)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: User, *, ip: str | None = None, user_agent: str | None = None) -> str:
    """Create a session row and return the token for the cookie (the row keeps its hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    absolute = current_app.config["SESSION_ABSOLUTE_TIMEOUT"]
    if user.is_staff:
        absolute = min(absolute, timedelta(hours=current_app.config.get("STAFF_SESSION_HOURS", 8)))
    db.session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + absolute,
            ip_address=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    return token


def idle_timeout_for(user: User) -> timedelta:
    idle = current_app.config["SESSION_IDLE_TIMEOUT"]
    if user.is_staff:
        idle = min(idle, timedelta(minutes=current_app.config.get("STAFF_IDLE_MINUTES", 15)))
    return idle


# Built once: every authenticated request runs it, and a statement object that is reused
# keeps its memoized cache key (building a new select() costs more than running it).
_BY_TOKEN_HASH = (
    select(LoginSession)
    .options(joinedload(LoginSession.user))
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def load_session(token: str | None, now: datetime | None = None) -> LoginSession | None:
    """The live session for this token, or None (unknown, revoked, idle or expired)."""
    if not token:
        return None
    now = now or utcnow()
    # The user comes in the same query (a join), not in a second lazy load: one query less
    # on every authenticated request (docs/PERFORMANCE.md).
    row = db.session.execute(_BY_TOKEN_HASH, {"token_hash": _token_hash(token)}).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.active or now - row.last_seen_at > idle_timeout_for(user):
        return None
    return row


def needs_touch(row: LoginSession, now: datetime | None = None) -> bool:
    """True when the recorded activity is old enough to be written again."""
    return (now or utcnow()) - row.last_seen_at >= _TOUCH_EVERY


def touch(session_id: int, now: datetime | None = None) -> None:
    """Record activity on a session (the caller commits)."""
    db.session.execute(update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now or utcnow()))


def revoke(row: LoginSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all(user: User, *, except_id: int | None = None) -> int:
    """End every live session of the user (password change, "tous les appareils")."""
    stmt = (
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if except_id is not None:
        stmt = stmt.where(LoginSession.id != except_id)
    return db.session.execute(stmt).rowcount or 0
