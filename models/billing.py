"""Cotisation: yearly tariffs, annual headcount declarations, invoices, payments, documents."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

MODE_PER_CATEGORY = "per_category"
MODE_SIZE_BANDS = "size_bands"
TARIFF_MODES = (MODE_PER_CATEGORY, MODE_SIZE_BANDS)
BANDS_FLAT = "flat"  # the whole headcount at the price of the band it falls in
BANDS_PROGRESSIVE = "progressive"  # each band prices the employees that fall within it
ENTRY_FEE_PER_COMPANY = "per_company"
ENTRY_FEE_PER_NEW_EMPLOYEE = "per_new_employee"

DECLARATION_DRAFT = "draft"
DECLARATION_CONFIRMED = "confirmed"
DECLARATION_SUPERSEDED = "superseded"

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
COMPLEMENT = "complement"
INVOICE_KIND_LABELS = {INVOICE: "Facture", CREDIT_NOTE: "Avoir", COMPLEMENT: "Facture complémentaire"}

DOC_INVOICE = "facture"
DOC_CREDIT_NOTE = "avoir"
DOC_KINDS = {
    DOC_INVOICE: "Facture",
    DOC_CREDIT_NOTE: "Avoir",
    "convocation": "Convocation",
    "attestation": "Attestation de suivi",
    "avis": "Avis d'aptitude / d'inaptitude",
    "document_service": "Document du service",
    "mandat": "Mandat de prélèvement SEPA",
}
BILLING_DOC_KINDS = (DOC_INVOICE, DOC_CREDIT_NOTE)

PAYMENT_METHODS = {
    "virement": "Virement",
    "prelevement": "Prélèvement",
    "cheque": "Chèque",
    "carte": "Carte bancaire",
    "autre": "Autre",
}

MONEY = Numeric(12, 2)
DEFAULT_EXCLUDED_NATURES = ("29", "80")


class TariffYear(db.Model):
    """The fee grid and the campaign rules of one year: configuration the service manages."""

    __tablename__ = "tariff_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    mode: Mapped[str] = mapped_column(String(20), default=MODE_PER_CATEGORY)
    price_si: Mapped[Decimal | None] = mapped_column(MONEY)
    price_sia: Mapped[Decimal | None] = mapped_column(MONEY)
    price_sir: Mapped[Decimal | None] = mapped_column(MONEY)
    # None: apprentices are priced in their follow-up category.
    price_apprentice: Mapped[Decimal | None] = mapped_column(MONEY)
    # [{"from": 1, "to": 10, "price": "110.00"}, {"from": 11, "to": null, "price": "98.00"}]
    size_bands: Mapped[list | None] = mapped_column(JSON)
    size_band_method: Mapped[str] = mapped_column(String(12), default=BANDS_PROGRESSIVE)
    entry_fee: Mapped[Decimal | None] = mapped_column(MONEY)
    entry_fee_mode: Mapped[str] = mapped_column(String(20), default=ENTRY_FEE_PER_COMPANY)
    entry_fee_cap: Mapped[Decimal | None] = mapped_column(MONEY)
    minimum_amount: Mapped[Decimal | None] = mapped_column(MONEY)  # HT, on the cotisation lines
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("20.00"))
    reference_date: Mapped[date] = mapped_column(Date)  # 1 Jan N or 31 Dec N-1
    min_contract_days: Mapped[int] = mapped_column(Integer, default=0)  # contracts of more than N days
    exclude_interim: Mapped[bool] = mapped_column(Boolean, default=True)
    include_suspended: Mapped[bool] = mapped_column(Boolean, default=True)
    include_apprentices: Mapped[bool] = mapped_column(Boolean, default=True)
    # DSN contract natures not counted that year (interim has its own switch above). Default:
    # stage (29) and mandat social (80), which are not employment contracts.
    excluded_natures: Mapped[list] = mapped_column(JSON, default=lambda: list(DEFAULT_EXCLUDED_NATURES))
    campaign_opens_on: Mapped[date] = mapped_column(Date)
    campaign_closes_on: Mapped[date] = mapped_column(Date)
    payment_due_days: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def campaign_open(self, today: date) -> bool:
        return self.campaign_opens_on <= today <= self.campaign_closes_on


class Declaration(db.Model):
    """One confirmed version of a company's annual headcount declaration, kept as a snapshot."""

    __tablename__ = "declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default=DECLARATION_DRAFT)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_by_role: Mapped[str | None] = mapped_column(String(20))
    attestation: Mapped[str | None] = mapped_column(String(200))  # the statement of accuracy, as shown
    # {"reference_date", "employees": [...], "counts": {...}, "new_employees", "lines": [...]}
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    total_ht: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    total_vat: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    total_ttc: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company = relationship("Company")
    confirmed_by = relationship("User")

    __table_args__ = (
        UniqueConstraint("company_id", "year", "version", name="uq_declarations_company_year_version"),
        Index("ix_declarations_company_year", "company_id", "year"),
    )


