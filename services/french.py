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
    """ "4 janvier 2027", or with `weekday` "lundi 4 janvier 2027" (a date or a local datetime);
    the first of the month is "1er": "mardi 1er décembre 2026"."""
    text = f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"
    return f"{DAYS[day.weekday()]} {text}" if weekday else text


# Words before which "de" and "que" elide (the silent h is left out: "de Hénaff").
_ELIDING = tuple("aeiouyàâäéèêëîïôöùûüœæ")


def _elides(word: str) -> bool:
    return word[:1].lower() in _ELIDING


def of(name: str) -> str:
    """ "de Breizh Paie", "d'AIST22", "d'Entreprise Le Goff"."""
    return f"d'{name}" if _elides(name) else f"de {name}"


def as_role(role_label: str) -> str:
    """ "en tant qu'employeur", "en tant que tiers déclarant" (the label in lower case)."""
    label = role_label.lower()
    return f"en tant qu'{label}" if _elides(label) else f"en tant que {label}"
