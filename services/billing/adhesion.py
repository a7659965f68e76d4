"""The member's adhesion date: imported with the members, edited by staff; it decides whether
a year's declaration bills the per-company entry fee (`amounts.is_new_company`)."""

from __future__ import annotations

from datetime import date

from extensions import db
from models.companies import Company
from services.billing.common import BillingError, today
from services.core import audit


def set_adhesion_date(company: Company, value: date | None, actor=None) -> bool:
    """Set (or clear) the adhesion date; False when unchanged."""
    if value is not None and (value > today() or value.year < 1946):
        raise BillingError("Date d'adhésion : entre 1946 et aujourd'hui.")
    old = company.adhesion_date
    if old == value:
        return False
    company.adhesion_date = value
    db.session.flush()
    audit.record(
        "company.adhesion_date_set",
        actor=actor,
        company=company,
        target=company,
        old=old.isoformat() if old else None,
        new=value.isoformat() if value else None,
    )
    return True
