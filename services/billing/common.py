"""Shared billing vocabulary: constants, errors and money(); today(), PARIS and format_eur()
come from services.core (one clock, one French formatting) and are re-exported here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.core.clock import PARIS, today  # noqa: F401 - re-exported for the billing modules
from services.core.french import format_eur  # noqa: F401 - re-exported for the billing modules

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


def money(value) -> Decimal:
    """Exact decimal rounded half-up to the cent. Floats go through str() (never binary)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def positive_amount(value, what: str | None = None) -> Decimal:
    """A positive amount of at most two decimals, never rounded silently ("1 200,50" and
    "1200.50" read alike). Refusals are French messages, prefixed with `what` when given."""

    def refuse(text: str) -> BillingError:
        return BillingError(f"{what} : {text}" if what else text[:1].upper() + text[1:])

    try:
        raw = Decimal(str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError, TypeError):
        raise refuse("montant invalide.") from None
    if not raw.is_finite():
        raise refuse("montant invalide.")
    if raw <= 0:
        raise refuse("le montant doit être positif.")
    if raw != raw.quantize(CENT):
        raise refuse("deux décimales au plus.")
    if raw >= Decimal("1000000000"):
        raise refuse("montant trop élevé.")
    return raw.quantize(CENT)


def check_reference(reference: str | None) -> str | None:
    """A payment reference: one line of 100 characters at most."""
    if reference and ("\r" in reference or "\n" in reference or len(reference) > 100):
        raise BillingError("Référence invalide.")
    return reference or None
