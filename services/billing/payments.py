"""Payments and what is left to pay; the company's invoice list."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Integer,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models.billing import (
    CREDIT_NOTE,
    PAYMENT_METHODS,
    Declaration,
    Invoice,
    Payment,
)
from models.companies import Company
from services.billing import ledger
from services.billing.common import ZERO, BillingError, check_reference, format_eur, money, positive_amount, today
from services.billing.tariffs import open_campaign
from services.core import audit


def record_payment(
    invoice: Invoice, amount, paid_on: date, method: str, reference: str | None = None, actor=None
) -> Payment:
    """Record a payment the service received; the invoice's status follows from its payments."""
    value = positive_amount(amount)
    if invoice.kind == CREDIT_NOTE:
        raise BillingError("Un avoir ne se paie pas.")
    if method not in PAYMENT_METHODS:
        raise BillingError(f"Mode de paiement inconnu ({', '.join(PAYMENT_METHODS)}).")
    if value > invoice.amount_due:
        raise BillingError(f"Le montant dépasse le reste à payer ({format_eur(invoice.amount_due)}).")
    check_reference(reference)
    payment = Payment(
        invoice=invoice,
        paid_on=paid_on,
        amount=value,
        method=method,
        reference=reference,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        "payment.recorded",
        actor=actor,
        company=invoice.company,
        target=payment,
        invoice=invoice.number,
        amount=str(value),
        method=method,
    )
    return payment


_COMPANY_INVOICES = (
    select(Invoice)
    .where(Invoice.company_id == bindparam("company_id", type_=Integer))
    .options(
        joinedload(Invoice.payments),
        selectinload(Invoice.credits),
        selectinload(Invoice.applications),
        selectinload(Invoice.corrects),
    )
    .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
)


def company_invoices(company: Company) -> list[Invoice]:
    """The company's invoices and credit notes, newest first, with payments (one query, its
    statement built once)."""
    return list(db.session.execute(_COMPANY_INVOICES, {"company_id": company.id}).unique().scalars())


def billing_status(company_ids: list[int], on: date | None = None) -> dict[int, dict]:
    """For "Mes entreprises": per company, whether the open campaign still awaits a declaration
    and how much is left to pay. Three queries whatever the number of companies."""
    on = on or today()
    status = {cid: {"declaration_due": False, "amount_due": ZERO} for cid in company_ids}
    if not company_ids:
        return status
    open_tariff = open_campaign(on)
    if open_tariff is not None:
        declared = set(
            db.session.execute(
                select(Declaration.company_id).where(
                    Declaration.company_id.in_(company_ids), Declaration.year == open_tariff.year
                )
            ).scalars()
        )
        for cid in company_ids:
            status[cid]["declaration_due"] = cid not in declared
    paid = ledger.settled_subquery()  # payments and credit notes applied
    rows = db.session.execute(
        select(Invoice.company_id, Invoice.total_ttc, func.coalesce(paid.c.paid, 0))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.company_id.in_(company_ids), Invoice.kind != CREDIT_NOTE)
    ).all()
    for cid, total, paid_amount in rows:
        status[cid]["amount_due"] += max(money(total) - money(paid_amount), ZERO)
    return status
