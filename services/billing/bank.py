"""Bank statements: import the service's account statement (ISO 20022 camt.053 XML, or CSV),
match each credit to an invoice by its reference and amount, keep the rest in a list for a
person, and re-open an invoice whose direct debit the bank returned.

Importing the same statement twice changes nothing: a statement is known by its id (camt) or
its digest (CSV), and each line by the bank's own reference of the entry and transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from extensions import db
from models.bank import (
    LINE_IGNORED,
    LINE_MATCHED,
    LINE_REJECTED,
    LINE_UNMATCHED,
    BankLine,
    BankStatement,
)
from models.billing import CREDIT_NOTE, Invoice, Payment
from services.billing.common import BillingError, money
from services.billing.payments import record_payment
from services.core import audit

INVOICE_NUMBER = re.compile(r"\b(\d{4}-\d{6})\b")
MAX_FILE_BYTES = 20 * 1024 * 1024
CSV_COLUMNS = ("date", "montant", "libelle", "reference")


@dataclass
class ParsedLine:
    key: str
    booking_date: date
    amount: Decimal
    credit: bool
    reversal: bool = False
    reference: str | None = None
    end_to_end_id: str | None = None
    counterparty: str | None = None
    return_reason: str | None = None
    direct_debit: bool = False


@dataclass
class ParsedStatement:
    key: str
    format: str
    account: str | None
    statement_date: date | None
    lines: list[ParsedLine] = field(default_factory=list)


@dataclass
class ImportResult:
    statement: BankStatement | None
    already: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # lines already imported through another statement


# --------------------------------------------------------------------------- parsing


def _text(element, path: str) -> str | None:
    found = element.find(path) if element is not None else None
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _amount(raw: str | None) -> Decimal:
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        raise BillingError("Relevé illisible : montant invalide.") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise BillingError("Relevé illisible : montant invalide.")
    return value


def _date(raw: str | None) -> date:
    try:
        return date.fromisoformat((raw or "")[:10])
    except ValueError:
        raise BillingError("Relevé illisible : date invalide.") from None


def parse_camt053(data: bytes) -> ParsedStatement:
    """A camt.053 (001.02 to 001.08) statement. External entities and the network are off:
    the file comes from outside."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        raise BillingError("Fichier XML illisible.") from None
    namespace = etree.QName(root).namespace or ""
    if not namespace.startswith("urn:iso:std:iso:20022:tech:xsd:camt.053"):
        raise BillingError("Ce fichier n'est pas un relevé camt.053.")
    statements = root.findall("{*}BkToCstmrStmt/{*}Stmt")
    if len(statements) != 1:
        raise BillingError("Le fichier doit contenir un relevé (Stmt) et un seul.")
    stmt = statements[0]
    account = _text(stmt, "{*}Acct/{*}Id/{*}IBAN")
    stmt_id = _text(stmt, "{*}Id") or hashlib.sha256(data).hexdigest()
    created = _text(stmt, "{*}CreDtTm")
    parsed = ParsedStatement(
        key=f"camt053|{account}|{stmt_id}"[:140],
        format="camt.053",
        account=account,
        statement_date=_date(created) if created else None,
    )
    for n, entry in enumerate(stmt.findall("{*}Ntry")):
        status = _text(entry, "{*}Sts") or _text(entry, "{*}Sts/{*}Cd")
        if status and status != "BOOK":
            continue  # pending or information-only entries are not booked yet
        credit = _text(entry, "{*}CdtDbtInd") == "CRDT"
        reversal = (_text(entry, "{*}RvslInd") or "").lower() == "true"
        booked = _date(_text(entry, "{*}BookgDt/{*}Dt") or _text(entry, "{*}BookgDt/{*}DtTm"))
        entry_ref = _text(entry, "{*}AcctSvcrRef") or _text(entry, "{*}NtryRef") or f"n{n}"
        family = _text(entry, "{*}BkTxCd/{*}Domn/{*}Fmly/{*}Cd")
        transactions = entry.findall("{*}NtryDtls/{*}TxDtls") or [None]
        for t, tx in enumerate(transactions):
            refs = tx.find("{*}Refs") if tx is not None else None
            amount_text = None
            if tx is not None:
                amount_text = _text(tx, "{*}AmtDtls/{*}TxAmt/{*}Amt") or _text(tx, "{*}Amt")
            if amount_text is None:
                amount_text = _text(entry, "{*}Amt")
            remittance = None
            if tx is not None:
                remittance = " ".join(
                    filter(
                        None,
                        [_text(u, ".") for u in tx.findall("{*}RmtInf/{*}Ustrd")]
                        + [_text(tx, "{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref")],
                    )
                )
            party = "{*}Dbtr" if credit else "{*}Cdtr"
            counterparty = None
            if tx is not None:
                counterparty = _text(tx, f"{{*}}RltdPties/{party}/{{*}}Nm") or _text(
                    tx, f"{{*}}RltdPties/{party}/{{*}}Pty/{{*}}Nm"
                )
            tx_ref = (_text(refs, "{*}AcctSvcrRef") or _text(refs, "{*}TxId")) if refs is not None else None
            end_to_end = _text(refs, "{*}EndToEndId") if refs is not None else None
            if end_to_end == "NOTPROVIDED":
                end_to_end = None
            parsed.lines.append(
                ParsedLine(
                    key=f"{account}|{entry_ref}|{tx_ref or end_to_end or t}"[:200],
                    booking_date=booked,
                    amount=_amount(amount_text),
                    credit=credit,
                    reversal=reversal,
                    reference=(remittance or _text(entry, "{*}AddtlNtryInf") or "")[:300] or None,
                    end_to_end_id=(end_to_end or "")[:35] or None,
                    counterparty=(counterparty or "")[:140] or None,
                    return_reason=_text(tx, "{*}RtrInf/{*}Rsn/{*}Cd") if tx is not None else None,
                    direct_debit=family in ("RDDT", "IDDT", "UPDD")
                    or (refs is not None and _text(refs, "{*}MndtId") is not None),
                )
            )
    return parsed


