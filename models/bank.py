"""Bank statements (camt.053 or CSV) and their lines, matched to invoices; SEPA mandates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow
from models.billing import MONEY

LINE_MATCHED = "matched"  # a credit recorded as a payment of an invoice
LINE_UNMATCHED = "unmatched"  # a credit waiting for a person
LINE_REJECTED = "rejected"  # a direct debit returned: its payment was cancelled
LINE_IGNORED = "ignored"  # not a member's payment (bank fees, other debits...)
LINE_STATUSES = {
    LINE_MATCHED: "Rapproché",
    LINE_UNMATCHED: "À rapprocher",
    LINE_REJECTED: "Prélèvement rejeté",
    LINE_IGNORED: "Ignoré",
}


class BankStatement(db.Model):
    """One imported statement file. Its key (the statement id, or the file's digest) makes a
    second import of the same file change nothing."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(140), unique=True)
    format: Mapped[str] = mapped_column(String(10))  # camt.053 | csv
    account: Mapped[str | None] = mapped_column(String(34))  # IBAN of the service's account
    filename: Mapped[str] = mapped_column(String(200))
    statement_date: Mapped[date | None] = mapped_column(Date)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[BankLine]] = relationship(back_populates="statement", order_by="BankLine.id")


class BankLine(db.Model):
    """One credit or debit of a statement and what became of it."""

    __tablename__ = "bank_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id", ondelete="CASCADE"), index=True)
    # Unique per account: the bank's reference of the entry (AcctSvcrRef) and transaction.
    key: Mapped[str] = mapped_column(String(200))
    booking_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)  # positive; `credit` says the direction
    credit: Mapped[bool] = mapped_column(Boolean)
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    reference: Mapped[str | None] = mapped_column(String(300))  # remittance info, end-to-end id
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    counterparty: Mapped[str | None] = mapped_column(String(140))
    return_reason: Mapped[str | None] = mapped_column(String(10))  # ISO code (AM04, MD06...)
    status: Mapped[str] = mapped_column(String(12), default=LINE_UNMATCHED)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped[BankStatement] = relationship(back_populates="lines")
    invoice = relationship("Invoice")

    __table_args__ = (
        UniqueConstraint("key", name="uq_bank_lines_key"),
        Index("ix_bank_lines_status", "status", "booking_date"),
    )

    @property
    def status_label(self) -> str:
        return LINE_STATUSES.get(self.status, self.status)


class SepaMandate(db.Model):
    """A SEPA Core direct debit mandate signed online by the member's employer."""

    __tablename__ = "sepa_mandates"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(35), unique=True)  # RUM
    creditor_id: Mapped[str] = mapped_column(String(35))  # ICS
    debtor_name: Mapped[str] = mapped_column(String(140))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    signed_on: Mapped[date] = mapped_column(Date)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signed_by_name: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    # First collection done: later ones are "RCUR" instead of "FRST".
    first_collected_on: Mapped[date | None] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company = relationship("Company")

    @property
    def active(self) -> bool:
        return self.revoked_on is None

    @property
    def iban_masked(self) -> str:
        return f"{self.iban[:4]} •••• •••• {self.iban[-4:]}"


class SepaDebit(db.Model):
    """An invoice put in an exported pain.008 batch: it is not proposed again until the bank
    statement shows the collection (or its return)."""

    __tablename__ = "sepa_debits"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(35), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandates.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    collection_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
