"""SEPA Core direct debit: the mandate the employer signs online (IBAN and BIC checked with
schwifty; its unique reference, the RUM; the creditor identifier, the ICS, from configuration;
a PDF in "Mon espace documentaire"; revocable), and the pain.008.001.02 batch the staff export
for the invoices due of members with a mandate, after a pre-notification e-mail.

The payment itself is recorded when the bank statement shows the collection
(services/billing/bank.py); a return (rejected debit) re-opens the invoice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from extensions import db
from models.bank import SepaDebit, SepaMandate
from models.billing import CREDIT_NOTE, Document, Invoice
from models.companies import Company
from services.billing.common import PARIS, BillingError, format_eur, today
from services.core import audit

PRENOTIFICATION_DAYS = 14  # at least 14 calendar days before the collection (SEPA rulebook)
MANDATE_DOC_KIND = "mandat"
_SAFE = re.compile(r"[^A-Za-z0-9 /\-?:().,'+]")


class MandateError(BillingError):
    """A refused mandate; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BankDetails:
    iban: str
    bic: str


def check_bank_details(iban: str, bic: str | None) -> BankDetails:
    """The IBAN (checksum, country format) and the BIC (format; derived from the IBAN when the
    bank is known and the field is empty), with schwifty."""
    try:
        parsed = IBAN(iban or "")
    except SchwiftyException:
        raise MandateError("IBAN invalide : vérifiez les caractères et la clé.", "iban") from None
    if not parsed.country or parsed.country_code not in SEPA_COUNTRIES:
        raise MandateError("Ce compte n'est pas dans la zone SEPA.", "iban")
    raw_bic = (bic or "").replace(" ", "").upper()
    if raw_bic:
        try:
            checked = BIC(raw_bic)
        except SchwiftyException:
            raise MandateError("BIC invalide (8 ou 11 caractères, par exemple AGRIFRPP882).", "bic") from None
        bic_text = str(checked)
    elif parsed.bic is not None:
        bic_text = str(parsed.bic)
    else:
        raise MandateError("Indiquez le BIC de votre banque.", "bic")
    return BankDetails(str(parsed.compact), bic_text)


SEPA_COUNTRIES = {
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK", "SM", "VA",
    "AD", "AL", "MD", "ME", "MK",
}  # fmt: skip


def creditor() -> dict:
    cfg = current_app.config
    creditor_id = cfg.get("SEPA_CREDITOR_ID")
    if not creditor_id:
        raise BillingError("Identifiant créancier SEPA (ICS) non configuré : SEPA_CREDITOR_ID.")
    return {
        "name": cfg["SERVICE_NAME"],
        "creditor_id": creditor_id,
        "iban": cfg["SERVICE_IBAN"].replace(" ", ""),
        "bic": cfg["SERVICE_BIC"].replace(" ", ""),
        "address": cfg["SERVICE_ADDRESS"],
    }


