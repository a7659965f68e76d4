"""Back-office billing: tariff edits, declarations per campaign, invoice lists and reminders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from extensions import db
from models.audit import AuditEvent
from models.base import utcnow
from models.billing import (
    CREDIT_NOTE,
    DECLARATION_CONFIRMED,
    DECLARATION_SUPERSEDED,
    Declaration,
    Invoice,
    TariffYear,
)
from models.companies import Company
from services import billing as billing_service
from services.billing import BillingError, TariffError, ledger
from services.core import audit
from services.staff.team_and_members import Page

PER_PAGE = 25
REMINDER_ACTION = "invoice.reminder_sent"
REMINDER_INTERVAL = timedelta(days=7)
INVOICE_STATUSES = {
    "payee": "Payée",
    "partielle": "Partiellement payée",
    "a_payer": "À payer",
    "en_retard": "En retard",
}
SENT_STATUSES = (DECLARATION_CONFIRMED, DECLARATION_SUPERSEDED)


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"


def clean_query(value: str | None) -> str:
    """Printable characters only (PostgreSQL refuses NUL), collapsed spaces, 100 at most."""
    return " ".join("".join(c for c in (value or "") if c.isprintable()).split())[:100]


def _company_match(query: str):
    pattern = _like(query)
    return or_(
        func.lower(Company.code).like(pattern, escape="\\"),
        func.lower(Company.name).like(pattern, escape="\\"),
        func.lower(func.coalesce(Company.city, "")).like(pattern, escape="\\"),
    )


# --------------------------------------------------------------------------- tariffs


def list_tariffs() -> list[TariffYear]:
    return list(db.session.execute(select(TariffYear).order_by(TariffYear.year.desc())).scalars())


def has_sent_declarations(year: int) -> bool:
    """True once any declaration of `year` is confirmed: its grid is then frozen."""
    return (
        db.session.execute(
            select(Declaration.id).where(Declaration.year == year, Declaration.status.in_(SENT_STATUSES)).limit(1)
        ).first()
        is not None
    )


def frozen_message(year: int) -> str:
    return (
        f"Des déclarations {year} ont déjà été confirmées : la grille et la campagne de cette année "
        "ne peuvent plus être modifiées."
    )


def save_tariff(year: int, data: dict, actor) -> TariffYear:
    """Create or replace `year`'s grid with the CLI's own validation (services.billing.set_tariff),
    refused once declarations of that year are confirmed (their invoices rest on it)."""
    if has_sent_declarations(year):
        raise TariffError(frozen_message(year))
    return billing_service.set_tariff(year, data, actor=actor)


# --------------------------------------------------------------------------- declarations


@dataclass
class DeclarationRow:
    declaration: Declaration
    code: str
    name: str

    @property
    def counts_text(self) -> str:
        counts = (self.declaration.snapshot or {}).get("counts") or {}
        labels = billing_service.COUNT_LABELS
        return ", ".join(f"{labels.get(k, k)} {v}" for k, v in counts.items() if v) or "—"


def declarations_received(year: int, query: str = "", page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Confirmed declarations of `year` (every version), newest first: two queries."""
    conditions = [Declaration.year == year, Declaration.status.in_(SENT_STATUSES)]
    if query:
        conditions.append(_company_match(query))
    base = select(Declaration, Company.code, Company.name).join(Company, Company.id == Declaration.company_id)
    total = db.session.execute(
        select(func.count())
        .select_from(Declaration)
        .join(Company, Company.id == Declaration.company_id)
        .where(*conditions)
    ).scalar_one()
    rows = db.session.execute(
        base.where(*conditions)
        .order_by(Declaration.confirmed_at.desc(), Declaration.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([DeclarationRow(d, code, name) for d, code, name in rows], total, page, per_page)


def _not_declared_conditions(year: int, query: str = ""):
    declared = select(Declaration.company_id).where(Declaration.year == year, Declaration.status.in_(SENT_STATUSES))
    conditions = [Company.active.is_(True), Company.id.not_in(declared)]
    if query:
        conditions.append(_company_match(query))
    return conditions


def not_declared(year: int, query: str = "", page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Active members without a confirmed declaration for `year`: two queries."""
    conditions = _not_declared_conditions(year, query)
    total = db.session.execute(select(func.count()).select_from(Company).where(*conditions)).scalar_one()
    items = list(
        db.session.execute(
            select(Company).where(*conditions).order_by(Company.code).limit(per_page).offset((page - 1) * per_page)
        ).scalars()
    )
    return Page(items, total, page, per_page)


def not_declared_rows(year: int, query: str = ""):
    """Every not-declared member, for the CSV export (one query, streamed)."""
    return db.session.execute(
        select(Company.code, Company.name, Company.city, Company.email)
        .where(*_not_declared_conditions(year, query))
        .order_by(Company.code)
        .execution_options(yield_per=500)
    )


def count_not_declared(year: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(Company).where(*_not_declared_conditions(year))
    ).scalar_one()


# --------------------------------------------------------------------------- invoices


def paid_subquery():
    """What settles each invoice: payments and credit notes applied (services.billing.ledger)."""
    return ledger.settled_subquery()


def _status_condition(status: str, paid, on: date):
    """The SQL twin of Invoice.payment_status (credit notes have no payment status)."""
    amount_paid = func.coalesce(paid.c.paid, 0)
    not_credit = Invoice.kind != CREDIT_NOTE
    if status == "payee":
        return and_(not_credit, amount_paid >= Invoice.total_ttc)
    if status == "en_retard":
        return and_(not_credit, amount_paid < Invoice.total_ttc, Invoice.due_date < on)
    if status == "partielle":
        return and_(not_credit, amount_paid > 0, amount_paid < Invoice.total_ttc, Invoice.due_date >= on)
    return and_(not_credit, amount_paid <= 0, Invoice.total_ttc > 0, Invoice.due_date >= on)


def search_invoices(
    *,
    status: str = "",
    year: int | None = None,
    code: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
    on: date | None = None,
) -> Page:
    """Invoices filtered by status, year and company code, newest first: three queries."""
    on = on or billing_service.today()
    paid = paid_subquery()
    conditions = []
    if status in INVOICE_STATUSES:
        conditions.append(_status_condition(status, paid, on))
    if year:
        conditions.append(Invoice.year == year)
    if code:
        conditions.append(func.lower(Invoice.buyer_code).like(_like(code), escape="\\"))
    total = db.session.execute(
        select(func.count()).select_from(Invoice).outerjoin(paid, paid.c.invoice_id == Invoice.id).where(*conditions)
    ).scalar_one()
    items = list(
        db.session.execute(
            select(Invoice)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .where(*conditions)
            .options(selectinload(Invoice.payments), selectinload(Invoice.credits))
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).scalars()
    )
    return Page(items, total, page, per_page)


def invoice_years() -> list[int]:
    return list(db.session.execute(select(Invoice.year).distinct().order_by(Invoice.year.desc())).scalars())


def overdue_condition(on: date):
    paid = paid_subquery()
    return paid, and_(
        Invoice.kind != CREDIT_NOTE, Invoice.due_date < on, func.coalesce(paid.c.paid, 0) < Invoice.total_ttc
    )


def count_overdue(on: date | None = None) -> int:
    paid, condition = overdue_condition(on or billing_service.today())
    return db.session.execute(
        select(func.count()).select_from(Invoice).outerjoin(paid, paid.c.invoice_id == Invoice.id).where(condition)
    ).scalar_one()


# --------------------------------------------------------------------------- reminders


def last_reminders(invoice_ids: list[int]) -> dict[int, datetime]:
    """When each invoice was last reminded (from the audit trail): one query."""
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.target_id, func.max(AuditEvent.created_at))
        .where(
            AuditEvent.action == REMINDER_ACTION,
            AuditEvent.target_type == "Invoice",
            AuditEvent.target_id.in_(invoice_ids),
        )
        .group_by(AuditEvent.target_id)
    ).all()
    return {target_id: _aware(when) for target_id, when in rows}


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def next_reminder_allowed(last: datetime | None) -> datetime | None:
    return last + REMINDER_INTERVAL if last else None


def send_reminder(
    invoice: Invoice, actor=None, *, now: datetime | None = None, on: date | None = None, last=...
) -> None:
    """Queue the reminder mail of an overdue invoice to the company's address and its employers;
    at most one per invoice every 7 days. Raises BillingError (French) otherwise."""
    now = now or utcnow()
    on = on or billing_service.today()
    if invoice.payment_status(on) != "en_retard":
        raise BillingError("Seule une facture en retard peut être relancée.")
    if last is ...:
        last = last_reminders([invoice.id]).get(invoice.id)
    if last is not None and now - last < REMINDER_INTERVAL:
        allowed = (last + REMINDER_INTERVAL).astimezone(billing_service.PARIS).strftime("%d/%m/%Y")
        raise BillingError(
            f"Cette facture a déjà été relancée il y a moins de 7 jours (prochaine relance le {allowed})."
        )
    company = invoice.company
    recipients = billing_service.invoice_recipients(company)
    if not recipients:
        raise BillingError("Aucune adresse e-mail connue pour cet adhérent.")
    from services.core.outbox import queue_mail

    cfg = current_app.config
    queue_mail(
        recipients,
        f"Relance : facture n° {invoice.number} en attente de paiement",
        "billing_reminder",
        reply_to=cfg["SERVICE_BILLING_EMAIL"],
        invoice=invoice,
        company=company,
        amount_due=billing_service.format_eur(invoice.amount_due),
        total=billing_service.format_eur(invoice.total_ttc),
        issue_date=invoice.issue_date.strftime("%d/%m/%Y"),
        due_date=invoice.due_date.strftime("%d/%m/%Y"),
        iban=cfg["SERVICE_IBAN"],
        bic=cfg["SERVICE_BIC"],
        billing_email=cfg["SERVICE_BILLING_EMAIL"],
        documents_path=f"/entreprises/{company.code}/documents",
    )
    audit.record(
        REMINDER_ACTION,
        actor=actor,
        actor_label=None if actor is not None else "flask billing reminders send",
        company=company,
        target=invoice,
        number=invoice.number,
        amount_due=str(invoice.amount_due),
        recipients=len(recipients),
    )
    db.session.flush()


def overdue_invoices(on: date | None = None) -> list[Invoice]:
    paid, condition = overdue_condition(on or billing_service.today())
    return list(
        db.session.execute(
            select(Invoice)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .where(condition)
            .options(selectinload(Invoice.payments))
            .order_by(Invoice.due_date, Invoice.id)
        ).scalars()
    )


@dataclass
class ReminderRun:
    sent: int = 0
    skipped_recent: int = 0
    skipped_no_address: int = 0


def send_overdue_reminders(actor=None, *, now: datetime | None = None, on: date | None = None) -> ReminderRun:
    """Remind every overdue invoice not reminded in the last 7 days (the bulk action and cron)."""
    now = now or utcnow()
    on = on or billing_service.today()
    invoices = overdue_invoices(on)
    last = last_reminders([i.id for i in invoices])
    run = ReminderRun()
    for invoice in invoices:
        previous = last.get(invoice.id)
        if previous is not None and now - previous < REMINDER_INTERVAL:
            run.skipped_recent += 1
            continue
        try:
            send_reminder(invoice, actor, now=now, on=on, last=previous)
        except BillingError:
            run.skipped_no_address += 1
            continue
        run.sent += 1
    return run


# --------------------------------------------------------------------------- form helpers

BAND_LINE = re.compile(r"^\s*(\d{1,6})\s*-\s*(\d{0,6})\s*[:;=]\s*(\d{1,9}(?:[.,]\d{1,2})?)\s*$")


def parse_size_bands(text: str) -> list[dict]:
    """ "1-10 : 110,00" per line (the last band open: "11- : 98,00") into the JSON format."""
    bands = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        match = BAND_LINE.match(raw)
        if not match:
            raise TariffError(f"size_bands : ligne {number} illisible (attendu « 1-10 : 110,00 »).")
        lo, hi, price = match.groups()
        bands.append({"from": int(lo), "to": int(hi) if hi else None, "price": price.replace(",", ".")})
    return bands


def format_size_bands(bands: list[dict] | None) -> str:
    lines = []
    for band in bands or []:
        price = str(band.get("price", "")).replace(".", ",")
        lines.append(f"{band.get('from')}-{band.get('to') if band.get('to') is not None else ''} : {price}")
    return "\n".join(lines)


def decimal_text(value: Decimal | None) -> str:
    return "" if value is None else str(value).replace(".", ",")
