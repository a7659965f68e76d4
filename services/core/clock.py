"""The portal's one time zone and its calendar day: dates are stored in UTC and shown, and
counted (due dates, campaigns, "present today"), in Paris."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    """Today in Paris (not the server's zone): French calendar dates."""
    return datetime.now(PARIS).date()


def to_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)
