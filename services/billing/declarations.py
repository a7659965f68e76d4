"""Confirmed declarations: versions, snapshots, corrections (complement or credit note)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Date,
    Integer,
    bindparam,
    select,
)
from sqlalchemy.orm import aliased, defer

from extensions import db
from models.billing import (
    COMPLEMENT,
    CREDIT_NOTE,
    DECLARATION_CONFIRMED,
    DECLARATION_SUPERSEDED,
    INVOICE,
    Declaration,
    Invoice,
    TariffYear,
)
from models.companies import Company
from services.billing.amounts import Amount, Line, Preview, compute_amount, preview_declaration
from services.billing.common import ATTESTATION_TEXT, PARIS, ZERO, BillingError, today
from services.billing.invoices import _issue
from services.core import audit


def current_declaration(company: Company, year: int) -> Declaration | None:
    """The confirmed version of `year`. Its snapshot (every counted employee: ~0.5 MB for
    5,000) loads only when read: the review page never needs it."""
    return db.session.execute(
        select(Declaration)
        .options(defer(Declaration.snapshot))
        .where(
            Declaration.company_id == company.id, Declaration.year == year, Declaration.status == DECLARATION_CONFIRMED
        )
        .order_by(Declaration.version.desc())
        .limit(1)
    ).scalar_one_or_none()


PAST_SHOWN = 50


_PAST_DECLARATIONS = (
    select(Declaration)
    .options(defer(Declaration.snapshot))
    .where(Declaration.company_id == bindparam("company_id", type_=Integer))
    .order_by(Declaration.year.desc(), Declaration.version.desc())
    .limit(bindparam("limit", type_=Integer))
)


_OPEN_TARIFF = aliased(TariffYear)
# The open campaign's tariff, each of the company's declarations joined to it (newest first).
_CAMPAIGN_AND_PAST = (
    select(TariffYear, Declaration)
    .outerjoin(Declaration, Declaration.company_id == bindparam("company_id", type_=Integer))
    .options(defer(Declaration.snapshot))
    .where(
        TariffYear.id
        == select(_OPEN_TARIFF.id)
        .where(
            _OPEN_TARIFF.campaign_opens_on <= bindparam("on", type_=Date),
            _OPEN_TARIFF.campaign_closes_on >= bindparam("on", type_=Date),
        )
        .order_by(_OPEN_TARIFF.year.desc())
        .limit(1)
        .scalar_subquery()
    )
    .order_by(Declaration.year.desc(), Declaration.version.desc())
    .limit(bindparam("limit", type_=Integer))
)


def campaign_and_past(company: Company, limit: int = PAST_SHOWN) -> tuple[TariffYear | None, list[Declaration]]:
    """(open_campaign(), past_declarations(company)) in one statement while a campaign is
    open (the review page: one round trip less); two outside it."""
    rows = db.session.execute(_CAMPAIGN_AND_PAST, {"company_id": company.id, "on": today(), "limit": limit}).all()
    if not rows:
        return None, past_declarations(company, limit)
    return rows[0][0], [declaration for _tariff, declaration in rows if declaration is not None]


def past_declarations(company: Company, limit: int = PAST_SHOWN) -> list[Declaration]:
    """The company's declarations, newest year and version first (snapshots not loaded)."""
    return list(db.session.execute(_PAST_DECLARATIONS, {"company_id": company.id, "limit": limit}).scalars())


def _snapshot(preview: Preview) -> dict:
    return {
        "reference_date": preview.tariff.reference_date.isoformat(),
        "employees": [
            {
                "id": row.employee.id,
                "name": row.employee.display_name,
                "category": row.category,
                "contract": row.employee.contract_nature,
                "entry_date": row.employee.entry_date.isoformat(),
                "new": row.new,
            }
            for row in preview.counted
        ],
        "counts": preview.counts,
        "new_employees": preview.new_employees,
        "new_company": preview.new_company,
        "lines": [line.as_dict() for line in preview.amount.lines],
        "vat_rate": str(preview.amount.vat_rate),
    }


