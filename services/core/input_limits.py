"""Plausible ranges for values people type or put in a URL (docs/ROBUSTNESS.md): one place for
the form guard (blueprints/base_form.py) and the query-string parsers, so that no date
arithmetic (a week after 9999-12-31, 14 years after a birth date...) can overflow."""

from __future__ import annotations

from datetime import date

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)


def is_plausible_date(value: date | None) -> bool:
    return value is not None and DATE_MIN <= value <= DATE_MAX


def parse_iso_date(value: str | None) -> date | None:
    """`AAAA-MM-JJ` within the plausible range, else None (absent, malformed or out of range)."""
    value = (value or "").strip()
    if len(value) != 10:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if is_plausible_date(parsed) else None


def iso_week_monday(year: int, week: int) -> date | None:
    """Monday of ISO week `week` of `year` within the plausible range, else None."""
    if not DATE_MIN.year <= year <= DATE_MAX.year - 1:
        return None
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        return None
