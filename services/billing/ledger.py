"""The member's account (ledger): invoices, credit notes, payments and refunds as entries.

The rules, in one place:
- an invoice's amount still due = its total TTC − the credit notes applied to it − the payments
  allocated to it (`Invoice.amount_due`; its SQL twin is `settled_subquery`);
- a credit note names the invoice it corrects and is applied to it when it is issued, up to
  what is still due there; the surplus is a credit that the company's next invoice uses, or
  that the staff refund (`record_refund`);
- the member's balance = invoices − credit notes − payments + refunds (positive: the member
  owes; negative: the service owes the member).
Amounts are exact decimals (cents), never floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import selectinload

from extensions import db
from models.billing import CREDIT_NOTE, PAYMENT_METHODS, CreditApplication, Invoice, Payment, Refund
from models.companies import Company
from services.billing.common import ZERO, BillingError, check_reference, format_eur, money, positive_amount, today
from services.core import audit


def settled_subquery():
    """Per invoice, what settles it: payments allocated plus credit notes applied (column
    `paid`, the name the status filters have always read). The SQL twin of
    `Invoice.amount_due`."""
    parts = union_all(
        select(Payment.invoice_id.label("invoice_id"), Payment.amount.label("amount")).where(
            Payment.rejected_on.is_(None)
        ),
        select(CreditApplication.invoice_id.label("invoice_id"), CreditApplication.amount.label("amount")),
    ).subquery()
    return select(parts.c.invoice_id, func.sum(parts.c.amount).label("paid")).group_by(parts.c.invoice_id).subquery()


def settled_scalar(invoice_column):
    """What settles the invoice `invoice_column` (correlated scalar, for per-company queries)."""
    paid = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.invoice_id == invoice_column, Payment.rejected_on.is_(None)
    )
    credited = select(func.coalesce(func.sum(CreditApplication.amount), 0)).where(
        CreditApplication.invoice_id == invoice_column
    )
    return paid.scalar_subquery() + credited.scalar_subquery()


def _apply(note: Invoice, invoice: Invoice, amount: Decimal, on: date, actor=None) -> CreditApplication:
    application = CreditApplication(credit_note=note, invoice=invoice, amount=amount, applied_on=on)
    db.session.add(application)
    db.session.flush()
    audit.record(
        "credit_note.applied",
        actor=actor,
        company=invoice.company,
        target=invoice,
        credit_note=note.number,
        invoice=invoice.number,
        amount=str(amount),
    )
    return application


def apply_credit_note(note: Invoice, on: date | None = None, actor=None) -> CreditApplication | None:
    """Apply a credit note to the invoice it corrects, up to what is still due there."""
    target = note.corrects
    if note.kind != CREDIT_NOTE or target is None or target.kind == CREDIT_NOTE:
        return None
    amount = min(note.credit_remaining, target.amount_due)
    if amount <= 0:
        return None
    return _apply(note, target, amount, on or today(), actor)


def _credit_notes_with_credit(company_id: int) -> list[Invoice]:
    notes = db.session.execute(
        select(Invoice)
        .where(Invoice.company_id == company_id, Invoice.kind == CREDIT_NOTE)
        .options(selectinload(Invoice.applications), selectinload(Invoice.refunds))
        .order_by(Invoice.issue_date, Invoice.id)
    ).scalars()
    return [note for note in notes if note.credit_remaining > 0]


def use_available_credit(invoice: Invoice, on: date | None = None, actor=None) -> list[CreditApplication]:
    """A new invoice uses the company's remaining credit, oldest credit note first."""
    if invoice.kind == CREDIT_NOTE:
        return []
    applied = []
    for note in _credit_notes_with_credit(invoice.company_id):
        amount = min(note.credit_remaining, invoice.amount_due)
        if amount <= 0:
            break
        applied.append(_apply(note, invoice, amount, on or today(), actor))
    return applied


def available_credit(company: Company) -> Decimal:
    return sum((note.credit_remaining for note in _credit_notes_with_credit(company.id)), ZERO)


