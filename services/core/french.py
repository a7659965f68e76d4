"""French calendar words, for the dates the interface, the letters and the PDFs write out."""

from __future__ import annotations

from datetime import date

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def long_date(day: date, *, weekday: bool = False) -> str:
    """ "4 janvier 2027", or with `weekday` "lundi 4 janvier 2027" (a date or a local datetime)."""
    text = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{DAYS[day.weekday()]} {text}" if weekday else text