class InvoiceSequence(db.Model):
    """The last number given in a year: one row per year, locked while an invoice is numbered."""

    __tablename__ = "invoice_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(db.Model):
    """An invoice (appel de cotisation), a complement or a credit note. Immutable once issued."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # 2027-000123
    kind: Mapped[str] = mapped_column(String(12), default=INVOICE)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declarations.id", ondelete="SET NULL"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    year: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    # The buyer as it was on the issue date (an invoice never changes afterwards).
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_code: Mapped[str] = mapped_column(String(9))
    buyer_address: Mapped[str | None] = mapped_column(String(500))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    total_ht: Mapped[Decimal] = mapped_column(MONEY)
    total_vat: Mapped[Decimal] = mapped_column(MONEY)
    total_ttc: Mapped[Decimal] = mapped_column(MONEY)
    # Why staff issued it by hand (no-show fee, interim visits, goodwill...); None for the
    # invoices a declaration issues.
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company = relationship("Company")
    declaration: Mapped[Declaration | None] = relationship()
    corrects: Mapped[Invoice | None] = relationship(remote_side=[id])
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", order_by="Payment.paid_on", cascade="all, delete-orphan"
    )
    # The credit notes applied to this invoice (what they take off its amount due).
    credits: Mapped[list[CreditApplication]] = relationship(
        foreign_keys="CreditApplication.invoice_id",
        back_populates="invoice",
        order_by="CreditApplication.id",
        cascade="all, delete-orphan",
    )
    # For a credit note: the invoices it was applied to, and what was refunded from it.
    applications: Mapped[list[CreditApplication]] = relationship(
        foreign_keys="CreditApplication.credit_note_id",
        back_populates="credit_note",
        order_by="CreditApplication.id",
        cascade="all, delete-orphan",
    )
    refunds: Mapped[list[Refund]] = relationship(back_populates="credit_note", order_by="Refund.id")

    __table_args__ = (Index("ix_invoices_company_issue", "company_id", "issue_date"),)

    @property
    def kind_label(self) -> str:
        return INVOICE_KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_credit_note(self) -> bool:
        return self.kind == CREDIT_NOTE

    @property
    def amount_paid(self) -> Decimal:
        return sum((p.amount for p in self.payments if p.rejected_on is None), Decimal("0.00"))

    @property
    def amount_credited(self) -> Decimal:
        """What the credit notes applied to this invoice take off it."""
        return sum((c.amount for c in self.credits), Decimal("0.00"))

    @property
    def amount_due(self) -> Decimal:
        """Total TTC − credit notes applied − payments allocated (a credit note: nothing due)."""
        if self.is_credit_note:
            return Decimal("0.00")
        return max(self.total_ttc - self.amount_credited - self.amount_paid, Decimal("0.00"))

    @property
    def credit_applied(self) -> Decimal:
        """For a credit note: what it already took off invoices."""
        return sum((a.amount for a in self.applications), Decimal("0.00"))

    @property
    def credit_refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0.00"))

    @property
    def credit_remaining(self) -> Decimal:
        """For a credit note: the credit still available (next invoice or a refund)."""
        if not self.is_credit_note:
            return Decimal("0.00")
        return max(self.total_ttc - self.credit_applied - self.credit_refunded, Decimal("0.00"))

    def payment_status(self, today: date) -> str:
        """payee | partielle | a_payer | en_retard (credit notes: avoir), from the amount due."""
        if self.is_credit_note:
            return "avoir"
        due = self.amount_due
        if due <= 0:
            return "payee"
        if today > self.due_date:
            return "en_retard"
        if due < self.total_ttc:
            return "partielle"
        return "a_payer"


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(20))  # SI, SIA, SIR, APP, BAND1.., ENTRY, MINIMUM
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)  # HT
    total_ht: Mapped[Decimal] = mapped_column(MONEY)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(db.Model):
    """A payment the service received (recorded by the service: CLI now, back office later)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A direct debit the bank returned (rejected): the payment no longer settles the invoice.
    rejected_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")

    @property
    def method_label(self) -> str:
        return PAYMENT_METHODS.get(self.method, self.method)


class Document(db.Model):
    """A file of the company's document space: invoices, credit notes, convocations,
    attestations, avis, documents the service shares. Other features add rows."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # keys of DOC_KINDS
    title: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # not loaded by lists
    storage_path: Mapped[str | None] = mapped_column(Text)  # relative to the instance folder
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    filename: Mapped[str] = mapped_column(String(120))  # never personal data
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    employee = relationship("Employee")

    __table_args__ = (Index("ix_documents_company_kind_year", "company_id", "kind", "year"),)

    @property
    def kind_label(self) -> str:
        return DOC_KINDS.get(self.kind, self.kind)


class PendingFee(db.Model):
    """A fee waiting for the company's next invoice (e.g. a non-excused absence): the next
    invoice or complement takes every unbilled row as an extra line and stamps `invoice_id`."""

    __tablename__ = "pending_fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    # One fee per visit at most: a second click cannot bill the same absence twice.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"), unique=True)
    code: Mapped[str] = mapped_column(String(20), default="NO_SHOW")
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)  # HT
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_pending_fees_company_invoice", "company_id", "invoice_id"),)


class CreditApplication(db.Model):
    """A credit note applied to an invoice: first the invoice it corrects, then (its surplus)
    the company's next invoices. Amounts are TTC."""

    __tablename__ = "credit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    applied_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    credit_note: Mapped[Invoice] = relationship(foreign_keys=[credit_note_id], back_populates="applications")
    invoice: Mapped[Invoice] = relationship(foreign_keys=[invoice_id], back_populates="credits")


class Refund(db.Model):
    """Money the service paid back to a member, out of a credit note's remaining credit."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    refunded_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    credit_note: Mapped[Invoice] = relationship(back_populates="refunds")

    @property
    def method_label(self) -> str:
        return PAYMENT_METHODS.get(self.method, self.method)