def record_refund(
    note: Invoice, amount, refunded_on: date, method: str, reference: str | None = None, actor=None
) -> Refund:
    """The service pays back (part of) a credit note's remaining credit."""
    if note.kind != CREDIT_NOTE:
        raise BillingError("Seul le crédit d'un avoir se rembourse.")
    value = positive_amount(amount)
    if value > note.credit_remaining:
        raise BillingError(f"Le montant dépasse le crédit restant de l'avoir ({format_eur(note.credit_remaining)}).")
    if method not in PAYMENT_METHODS:
        raise BillingError("Mode de remboursement inconnu.")
    if refunded_on > today():
        raise BillingError("La date ne peut pas être dans le futur.")
    check_reference(reference)
    refund = Refund(
        company_id=note.company_id,
        credit_note=note,
        amount=value,
        refunded_on=refunded_on,
        method=method,
        reference=reference or None,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(refund)
    db.session.flush()
    audit.record(
        "refund.recorded",
        actor=actor,
        company=note.company,
        target=refund,
        credit_note=note.number,
        amount=str(value),
        method=method,
    )
    return refund


# --------------------------------------------------------------------------- the account


@dataclass
class Entry:
    on: date
    kind: str  # facture | avoir | paiement | remboursement | rejet
    label: str
    reference: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO
    invoice: Invoice | None = None
    sequence: int = 0  # the row id, to keep one day's entries in the order they happened


@dataclass
class Account:
    entries: list[Entry] = field(default_factory=list)  # oldest first, with the running balance
    open_invoices: list[Invoice] = field(default_factory=list)  # amount still due > 0, oldest first
    invoices: list[Invoice] = field(default_factory=list)  # newest first
    total_due: Decimal = ZERO
    credit: Decimal = ZERO  # credit notes' remaining credit
    balance: Decimal = ZERO  # > 0: the member owes; < 0: the service owes

    @property
    def payment_reference(self) -> str | None:
        """The number to quote when paying: the oldest invoice still due, never a credit note."""
        return self.open_invoices[0].number if self.open_invoices else None


def company_ledger_invoices(company_id: int) -> list[Invoice]:
    """Every invoice and credit note of the company with what settles them: four queries."""
    return list(
        db.session.execute(
            select(Invoice)
            .where(Invoice.company_id == company_id)
            .options(
                selectinload(Invoice.payments),
                selectinload(Invoice.credits),
                selectinload(Invoice.applications),
                selectinload(Invoice.refunds),
                selectinload(Invoice.corrects),
            )
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        ).scalars()
    )


def member_account(company: Company) -> Account:
    invoices = company_ledger_invoices(company.id)
    entries: list[Entry] = []
    for inv in invoices:
        if inv.is_credit_note:
            corrects = f" (corrige la facture {inv.corrects.number})" if inv.corrects else ""
            entries.append(
                Entry(
                    inv.issue_date,
                    "avoir",
                    f"Avoir{corrects}",
                    inv.number,
                    credit=inv.total_ttc,
                    invoice=inv,
                    sequence=inv.id,
                )
            )
            for refund in inv.refunds:
                entries.append(
                    Entry(
                        refund.refunded_on,
                        "remboursement",
                        f"Remboursement ({refund.method_label.lower()})",
                        inv.number,
                        debit=refund.amount,
                        invoice=inv,
                        sequence=refund.id,
                    )
                )
        else:
            entries.append(
                Entry(
                    inv.issue_date,
                    "facture",
                    inv.kind_label,
                    inv.number,
                    debit=inv.total_ttc,
                    invoice=inv,
                    sequence=inv.id,
                )
            )
            for payment in inv.payments:
                entries.append(
                    Entry(
                        payment.paid_on,
                        "paiement",
                        f"Paiement ({payment.method_label.lower()})",
                        inv.number,
                        credit=payment.amount,
                        invoice=inv,
                        sequence=payment.id,
                    )
                )
                if payment.rejected_on is not None:
                    entries.append(
                        Entry(
                            payment.rejected_on,
                            "rejet",
                            "Prélèvement rejeté par la banque",
                            inv.number,
                            debit=payment.amount,
                            invoice=inv,
                            sequence=payment.id,
                        )
                    )
    # By date; on one day the documents (in numbering order) come before the money movements.
    entries.sort(key=lambda e: (e.on, e.kind not in ("facture", "avoir"), e.sequence))
    balance = ZERO
    for entry in entries:
        balance += entry.debit - entry.credit
        entry.balance = balance
    open_invoices = sorted(
        (inv for inv in invoices if not inv.is_credit_note and inv.amount_due > 0),
        key=lambda inv: (inv.due_date, inv.id),
    )
    return Account(
        entries=entries,
        open_invoices=open_invoices,
        invoices=invoices,
        total_due=sum((inv.amount_due for inv in open_invoices), ZERO),
        credit=sum((inv.credit_remaining for inv in invoices), ZERO),
        balance=balance,
    )


def allocate_payment(
    company: Company,
    invoice_ids: list[int],
    amount,
    paid_on: date,
    method: str,
    reference: str | None = None,
    actor=None,
) -> list[Payment]:
    """One payment received, allocated to the chosen invoices of the company, the oldest due
    first. It may not exceed what is still due on them (no hidden overpayment)."""
    from services.billing.payments import record_payment

    value = positive_amount(amount)
    if paid_on > today():
        raise BillingError("La date ne peut pas être dans le futur.")
    invoices = list(
        db.session.execute(
            select(Invoice)
            .where(Invoice.company_id == company.id, Invoice.id.in_(invoice_ids or [0]), Invoice.kind != CREDIT_NOTE)
            .options(selectinload(Invoice.payments), selectinload(Invoice.credits))
            .order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )
    invoices = [inv for inv in invoices if inv.amount_due > 0]
    if not invoices:
        raise BillingError("Choisissez au moins une facture qui reste à payer.")
    due = sum((inv.amount_due for inv in invoices), ZERO)
    if value > due:
        raise BillingError(f"Le montant dépasse le reste à payer des factures choisies ({format_eur(due)}).")
    payments, left = [], value
    for inv in invoices:
        part = min(left, inv.amount_due)
        if part <= 0:
            break
        payments.append(record_payment(inv, part, paid_on, method, reference, actor))
        left -= part
    return payments


# --------------------------------------------------------------------------- aged receivables

AGE_BUCKETS = (
    ("non_echu", "Non échu"),
    ("0_30", "0 à 30 jours"),
    ("31_60", "31 à 60 jours"),
    ("61_90", "61 à 90 jours"),
    ("plus_90", "Plus de 90 jours"),
)


def age_bucket(due_date: date, on: date) -> str:
    """Days past the due date: not yet due, 0-30, 31-60, 61-90, over 90."""
    days = (on - due_date).days
    if days < 0:
        return "non_echu"
    if days <= 30:
        return "0_30"
    if days <= 60:
        return "31_60"
    if days <= 90:
        return "61_90"
    return "plus_90"


@dataclass
class AgedRow:
    company_id: int
    code: str
    name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: {key: ZERO for key, _ in AGE_BUCKETS})

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class AgedReceivables:
    on: date
    rows: list[AgedRow]
    totals: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO)


def aged_receivables(on: date | None = None) -> AgedReceivables:
    """What members still owe, by age past the due date, per member (one query). Reads the
    amount still due: total − credit notes applied − payments."""
    on = on or today()
    settled = settled_subquery()
    left = Invoice.total_ttc - func.coalesce(settled.c.paid, 0)
    rows = db.session.execute(
        select(Invoice.company_id, Invoice.buyer_code, Invoice.buyer_name, Invoice.due_date, left)
        .outerjoin(settled, settled.c.invoice_id == Invoice.id)
        .where(Invoice.kind != CREDIT_NOTE, left > 0)
        .order_by(Invoice.buyer_code, Invoice.id)
    ).all()
    by_company: dict[int, AgedRow] = {}
    totals = {key: ZERO for key, _ in AGE_BUCKETS}
    for company_id, code, name, due_date, amount in rows:
        row = by_company.setdefault(company_id, AgedRow(company_id, code, name))
        bucket = age_bucket(due_date, on)
        value = money(amount)
        row.buckets[bucket] += value
        totals[bucket] += value
    ordered = sorted(by_company.values(), key=lambda r: (-r.total, r.code))
    return AgedReceivables(on, ordered, totals)
