"""Shared billing vocabulary: constants, errors, today(), money() and format_eur()."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NBSP = "\u00a0"
INTERIM = "03"
APPRENTICE = "APP"
ATTESTATION_TEXT = "J'atteste l'exactitude de cette déclaration"
LINE_LABELS = {
    "SI": "Cotisation – suivi individuel (SI)",
    "SIA": "Cotisation – suivi individuel adapté (SIA)",
    "SIR": "Cotisation – suivi individuel renforcé (SIR)",
    APPRENTICE: "Cotisation – apprentis",
}
COUNT_LABELS = {"SI": "SI", "SIA": "SIA", "SIR": "SIR", APPRENTICE: "Apprentis"}


class BillingError(ValueError):
    """A refused billing operation; the message is French and can be shown to the user."""


class TariffError(BillingError):
    pass


def today() -> date:
    """Today in Paris: campaign and due dates are French calendar dates."""
    return datetime.now(PARIS).date()


def money(value) -> Decimal:
    """Exact decimal rounded half-up to the cent. Floats go through str() (never binary)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_eur(value) -> str:
    """1234.5 -> "1 234,50 €" (no-break spaces)."""
    amount = money(value if value is not None else 0)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NBSP.join(groups)},{cents}{NBSP}€"
