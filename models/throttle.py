"""Failure counters shared by every app server (kept in the database, not per process)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import UTCDateTime, utcnow


class ThrottleCounter(db.Model):
    __tablename__ = "throttle_counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "code:00010", "ip:203.0.113.7", "email:<sha256>"; never a secret.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
