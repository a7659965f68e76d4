"""Invoices and credit notes the staff issue by hand for a member, with the reason: no-show
fees, interim workers billed per visit, a goodwill gesture, a correction. They take the next
number of the year's single sequence and enter the member's account like any other."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from extensions import db
from models.billing import CREDIT_NOTE, INVOICE, Invoice, InvoiceLine
from models.companies import Company
from services.billing import ledger
from services.billing.amounts import _line, _totals
from services.billing.common import BillingError, format_eur, positive_amount, today
from services.billing.invoices import _address, next_invoice_number
from services.core import audit

DEFAULT_VAT_RATE = Decimal("20.00")
DEFAULT_DUE_DAYS = 30


def _clean_text(value, what: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise BillingError(f"{what} : valeur obligatoire.")
    if "\r" in text or "\n" in text or len(text) > max_length:
        raise BillingError(f"{what} : une seule ligne de {max_length} caractères au plus.")
    return text


def _amount(value, what: str) -> Decimal:
    """A positive amount with at most two decimals (never rounded silently)."""
    amount = positive_amount(value, what)
    if amount >= Decimal("1000000"):
        raise BillingError(f"{what} : montant trop élevé.")
    return amount


def credited_on(invoice: Invoice) -> Decimal:
    """The credit notes (TTC) that already correct `invoice`."""
    return db.session.execute(
        select(func.coalesce(func.sum(Invoice.total_ttc), 0)).where(
            Invoice.corrects_id == invoice.id, Invoice.kind == CREDIT_NOTE
        )
    ).scalar_one()


def _new(company: Company, kind: str, label: str, quantity: int, unit_price: Decimal, vat_rate: Decimal, on: date):
    line = _line("MANUEL", label, quantity, unit_price)
    amount = _totals([line], vat_rate)
    invoice = Invoice(
        number=next_invoice_number(on.year),
        kind=kind,
        company_id=company.id,
        year=on.year,
        issue_date=on,
        due_date=on + timedelta(days=DEFAULT_DUE_DAYS),
        buyer_name=company.name,
        buyer_code=company.code,
        buyer_address=_address(company),
        vat_rate=amount.vat_rate,
        total_ht=amount.total_ht,
        total_vat=amount.total_vat,
        total_ttc=amount.total_ttc,
    )
    invoice.lines = [
        InvoiceLine(
            position=0,
            code=line.code,
            label=line.label,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_ht=line.total_ht,
        )
    ]
    return invoice


def issue_manual_invoice(
    company: Company,
    *,
    label: str,
    quantity,
    unit_price,
    reason: str,
    actor,
    vat_rate: Decimal = DEFAULT_VAT_RATE,
    on: date | None = None,
) -> Invoice:
    """An invoice of one line (quantity × unit price HT, TVA added), with the staff's reason.
    It uses the member's remaining credit, like any new invoice."""
    on = on or today()
    label = _clean_text(label, "Libellé", 200)
    reason = _clean_text(reason, "Motif", 300)
    try:
        count = int(str(quantity).strip())
    except (ValueError, TypeError):
        raise BillingError("Quantité : nombre entier attendu.") from None
    if not 1 <= count <= 10_000:
        raise BillingError("Quantité : entre 1 et 10 000.")
    price = _amount(unit_price, "Prix unitaire HT")
    invoice = _new(company, INVOICE, label, count, price, vat_rate, on)
    invoice.reason = reason
    db.session.add(invoice)
    db.session.flush()
    audit.record(
        "invoice.issued",
        actor=actor,
        company=company,
        target=invoice,
        number=invoice.number,
        kind=INVOICE,
        total_ttc=str(invoice.total_ttc),
        reason=reason,
        manual=True,
    )
    ledger.use_available_credit(invoice, on, actor)
    return invoice


def issue_manual_credit_note(
    invoice: Invoice, *, amount_ht, reason: str, actor, label: str | None = None, on: date | None = None
) -> Invoice:
    """A credit note that names and corrects `invoice` (amount HT, the invoice's TVA rate). The
    invoice's credit notes together never exceed its total; the part of this one beyond what is
    still due on the invoice becomes the member's credit."""
    if invoice.kind == CREDIT_NOTE:
        raise BillingError("Un avoir corrige une facture, pas un autre avoir.")
    on = on or today()
    reason = _clean_text(reason, "Motif", 300)
    label = _clean_text(label or f"Avoir sur la facture {invoice.number}", "Libellé", 200)
    price = _amount(amount_ht, "Montant HT")
    company = db.session.get(Company, invoice.company_id)
    left = invoice.total_ttc - credited_on(invoice)
    if _totals([_line("MANUEL", label, 1, price)], invoice.vat_rate).total_ttc > left:
        raise BillingError(
            f"Montant : les avoirs de cette facture dépasseraient son total (reste {format_eur(left)} TTC)."
        )
    note = _new(company, CREDIT_NOTE, label, 1, price, invoice.vat_rate, on)
    note.corrects = invoice
    note.reason = reason
    db.session.add(note)
    db.session.flush()
    audit.record(
        "invoice.issued",
        actor=actor,
        company=company,
        target=note,
        number=note.number,
        kind=CREDIT_NOTE,
        total_ttc=str(note.total_ttc),
        corrects=invoice.number,
        reason=reason,
        manual=True,
    )
    ledger.apply_credit_note(note, on, actor)
    return note
