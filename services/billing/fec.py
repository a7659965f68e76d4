"""The Fichier des Écritures Comptables (article A47 A-1 of the Livre des procédures fiscales):
the service's accounting entries for a date range, one line per entry line, the 18 columns in
the order of the article, tab-separated, ISO 8859-15, dates AAAAMMJJ, amounts with a comma.

Journals: VE (sales: invoices and credit notes), BQ (bank: payments received, refunds,
returned direct debits). Accounts (plan comptable général, configurable): 411 members (with
the member code as auxiliary account), 706 services, 44571 output VAT, 512 bank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.billing import CREDIT_NOTE, Invoice, Payment, Refund
from services.billing.common import ZERO

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
JOURNALS = {"VE": "Ventes", "BQ": "Banque"}
DEFAULT_ACCOUNTS = {
    "members": ("411000", "Adhérents"),
    "sales": ("706000", "Cotisations et prestations"),
    "vat": ("445710", "TVA collectée"),
    "bank": ("512000", "Banque"),
}


@dataclass
class Line:
    journal: str
    number: str
    on: date
    account: tuple[str, str]
    auxiliary: tuple[str, str] | None
    piece: str
    piece_date: date
    label: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def _accounts() -> dict:
    return {**DEFAULT_ACCOUNTS, **(current_app.config.get("FEC_ACCOUNTS") or {})}


def _amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _day(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _clean(text: str) -> str:
    return " ".join(str(text).replace("\t", " ").split())


def entries(start: date, end: date) -> list[list[Line]]:
    """The balanced entries of [start, end], in date order (three queries)."""
    acc = _accounts()
    found: list[tuple[date, int, list[Line]]] = []
    invoices = db.session.execute(
        select(Invoice).where(Invoice.issue_date.between(start, end)).order_by(Invoice.issue_date, Invoice.id)
    ).scalars()
    for inv in invoices:
        member = (f"C{inv.buyer_code}", inv.buyer_name)
        label = f"{inv.kind_label} {inv.number} {inv.buyer_code}"
        note = inv.kind == CREDIT_NOTE
        lines = [
            Line(
                "VE",
                "",
                inv.issue_date,
                acc["members"],
                member,
                inv.number,
                inv.issue_date,
                label,
                debit=ZERO if note else inv.total_ttc,
                credit=inv.total_ttc if note else ZERO,
            ),
            Line(
                "VE",
                "",
                inv.issue_date,
                acc["sales"],
                None,
                inv.number,
                inv.issue_date,
                label,
                debit=inv.total_ht if note else ZERO,
                credit=ZERO if note else inv.total_ht,
            ),
        ]
        if inv.total_vat:
            lines.append(
                Line(
                    "VE",
                    "",
                    inv.issue_date,
                    acc["vat"],
                    None,
                    inv.number,
                    inv.issue_date,
                    label,
                    debit=inv.total_vat if note else ZERO,
                    credit=ZERO if note else inv.total_vat,
                )
            )
        found.append((inv.issue_date, 0, lines))
    payments = db.session.execute(
        select(Payment)
        .where(or_(Payment.paid_on.between(start, end), Payment.rejected_on.between(start, end)))
        .options(joinedload(Payment.invoice))
        .order_by(Payment.paid_on, Payment.id)
    ).scalars()
    for pay in payments:
        inv = pay.invoice
        member = (f"C{inv.buyer_code}", inv.buyer_name)
        piece = f"P{pay.id}"
        if start <= pay.paid_on <= end:
            label = f"Règlement {inv.number} {pay.method_label.lower()}"
            found.append(
                (
                    pay.paid_on,
                    1,
                    [
                        Line("BQ", "", pay.paid_on, acc["bank"], None, piece, pay.paid_on, label, debit=pay.amount),
                        Line(
                            "BQ", "", pay.paid_on, acc["members"], member, piece, pay.paid_on, label, credit=pay.amount
                        ),
                    ],
                )
            )
        if pay.rejected_on is not None and start <= pay.rejected_on <= end:
            label = f"Rejet prélèvement {inv.number}"
            found.append(
                (
                    pay.rejected_on,
                    1,
                    [
                        Line(
                            "BQ",
                            "",
                            pay.rejected_on,
                            acc["members"],
                            member,
                            f"R{pay.id}",
                            pay.rejected_on,
                            label,
                            debit=pay.amount,
                        ),
                        Line(
                            "BQ",
                            "",
                            pay.rejected_on,
                            acc["bank"],
                            None,
                            f"R{pay.id}",
                            pay.rejected_on,
                            label,
                            credit=pay.amount,
                        ),
                    ],
                )
            )
    refunds = db.session.execute(
        select(Refund)
        .where(Refund.refunded_on.between(start, end))
        .options(joinedload(Refund.credit_note))
        .order_by(Refund.refunded_on, Refund.id)
    ).scalars()
    for refund in refunds:
        note = refund.credit_note
        member = (f"C{note.buyer_code}", note.buyer_name)
        label = f"Remboursement avoir {note.number}"
        piece = f"RB{refund.id}"
        found.append(
            (
                refund.refunded_on,
                2,
                [
                    Line(
                        "BQ",
                        "",
                        refund.refunded_on,
                        acc["members"],
                        member,
                        piece,
                        refund.refunded_on,
                        label,
                        debit=refund.amount,
                    ),
                    Line(
                        "BQ",
                        "",
                        refund.refunded_on,
                        acc["bank"],
                        None,
                        piece,
                        refund.refunded_on,
                        label,
                        credit=refund.amount,
                    ),
                ],
            )
        )
    found.sort(key=lambda item: (item[0], item[1]))
    counters = {journal: 0 for journal in JOURNALS}
    result = []
    for _, _, lines in found:
        journal = lines[0].journal
        counters[journal] += 1
        for line in lines:
            line.number = f"{journal}{counters[journal]:06d}"
        result.append(lines)
    return result


def fec_text(start: date, end: date) -> str:
    rows = ["\t".join(COLUMNS)]
    for entry in entries(start, end):
        for line in entry:
            aux_num, aux_lib = line.auxiliary or ("", "")
            rows.append(
                "\t".join(
                    _clean(value)
                    for value in (
                        line.journal,
                        JOURNALS[line.journal],
                        line.number,
                        _day(line.on),
                        line.account[0],
                        line.account[1],
                        aux_num,
                        aux_lib,
                        line.piece,
                        _day(line.piece_date),
                        line.label,
                        _amount(line.debit),
                        _amount(line.credit),
                        "",
                        "",
                        _day(line.on),
                        "",
                        "",
                    )
                )
            )
    return "\r\n".join(rows) + "\r\n"


def fec_file(start: date, end: date) -> tuple[str, bytes]:
    """(file name SIRENFECAAAAMMJJ.txt, content in ISO 8859-15)."""
    siren = "".join(ch for ch in str(current_app.config.get("SERVICE_SIRET", "")) if ch.isdigit())[:9] or "000000000"
    return f"{siren}FEC{end:%Y%m%d}.txt", fec_text(start, end).encode("iso8859_15", errors="replace")
