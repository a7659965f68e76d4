"""Billing signals for other screens: back-office dashboard counts, member-page sections and the
"À traiter" labels of "Mes entreprises". Importing this module registers the providers."""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Date, Integer, String, and_, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import selectinload

from extensions import db
from models.billing import CREDIT_NOTE, DECLARATION_SUPERSEDED, Declaration, Invoice, TariffYear
from services import billing as billing_service
from services.billing import admin as billing_admin
from services.billing import ledger
from services.companies import attention
from services.staff import dashboard as staff_dashboard

MEMBER_ROWS = 10


def _open_campaign(on: date) -> TariffYear | None:
    return db.session.execute(
        select(TariffYear)
        .where(TariffYear.campaign_opens_on <= on, TariffYear.campaign_closes_on >= on)
        .order_by(TariffYear.year.desc())
        .limit(1)
    ).scalar_one_or_none()


# --------------------------------------------------------------------------- back-office dashboard


@staff_dashboard.register
def billing_waiting() -> list[staff_dashboard.DashboardItem]:
    """Members still to declare in the open campaign, and overdue invoices (three queries)."""
    on = billing_service.today()
    items = []
    tariff = _open_campaign(on)
    if tariff is not None:
        items.append(
            staff_dashboard.DashboardItem(
                "declarations_missing",
                f"Déclarations {tariff.year} manquantes",
                billing_admin.count_not_declared(tariff.year),
                endpoint="service.billing_declarations",
                values={"annee": tariff.year},
                order=40,
            )
        )
    items.append(
        staff_dashboard.DashboardItem(
            "overdue_invoices",
            "Factures en retard",
            billing_admin.count_overdue(on),
            endpoint="service.billing_invoices",
            values={"statut": "en_retard"},
            order=45,
        )
    )
    return items


# --------------------------------------------------------------------------- member page


@staff_dashboard.register_member_section
def member_declarations(company) -> staff_dashboard.MemberSection:
    """The member's declarations, newest first."""
    rows = db.session.execute(
        select(Declaration)
        .where(Declaration.company_id == company.id, Declaration.status.in_(billing_admin.SENT_STATUSES))
        .order_by(Declaration.year.desc(), Declaration.version.desc())
        .limit(MEMBER_ROWS)
    ).scalars()
    return staff_dashboard.MemberSection(
        "declarations",
        "Déclarations des effectifs",
        [
            staff_dashboard.SectionRow(
                f"{d.year} – version {d.version}" + (" (remplacée)" if d.status == DECLARATION_SUPERSEDED else ""),
                f"{d.headcount} salarié{'s' if d.headcount > 1 else ''}, {billing_service.format_eur(d.total_ttc)} TTC",
                staff_dashboard.Link("service.billing_declarations", {"annee": d.year, "q": company.code}),
            )
            for d in rows
        ],
        empty_text="Aucune déclaration confirmée.",
        order=60,
    )


@staff_dashboard.register_member_section
def member_account(company) -> staff_dashboard.MemberSection | None:
    """The link to the member's account, where staff bill by hand, refund and allocate (no query)."""
    if company.is_site:
        return None
    return staff_dashboard.MemberSection(
        "account",
        "Compte de l'adhérent",
        [
            staff_dashboard.SectionRow(
                "Mouvements, avoirs, remboursements, paiements, date d'adhésion",
                "",
                staff_dashboard.Link("service.member_account", {"code": company.code}),
            )
        ],
        order=60,
    )


@staff_dashboard.register_member_section
def member_invoices(company) -> staff_dashboard.MemberSection:
    """The member's invoices with their payment status (two queries)."""
    on = billing_service.today()
    invoices = db.session.execute(
        select(Invoice)
        .where(Invoice.company_id == company.id)
        .options(selectinload(Invoice.payments), selectinload(Invoice.credits))
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
        .limit(MEMBER_ROWS)
    ).scalars()
    labels = {**billing_admin.INVOICE_STATUSES, "avoir": "Avoir"}
    return staff_dashboard.MemberSection(
        "invoices",
        "Factures",
        [
            staff_dashboard.SectionRow(
                f"{invoice.kind_label} {invoice.number}",
                f"{billing_service.format_eur(invoice.total_ttc)} TTC, {labels[invoice.payment_status(on)].lower()}",
                staff_dashboard.Link("service.billing_invoice", {"invoice_id": invoice.id}),
            )
            for invoice in invoices
        ],
        empty_text="Aucune facture.",
        more=staff_dashboard.Link("service.billing_invoices", {"code": company.code}),
        order=61,
    )


# --------------------------------------------------------------------------- "Mes entreprises"


@attention.register
def billing_attention(company_ids: list[int]) -> dict[int, list[str]]:
    """ "Déclaration <year> à faire" during an open campaign without a confirmed declaration,
    "Facture en retard" / "Facture à payer" for unpaid invoices: ONE query for all ids (a
    round trip costs more than either part on PostgreSQL). The statement is built once
    (_attention_statement): building it cost more than running it on a page of
    "Mes entreprises"."""
    on = billing_service.today()
    labels: dict[int, list[str]] = {}
    # ("declared", year, company_id, None) rows of the open campaign: one with company_id None
    # when nobody declared, none without a campaign; ("unpaid", None, company_id, earliest due).
    rows = db.session.execute(_attention_statement(), {"on": on, "company_ids": company_ids}).all()
    campaign = [(year, cid) for kind, year, cid, _due in rows if kind == _DECLARED]
    if campaign:
        year = campaign[0][0]
        declared = {cid for _year, cid in campaign}
        for cid in company_ids:
            if cid not in declared:
                labels.setdefault(cid, []).append(f"Déclaration {year} à faire")
    for kind, _year, cid, earliest_due in rows:
        if kind == _UNPAID:
            labels.setdefault(cid, []).append("Facture en retard" if earliest_due < on else "Facture à payer")
    return labels


_DECLARED, _UNPAID = "declared", "unpaid"


@functools.cache
def _attention_statement():
    on = bindparam("on", type_=Date)
    company_ids = bindparam("company_ids", type_=Integer, expanding=True)
    campaign = (
        select(TariffYear.year)
        .where(TariffYear.campaign_opens_on <= on, TariffYear.campaign_closes_on >= on)
        .order_by(TariffYear.year.desc())
        .limit(1)
        .subquery()
    )
    declared = select(
        literal(_DECLARED, String).label("kind"),
        campaign.c.year,
        Declaration.company_id,
        cast(null(), Date).label("due_date"),
    ).outerjoin(
        Declaration,
        and_(
            Declaration.year == campaign.c.year,
            Declaration.company_id.in_(company_ids),
            Declaration.status.in_(billing_admin.SENT_STATUSES),
        ),
    )
    # What was paid on each invoice of these companies only (not a sum over every payment).
    # What settled each invoice of these companies only (payments and credit notes applied).
    paid = ledger.settled_scalar(Invoice.id)
    unpaid = (
        select(literal(_UNPAID, String), cast(null(), Integer), Invoice.company_id, func.min(Invoice.due_date))
        .where(Invoice.company_id.in_(company_ids), Invoice.kind != CREDIT_NOTE, paid < Invoice.total_ttc)
        .group_by(Invoice.company_id)
    )
    return union_all(declared, unpaid)