def parse_csv(data: bytes) -> ParsedStatement:
    """A CSV export: `date;montant;libelle;reference` (JJ/MM/AAAA; 1 234,56; negative: debit)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = [h.strip().lower() for h in next(reader, [])]
    if tuple(header[:4]) != CSV_COLUMNS:
        raise BillingError("En-tête attendu : " + ";".join(CSV_COLUMNS) + ".")
    parsed = ParsedStatement(
        key="csv|" + hashlib.sha256(data).hexdigest(), format="csv", account=None, statement_date=None
    )
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 4:
            raise BillingError(f"Ligne {number} : 4 colonnes attendues.")
        raw_date, raw_amount, label, reference = (cell.strip() for cell in row[:4])
        try:
            booked = datetime.strptime(raw_date, "%d/%m/%Y").date()
        except ValueError:
            raise BillingError(f"Ligne {number} : date invalide (JJ/MM/AAAA).") from None
        try:
            value = Decimal(raw_amount.replace("\u00a0", "").replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise BillingError(f"Ligne {number} : montant invalide.") from None
        if not value.is_finite() or value == 0 or value != value.quantize(Decimal("0.01")):
            raise BillingError(f"Ligne {number} : montant invalide.")
        content = f"{booked}|{value}|{label}|{reference}"
        seen[content] = seen.get(content, 0) + 1
        digest = hashlib.sha256(f"{content}|{seen[content]}".encode()).hexdigest()
        parsed.lines.append(
            ParsedLine(
                key=f"csv|{digest}",
                booking_date=booked,
                amount=abs(value),
                credit=value > 0,
                reference=" ".join(f"{label} {reference}".split())[:300] or None,
                direct_debit="prlv" in label.lower() or "prélèvement" in label.lower(),
            )
        )
    return parsed


def parse_statement(data: bytes, filename: str) -> ParsedStatement:
    if not data:
        raise BillingError("Le fichier est vide.")
    if len(data) > MAX_FILE_BYTES:
        raise BillingError("Le fichier dépasse 20 Mo.")
    if data.lstrip()[:1] == b"<":
        return parse_camt053(data)
    return parse_csv(data)


# --------------------------------------------------------------------------- matching


def _invoice_numbers(line: BankLine) -> list[str]:
    text = " ".join(filter(None, [line.end_to_end_id, line.reference]))
    return list(dict.fromkeys(INVOICE_NUMBER.findall(text)))


def _load_invoice(number: str) -> Invoice | None:
    return db.session.execute(
        select(Invoice)
        .where(Invoice.number == number)
        .options(selectinload(Invoice.payments), selectinload(Invoice.credits))
    ).scalar_one_or_none()


def _match_credit(line: BankLine, direct_debit: bool, actor) -> None:
    numbers = _invoice_numbers(line)
    invoice = _load_invoice(numbers[0]) if len(numbers) == 1 else None
    if invoice is None or invoice.kind == CREDIT_NOTE or not 0 < line.amount <= invoice.amount_due:
        return  # waits in the list for a person
    payment = record_payment(
        invoice,
        line.amount,
        line.booking_date,
        "prelevement" if direct_debit else "virement",
        (line.end_to_end_id or line.reference or "")[:100] or None,
        actor,
    )
    line.status, line.invoice_id, line.payment_id = LINE_MATCHED, invoice.id, payment.id


def _match_rejected_debit(line: BankLine, actor) -> None:
    """A direct debit returned by the debtor's bank: its payment stops settling the invoice."""
    numbers = _invoice_numbers(line)
    if len(numbers) != 1:
        line.status = LINE_IGNORED
        return
    payment = db.session.execute(
        select(Payment)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(
            Invoice.number == numbers[0],
            Payment.method == "prelevement",
            Payment.amount == line.amount,
            Payment.rejected_on.is_(None),
        )
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if payment is None:
        line.status = LINE_UNMATCHED  # a person looks at it
        return
    payment.rejected_on = line.booking_date
    line.status, line.invoice_id, line.payment_id = LINE_REJECTED, payment.invoice_id, payment.id
    audit.record(
        "payment.rejected",
        actor=actor,
        company=payment.invoice.company,
        target=payment,
        invoice=numbers[0],
        amount=str(payment.amount),
        reason=line.return_reason,
    )


def import_statement(data: bytes, filename: str, actor=None) -> ImportResult:
    """Parse, store and match a statement, in the caller's transaction."""
    parsed = parse_statement(data, filename)
    known = db.session.execute(select(BankStatement).where(BankStatement.key == parsed.key)).scalar_one_or_none()
    if known is not None:
        return ImportResult(known, already=True)
    statement = BankStatement(
        key=parsed.key,
        format=parsed.format,
        account=parsed.account,
        filename=(filename or "releve")[:200],
        statement_date=parsed.statement_date,
        imported_by_id=getattr(actor, "id", None),
    )
    db.session.add(statement)
    db.session.flush()
    keys = [line.key for line in parsed.lines]
    existing = set()
    for start in range(0, len(keys), 500):
        existing |= set(
            db.session.execute(select(BankLine.key).where(BankLine.key.in_(keys[start : start + 500]))).scalars()
        )
    result = ImportResult(statement)
    for item in parsed.lines:
        if item.key in existing:
            result.skipped += 1
            continue
        existing.add(item.key)
        line = BankLine(
            statement=statement,
            key=item.key,
            booking_date=item.booking_date,
            amount=money(item.amount),
            credit=item.credit,
            reversal=item.reversal,
            reference=item.reference,
            end_to_end_id=item.end_to_end_id,
            counterparty=item.counterparty,
            return_reason=item.return_reason,
            status=LINE_UNMATCHED,
        )
        db.session.add(line)
        db.session.flush()
        if item.credit and not item.reversal:
            _match_credit(line, item.direct_debit, actor)
        elif not item.credit and (item.reversal or item.return_reason or item.direct_debit):
            _match_rejected_debit(line, actor)
        else:
            line.status = LINE_IGNORED  # the service's own debits (fees, transfers out)
        result.counts[line.status] = result.counts.get(line.status, 0) + 1
    audit.record(
        "bank_statement.imported",
        actor=actor,
        target=statement,
        format=parsed.format,
        lines=len(parsed.lines),
        skipped=result.skipped,
        **{f"n_{k}": v for k, v in result.counts.items()},
    )
    return result


# --------------------------------------------------------------------------- the list


def unmatched_lines(limit: int = 200) -> list[BankLine]:
    return list(
        db.session.execute(
            select(BankLine)
            .where(BankLine.status == LINE_UNMATCHED)
            .order_by(BankLine.booking_date, BankLine.id)
            .limit(limit)
        ).scalars()
    )


def count_unmatched() -> int:
    return db.session.execute(
        select(func.count()).select_from(BankLine).where(BankLine.status == LINE_UNMATCHED)
    ).scalar_one()


def recent_statements(limit: int = 20) -> list[tuple[BankStatement, int]]:
    rows = db.session.execute(
        select(BankStatement, func.count(BankLine.id))
        .outerjoin(BankLine, BankLine.statement_id == BankStatement.id)
        .group_by(BankStatement.id)
        .order_by(BankStatement.id.desc())
        .limit(limit)
    ).all()
    return [(statement, count) for statement, count in rows]


def _line(line_id: int) -> BankLine:
    line = db.session.get(BankLine, line_id)
    if line is None or line.status != LINE_UNMATCHED:
        raise BillingError("Cette ligne n'attend plus de rapprochement.")
    return line


def assign_line(line_id: int, invoice_number: str, actor=None) -> Payment:
    """A person matches a waiting credit to an invoice (its amount must not exceed what is due)."""
    line = _line(line_id)
    if not line.credit:
        raise BillingError("Seul un crédit se rapproche d'une facture.")
    invoice = _load_invoice((invoice_number or "").strip())
    if invoice is None or invoice.kind == CREDIT_NOTE:
        raise BillingError("Numéro de facture inconnu.")
    payment = record_payment(
        invoice, line.amount, line.booking_date, "virement", (line.reference or "")[:100] or None, actor
    )
    line.status, line.invoice_id, line.payment_id = LINE_MATCHED, invoice.id, payment.id
    audit.record("bank_line.matched", actor=actor, company=invoice.company, target=line, invoice=invoice.number)
    return payment


def ignore_line(line_id: int, actor=None) -> BankLine:
    line = _line(line_id)
    line.status = LINE_IGNORED
    audit.record("bank_line.ignored", actor=actor, target=line, amount=str(line.amount))
    return line
