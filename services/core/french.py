"""French dates and amounts, as the interface, the letters, the e-mails and the PDFs write them.

Babel (CLDR's fr_FR data) does the formatting; two house details are kept on top of it:
"1er" for the first day of a month, and a plain no-break space (U+00A0) wherever CLDR puts a
narrow one (U+202F) between thousands, so that amounts read the same in the PDFs' fonts and in
the texts already written ("3 779,28 €")."""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date, get_day_names, get_month_names
from babel.numbers import format_currency

LOCALE = "fr_FR"
NBSP = "\u00a0"
_NARROW_NBSP = "\u202f"
_CENT = Decimal("0.01")

DAYS = tuple(get_day_names("wide", locale=LOCALE)[i] for i in range(7))  # lundi ... dimanche
MONTHS = tuple(get_month_names("wide", locale=LOCALE)[m] for m in range(1, 13))  # janvier ... décembre


def long_date(day: date, *, weekday: bool = False) -> str:
    """ "4 janvier 2027", or with `weekday` "lundi 4 janvier 2027" (a date or a local datetime);
    the first of the month is "1er": "mardi 1er décembre 2026"."""
    return _long_date(day if type(day) is date else date(day.year, day.month, day.day), weekday)


def date_fr(day: date | None) -> str:
    """ "1er janvier 2027", "15 août 2027" (the cotisation's dates); "" for None."""
    if day is None:
        return ""
    text = _long_date(day if type(day) is date else date(day.year, day.month, day.day), False)
    return "1er" + text[1:] if day.day == 1 else text


def short_date(day: date | None) -> str:
    """ "01/12/2026"; "" for None."""
    return format_date(day, "dd/MM/y", locale=LOCALE) if day else ""


def format_eur(value) -> str:
    """1234.5 -> "1 234,50 €" (no-break spaces), rounded half-up to the cent (floats through str)."""
    if value is None:
        value = 0
    amount = Decimal(str(value) if isinstance(value, float) else value).quantize(_CENT, rounding=ROUND_HALF_UP)
    if amount == 0:
        amount = abs(amount)  # never "-0,00 €"
    return _eur(amount)


# Memoized: Babel takes ~45 us for an amount and ~15 us for a date, and a list page writes
# dozens of the same few values (tariffs, due dates); see docs/PERFORMANCE.md ("Babel").
@functools.lru_cache(maxsize=4096)
def _eur(amount: Decimal) -> str:
    return format_currency(amount, "EUR", locale=LOCALE).replace(_NARROW_NBSP, NBSP)


@functools.lru_cache(maxsize=4096)
def _long_date(day: date, weekday: bool) -> str:
    text = format_date(day, "EEEE d MMMM y" if weekday else "d MMMM y", locale=LOCALE)
    if day.day == 1:  # French writes the first of the month "1er" (Babel writes "1")
        text = text.replace(" 1 ", " 1er ", 1) if weekday else "1er" + text[1:]
    return text


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
