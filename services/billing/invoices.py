"""Invoices: gapless numbering, issue, PDF and publication, mail to the recipients."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import (
    select,
    update,
)

from extensions import db
from models.billing import (
    CREDIT_NOTE,
    DOC_CREDIT_NOTE,
    DOC_INVOICE,
    INVOICE,
    Document,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    PendingFee,
)
from models.companies import ROLE_EMPLOYER, Company, Membership
from models.users import User
from services.billing import ledger
from services.billing.amounts import Amount, Line, _line, _totals
from services.billing.common import ZERO, format_eur, money
from services.core import audit


def next_invoice_number(year: int) -> str:
    """The next number of `year`'s single sequence, `2027-000123`, with no gap and no duplicate.

    The sequence row is locked (SELECT ... FOR UPDATE on PostgreSQL; the write transaction
    itself on SQLite) until the caller's transaction ends, so numbers are handed out one
    transaction at a time and a rolled-back invoice gives its number back."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(InvoiceSequence).values(year=year, last_number=0).on_conflict_do_nothing())
    last = db.session.execute(
        select(InvoiceSequence.last_number).where(InvoiceSequence.year == year).with_for_update()
    ).scalar_one()
    db.session.execute(update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=last + 1))
    return f"{year}-{last + 1:06d}"


def _address(company: Company) -> str:
    parts = [company.address or "", " ".join(p for p in (company.postal_code, company.city) if p)]
    return "\n".join(p for p in parts if p)


def unbilled_fees(company: Company) -> list[PendingFee]:
    """Fees waiting for the company's next invoice (no-show fees recorded by the back office)."""
    return list(
        db.session.execute(
            select(PendingFee)
            .where(PendingFee.company_id == company.id, PendingFee.invoice_id.is_(None))
            .order_by(PendingFee.id)
        ).scalars()
    )


def _with_fees(kind: str, lines: list[Line], amount: Amount, fees: list[PendingFee]) -> tuple[list[Line], Amount]:
    """Add the pending fees as extra lines of an invoice or a complement (never a credit note);
    the declaration's own totals stay as they are, so corrections keep comparing like with like."""
    if not fees or kind == CREDIT_NOTE:
        return lines, amount
    extra = [_line(fee.code, fee.label, 1, fee.amount) for fee in fees]
    if kind == INVOICE:
        return lines + extra, _totals(lines + extra, amount.vat_rate)
    extra_ht = sum((line.total_ht for line in extra), ZERO)
    extra_vat = money(extra_ht * amount.vat_rate / Decimal(100))
    return lines + extra, Amount(
        lines + extra,
        amount.vat_rate,
        amount.total_ht + extra_ht,
        amount.total_vat + extra_vat,
        amount.total_ttc + extra_ht + extra_vat,
    )


def _issue(
    company, tariff, declaration, kind, lines: list[Line], amount: Amount, on: date, *, corrects: Invoice | None = None
) -> Invoice:
    fees = unbilled_fees(company) if kind != CREDIT_NOTE else []
    lines, amount = _with_fees(kind, lines, amount, fees)
    invoice = Invoice(
        number=next_invoice_number(on.year),
        kind=kind,
        company_id=company.id,
        declaration_id=declaration.id,
        corrects_id=corrects.id if corrects else None,
        year=tariff.year,
        issue_date=on,
        due_date=on + timedelta(days=tariff.payment_due_days),
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
            position=i,
            code=line.code,
            label=line.label,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_ht=line.total_ht,
        )
        for i, line in enumerate(lines)
    ]
    invoice.corrects = corrects
    invoice.declaration = declaration
    db.session.add(invoice)
    db.session.flush()
    for fee in fees:
        fee.invoice_id = invoice.id
    # The ledger: a credit note settles the invoice it corrects; an invoice uses the credit left.
    if kind == CREDIT_NOTE:
        ledger.apply_credit_note(invoice, on)
    else:
        ledger.use_available_credit(invoice, on)
    audit.record(
        "invoice.issued",
        company=company,
        target=invoice,
        number=invoice.number,
        kind=kind,
        total_ttc=str(invoice.total_ttc),
    )
    return invoice