def active_mandate(company: Company) -> SepaMandate | None:
    return db.session.execute(
        select(SepaMandate)
        .where(SepaMandate.company_id == company.id, SepaMandate.revoked_on.is_(None))
        .order_by(SepaMandate.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _next_reference(company: Company) -> str:
    count = db.session.execute(
        select(func.count()).select_from(SepaMandate).where(SepaMandate.company_id == company.id)
    ).scalar_one()
    return f"RUM-{company.code}-{count + 1:04d}"


def sign_mandate(
    company: Company, *, debtor_name: str, iban: str, bic: str | None, signer_name: str, accepted: bool, actor
) -> SepaMandate:
    """The employer signs a mandate online; a new mandate replaces (revokes) the previous one."""
    name = " ".join((debtor_name or "").split())
    if not name or len(name) > 70:
        raise MandateError("Nom du titulaire du compte : 70 caractères au plus, obligatoire.", "debtor_name")
    if not accepted:
        raise MandateError("Cochez la case pour signer le mandat.", "accept")
    details = check_bank_details(iban, bic)
    ident = creditor()
    on = today()
    previous = active_mandate(company)
    if previous is not None:
        previous.revoked_on = on
    mandate = SepaMandate(
        company_id=company.id,
        reference=_next_reference(company),
        creditor_id=ident["creditor_id"],
        debtor_name=name,
        iban=details.iban,
        bic=details.bic,
        signed_on=on,
        signed_by_id=getattr(actor, "id", None),
        signed_by_name=signer_name[:200],
    )
    db.session.add(mandate)
    db.session.flush()
    pdf = mandate_pdf(mandate, company, ident)
    document = Document(
        company_id=company.id,
        kind=MANDATE_DOC_KIND,
        title=f"Mandat de prélèvement SEPA {mandate.reference}",
        year=on.year,
        content=pdf,
        content_type="application/pdf",
        filename=f"mandat-{mandate.reference}.pdf",
        size=len(pdf),
    )
    db.session.add(document)
    db.session.flush()
    mandate.document_id = document.id
    audit.record(
        "sepa_mandate.signed",
        actor=actor,
        company=company,
        target=mandate,
        reference=mandate.reference,
        iban_end=details.iban[-4:],
        replaces=previous.reference if previous else None,
    )
    return mandate


def revoke_mandate(mandate: SepaMandate, actor) -> None:
    if mandate.revoked_on is not None:
        raise BillingError("Ce mandat est déjà révoqué.")
    mandate.revoked_on = today()
    audit.record(
        "sepa_mandate.revoked", actor=actor, company=mandate.company, target=mandate, reference=mandate.reference
    )


def mandate_pdf(mandate: SepaMandate, company: Company, ident: dict) -> bytes:
    """The signed mandate, with the mentions of the SEPA Core rulebook."""
    from services.billing.pdf import _fonts_available, _InvoicePDF

    pdf = _InvoicePDF(unicode_font=_fonts_available() and not current_app.config.get("INVOICE_PDF_PLAIN"))
    pdf.set_title(pdf.txt(f"Mandat de prélèvement SEPA {mandate.reference}"))
    pdf.add_page()
    pdf.line_text("Mandat de prélèvement SEPA", 15, bold=True, h=8)
    pdf.line_text(f"Référence unique du mandat (RUM) : {mandate.reference}", 10, bold=True)
    pdf.line_text("Type de paiement : récurrent", 10)
    pdf.ln(3)
    text = (
        f"En signant ce formulaire de mandat, vous autorisez {ident['name']} à envoyer des instructions à votre "
        "banque pour débiter votre compte, et votre banque à débiter votre compte conformément aux instructions de "
        f"{ident['name']}. Vous bénéficiez du droit d'être remboursé par votre banque selon les conditions décrites "
        "dans la convention que vous avez passée avec elle. Une demande de remboursement doit être présentée dans "
        "les 8 semaines suivant la date de débit de votre compte pour un prélèvement autorisé. Vos droits "
        "concernant le présent mandat sont expliqués dans un document que vous pouvez obtenir auprès de votre banque."
    )
    pdf.font(9)
    pdf.multi_cell(0, 4.6, pdf.txt(text))
    pdf.ln(3)
    pdf.line_text("Créancier", 10, bold=True)
    pdf.line_text(ident["name"])
    for line in str(ident["address"]).splitlines():
        pdf.line_text(line)
    pdf.line_text(f"Identifiant créancier SEPA (ICS) : {mandate.creditor_id}")
    pdf.ln(3)
    pdf.line_text("Débiteur", 10, bold=True)
    pdf.line_text(f"{mandate.debtor_name} – code adhérent {company.code}")
    pdf.line_text(f"IBAN : {mandate.iban}")
    pdf.line_text(f"BIC : {mandate.bic}")
    pdf.ln(3)
    signed_at = datetime.now(PARIS).strftime("%d/%m/%Y à %H:%M")
    pdf.line_text(
        f"Signé en ligne le {mandate.signed_on.strftime('%d/%m/%Y')} ({signed_at}) par {mandate.signed_by_name}."
    )
    pdf.line_text("Vous pouvez révoquer ce mandat à tout moment depuis le portail adhérents.")
    return bytes(pdf.output())


# --------------------------------------------------------------------------- batches


@dataclass
class Debit:
    invoice: Invoice
    mandate: SepaMandate

    @property
    def amount(self) -> Decimal:
        return self.invoice.amount_due


def _pending(invoice: Invoice, debits: list[SepaDebit]) -> SepaDebit | None:
    """The batch that still waits for its collection on the statement, if any."""
    for debit in debits:
        collected = any(p.method == "prelevement" and p.paid_on >= debit.collection_date for p in invoice.payments)
        if not collected:
            return debit
    return None


def due_debits(*, with_pending: bool = False):
    """Invoices with an amount still due whose company has an active mandate, except those in
    an exported batch not yet collected (four queries). With `with_pending`, also returns
    those (invoice, pending SepaDebit) pairs."""
    mandates = {
        m.company_id: m
        for m in db.session.execute(select(SepaMandate).where(SepaMandate.revoked_on.is_(None))).scalars()
    }
    due: list[Debit] = []
    pending: list[tuple[Invoice, SepaDebit]] = []
    if mandates:
        invoices = [
            inv
            for inv in db.session.execute(
                select(Invoice)
                .where(Invoice.company_id.in_(mandates), Invoice.kind != CREDIT_NOTE)
                .options(selectinload(Invoice.payments), selectinload(Invoice.credits))
                .order_by(Invoice.due_date, Invoice.id)
            ).scalars()
            if inv.amount_due > 0
        ]
        batches: dict[int, list[SepaDebit]] = {}
        if invoices:
            for row in db.session.execute(
                select(SepaDebit).where(SepaDebit.invoice_id.in_([i.id for i in invoices])).order_by(SepaDebit.id)
            ).scalars():
                batches.setdefault(row.invoice_id, []).append(row)
        for inv in invoices:
            waiting = _pending(inv, batches.get(inv.id, []))
            if waiting is None:
                due.append(Debit(inv, mandates[inv.company_id]))
            else:
                pending.append((inv, waiting))
    return (due, pending) if with_pending else due


def _clean(text: str, limit: int) -> str:
    return _SAFE.sub(" ", text)[:limit].strip()


def export_batch(invoice_ids: list[int], collection_date: date, actor=None) -> tuple[bytes, list[Debit]]:
    """The pain.008.001.02 file of the chosen due invoices, collected on `collection_date`, and
    the pre-notification e-mails (outbox). Validated against the XSD by sepaxml."""
    from services.billing.invoices import invoice_recipients
    from services.core.outbox import queue_mail

    if collection_date < today() + timedelta(days=PRENOTIFICATION_DAYS):
        raise BillingError(
            f"Date d'échéance : au moins {PRENOTIFICATION_DAYS} jours après aujourd'hui (pré-notification)."
        )
    chosen = [d for d in due_debits() if d.invoice.id in set(invoice_ids)]
    if not chosen:
        raise BillingError("Choisissez au moins une facture à prélever.")
    ident = creditor()
    batch_id = f"PRLV-{collection_date:%Y%m%d}-{datetime.now(PARIS):%H%M%S}"
    sepa = SepaDD(
        {
            "name": _clean(ident["name"], 70),
            "IBAN": ident["iban"],
            "BIC": ident["bic"],
            "batch": True,
            "creditor_id": ident["creditor_id"],
            "currency": "EUR",
        },
        schema="pain.008.001.02",
        clean=True,
    )
    for debit in chosen:
        mandate = debit.mandate
        sepa.add_payment(
            {
                "name": _clean(mandate.debtor_name, 70),
                "IBAN": mandate.iban,
                "BIC": mandate.bic,
                "amount": int(debit.amount * 100),
                "type": "FRST" if mandate.first_collected_on is None else "RCUR",
                "collection_date": collection_date,
                "mandate_id": mandate.reference,
                "mandate_date": mandate.signed_on,
                "description": _clean(f"Facture {debit.invoice.number} adherent {debit.invoice.buyer_code}", 140),
                "endtoend_id": debit.invoice.number,
            }
        )
    xml = sepa.export(validate=True)
    for debit in chosen:
        db.session.add(
            SepaDebit(
                batch_id=batch_id,
                invoice_id=debit.invoice.id,
                mandate_id=debit.mandate.id,
                amount=debit.amount,
                collection_date=collection_date,
            )
        )
        if debit.mandate.first_collected_on is None:
            debit.mandate.first_collected_on = collection_date
        recipients = invoice_recipients(debit.invoice.company)
        if recipients:
            queue_mail(
                recipients,
                f"Prélèvement SEPA le {collection_date:%d/%m/%Y} – facture n° {debit.invoice.number}",
                "sepa_prenotification",
                reply_to=current_app.config["SERVICE_BILLING_EMAIL"],
                invoice=debit.invoice,
                amount=format_eur(debit.amount),
                collection_date=collection_date.strftime("%d/%m/%Y"),
                mandate=debit.mandate.reference,
                creditor_id=ident["creditor_id"],
                iban=debit.mandate.iban_masked,
                service_name=ident["name"],
            )
    audit.record(
        "sepa_batch.exported",
        actor=actor,
        batch=batch_id,
        collection_date=collection_date.isoformat(),
        invoices=[d.invoice.number for d in chosen],
        total=str(sum((d.amount for d in chosen), Decimal("0.00"))),
    )
    return xml, chosen