def confirm_declaration(
    company: Company,
    tariff: TariffYear,
    actor,
    *,
    attested: bool,
    actor_role: str | None = None,
    on: date | None = None,
) -> tuple[Declaration, Invoice | None]:
    """Lock the declaration as a snapshot and issue its invoice (then commit and call
    `publish_invoices([invoice.id])` for the PDF and the mail); a later confirmation of the same
    year is a correction: a new version, and a complement or a credit note for the difference.

    Must run in a write transaction (POST requests; `services.core.database.write_intent()` elsewhere):
    the invoice number is taken under a row lock and released only by the commit."""
    on = on or today()
    if not attested:
        raise BillingError("Cochez la case pour attester l'exactitude de votre déclaration.")
    if not tariff.campaign_open(on):
        raise BillingError("La campagne de déclaration est fermée.")
    previous = current_declaration(company, tariff.year)
    preview = preview_declaration(company, tariff)
    if previous is not None:
        # The per-company entry fee belongs to the first version only.
        preview.new_company = bool(previous.snapshot and previous.snapshot.get("new_company"))
        preview.amount = compute_amount(tariff, preview.counts, preview.new_employees, new_company=preview.new_company)
    amount = preview.amount
    declaration = Declaration(
        company_id=company.id,
        year=tariff.year,
        version=(previous.version + 1) if previous else 1,
        status=DECLARATION_CONFIRMED,
        confirmed_at=datetime.now(PARIS),
        confirmed_by_id=getattr(actor, "id", None),
        confirmed_by_role=actor_role,
        attestation=ATTESTATION_TEXT,
        snapshot=_snapshot(preview),
        headcount=preview.headcount,
        total_ht=amount.total_ht,
        total_vat=amount.total_vat,
        total_ttc=amount.total_ttc,
    )
    if previous is not None:
        previous.status = DECLARATION_SUPERSEDED
    db.session.add(declaration)
    db.session.flush()

    invoice = None
    if previous is None:
        if amount.lines:
            invoice = _issue(company, tariff, declaration, INVOICE, amount.lines, amount, on)
    else:
        invoice = _issue_correction(company, tariff, previous, declaration, amount, on)
    audit.record(
        "declaration.confirmed",
        actor=actor,
        company=company,
        target=declaration,
        year=tariff.year,
        version=declaration.version,
        headcount=declaration.headcount,
        counts=preview.counts,
        total_ttc=str(declaration.total_ttc),
        invoice=invoice.number if invoice else None,
    )
    return declaration, invoice


def _issue_correction(
    company, tariff, previous: Declaration, declaration: Declaration, amount: Amount, on: date
) -> Invoice | None:
    """The difference between two versions: a complement (more to pay) or a credit note."""
    old = {(d["code"], d["unit_price"]): Line.from_dict(d) for d in (previous.snapshot or {}).get("lines", [])}
    new = {(line.code, str(line.unit_price)): line for line in amount.lines}
    delta: list[Line] = []
    for key in list(new) + [k for k in old if k not in new]:
        quantity = (new[key].quantity if key in new else 0) - (old[key].quantity if key in old else 0)
        total = (new[key].total_ht if key in new else ZERO) - (old[key].total_ht if key in old else ZERO)
        if quantity or total:
            label = (new.get(key) or old[key]).label
            delta.append(Line(key[0], label, quantity, Decimal(key[1]), total))
    diff = Amount(
        delta,
        amount.vat_rate,
        amount.total_ht - previous.total_ht,
        amount.total_vat - previous.total_vat,
        amount.total_ttc - previous.total_ttc,
    )
    if diff.total_ttc == 0 and diff.total_ht == 0:
        return None
    corrected = db.session.execute(
        select(Invoice)
        .where(Invoice.company_id == company.id, Invoice.year == tariff.year, Invoice.kind == INVOICE)
        .order_by(Invoice.id)
        .limit(1)
    ).scalar_one_or_none()
    if diff.total_ttc > 0:
        return _issue(company, tariff, declaration, COMPLEMENT, delta, diff, on, corrects=corrected)
    # A credit note shows positive amounts: it is the sign of the document that subtracts.
    negated = [Line(d.code, d.label, -d.quantity, d.unit_price, -d.total_ht) for d in delta]
    return _issue(
        company,
        tariff,
        declaration,
        CREDIT_NOTE,
        negated,
        Amount(negated, diff.vat_rate, -diff.total_ht, -diff.total_vat, -diff.total_ttc),
        on,
        corrects=corrected,
    )