def invoice_render_data(invoice: Invoice) -> SimpleNamespace:
    """Everything the PDF shows, as plain data, so that it can be rendered after the commit
    (outside the write transaction that holds the numbering lock)."""
    declaration = invoice.declaration
    reference = (declaration.snapshot or {}).get("reference_date") if declaration else None
    return SimpleNamespace(
        id=invoice.id,
        number=invoice.number,
        kind=invoice.kind,
        year=invoice.year,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        buyer_name=invoice.buyer_name,
        buyer_code=invoice.buyer_code,
        buyer_address=invoice.buyer_address,
        vat_rate=invoice.vat_rate,
        total_ht=invoice.total_ht,
        total_vat=invoice.total_vat,
        total_ttc=invoice.total_ttc,
        reference_date=date.fromisoformat(reference) if reference else None,
        version=declaration.version if declaration else None,
        corrects_number=invoice.corrects.number if invoice.corrects else None,
        corrects_issue_date=invoice.corrects.issue_date if invoice.corrects else None,
        lines=[
            SimpleNamespace(
                label=line.label, quantity=line.quantity, unit_price=line.unit_price, total_ht=line.total_ht
            )
            for line in invoice.lines
        ],
    )


def attach_invoice_pdf(invoice: Invoice, pdf: bytes) -> Document:
    """Store the rendered PDF in the document space and mail it to the company (idempotent)."""
    if invoice.document_id is not None:
        return db.session.get(Document, invoice.document_id)
    doc_kind = DOC_CREDIT_NOTE if invoice.kind == CREDIT_NOTE else DOC_INVOICE
    document = Document(
        company_id=invoice.company_id,
        kind=doc_kind,
        title=f"{invoice.kind_label} {invoice.number}",
        year=invoice.year,
        content=pdf,
        content_type="application/pdf",
        filename=f"{doc_kind}-{invoice.number}.pdf",
        size=len(pdf),
    )
    db.session.add(document)
    db.session.flush()
    invoice.document_id = document.id
    _mail_invoice(invoice.company, invoice, document)
    return document


def publish_invoices(invoice_ids: list[int]) -> list[Document]:
    """Render, store and mail the PDFs of freshly committed invoices.

    Commits: the rendering (~0.3 s) runs between two short transactions, never inside one (on
    SQLite a write transaction locks the whole database). Routes, the CLI and tests call it
    right after committing `confirm_declaration`; `flask billing invoice publish` repairs any
    invoice left without its PDF (a crash between the two commits)."""
    from services.billing.pdf import render_invoice_pdf

    documents = []
    for invoice_id in invoice_ids:
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.document_id is not None:
            continue
        data = invoice_render_data(invoice)
        db.session.commit()
        pdf = render_invoice_pdf(data)
        invoice = db.session.get(Invoice, invoice_id)
        documents.append(attach_invoice_pdf(invoice, pdf))
        db.session.commit()
    return documents


def unpublished_invoice_ids() -> list[int]:
    return list(
        db.session.execute(select(Invoice.id).where(Invoice.document_id.is_(None)).order_by(Invoice.id)).scalars()
    )


def invoice_recipients(company: Company) -> list[str]:
    """The company's address and its employers' (direct or via the parent member), deduplicated."""
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    emails = db.session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.company_id.in_(ids),
            Membership.role == ROLE_EMPLOYER,
            Membership.revoked_at.is_(None),
            User.active.is_(True),
        )
        .order_by(User.email)
    ).scalars()
    seen: list[str] = []
    for address in [company.email, *emails]:
        if address and address.lower() not in seen:
            seen.append(address.lower())
    return seen


def _mail_invoice(company: Company, invoice: Invoice, document: Document) -> None:
    from services.core.outbox import queue_mail

    recipients = invoice_recipients(company)
    if not recipients:
        return
    cfg = current_app.config
    queue_mail(
        recipients,
        f"{invoice.kind_label} n° {invoice.number} – cotisation {invoice.year}",
        "invoice",
        reply_to=cfg["SERVICE_BILLING_EMAIL"],
        attachments=[(document.filename, document.content_type, document.content)],
        invoice=invoice,
        company=company,
        amount=format_eur(invoice.total_ttc),
        due_date=invoice.due_date.strftime("%d/%m/%Y"),
        iban=cfg["SERVICE_IBAN"],
        bic=cfg["SERVICE_BIC"],
        billing_email=cfg["SERVICE_BILLING_EMAIL"],
        documents_path=f"/entreprises/{company.code}/documents",
    )


def invoice_by_number(number: str) -> Invoice | None:
    return db.session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
