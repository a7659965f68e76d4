"""CSV exports for the service's business software: members, employees, visits, invoices and
payments, each with a fixed, documented column list (docs/SERVICE.md, and the export page).

Rows are streamed (yield_per), `;` separated, UTF-8 with a BOM, dates ISO, amounts with a
dot; a cell that a spreadsheet would run (= + - @) is neutralised. The NIR is never exported."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from extensions import db
from models.companies import Company
from models.employees import Employee
from models.planning import Centre, Professional, Slot, Visit
from services.planning.common import PARIS

BATCH = 1000


@dataclass(frozen=True)
class Export:
    key: str
    label: str
    columns: tuple[tuple[str, str], ...]  # (name, meaning)
    rows: Callable[[], Iterator[tuple]]


def _members() -> Iterator[tuple]:
    parent = aliased(Company)
    stmt = (
        select(
            Company.code,
            parent.code,
            Company.name,
            Company.siret,
            Company.naf,
            Company.address,
            Company.postal_code,
            Company.city,
            Company.phone,
            Company.email,
            Company.active,
            Company.adhesion_date,
            Company.radiation_date,
        )
        .outerjoin(parent, parent.id == Company.parent_id)
        .order_by(Company.code)
    )
    yield from db.session.execute(stmt.execution_options(yield_per=BATCH))


def _employees() -> Iterator[tuple]:
    stmt = (
        select(
            Company.code,
            Employee.id,
            Employee.birth_name,
            Employee.usage_name,
            Employee.first_names,
            Employee.sex,
            Employee.birth_date,
            Employee.entry_date,
            Employee.contract_nature,
            Employee.apprentice,
            Employee.job_title,
            Employee.pcs_ese,
            Employee.category,
            Employee.night_work,
            Employee.rqth,
            Employee.exit_date,
            Employee.exit_reason,
            Employee.next_due_date,
            Employee.next_due_kind,
            Employee.next_due_article,
        )
        .join(Company, Company.id == Employee.company_id)
        .order_by(Company.code, Employee.id)
    )
    yield from db.session.execute(stmt.execution_options(yield_per=BATCH))


def _visits() -> Iterator[tuple]:
    stmt = (
        select(
            Visit.id,
            Company.code,
            Visit.employee_id,
            Visit.starts_at,
            Visit.visit_type,
            Visit.status,
            Centre.name,
            Professional.name,
            Visit.request_id,
            Visit.service_change_reason,
        )
        .join(Company, Company.id == Visit.company_id)
        .outerjoin(Slot, Slot.id == Visit.slot_id)
        .outerjoin(Centre, Centre.id == Slot.centre_id)
        .outerjoin(Professional, Professional.id == Slot.professional_id)
        .order_by(Visit.starts_at, Visit.id)
    )
    for row in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        yield (row[0], row[1], row[2], row[3].astimezone(PARIS).isoformat(timespec="minutes"), *row[4:])


def _invoices() -> Iterator[tuple]:
    from models.billing import Invoice, Payment

    paid = select(Payment.invoice_id, func.sum(Payment.amount).label("paid")).group_by(Payment.invoice_id).subquery()
    stmt = (
        select(
            Invoice.number,
            Invoice.kind,
            Invoice.buyer_code,
            Invoice.year,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.total_ht,
            Invoice.total_vat,
            Invoice.total_ttc,
            func.coalesce(paid.c.paid, 0),
        )
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .order_by(Invoice.number)
    )
    for row in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        paid_amount = Decimal(str(row[9])).quantize(Decimal("0.01"))
        yield (*row[:9], paid_amount, max(row[8] - paid_amount, Decimal("0.00")))


def _payments() -> Iterator[tuple]:
    from models.billing import Invoice, Payment

    stmt = (
        select(Invoice.number, Invoice.buyer_code, Payment.paid_on, Payment.amount, Payment.method, Payment.reference)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .order_by(Payment.paid_on, Payment.id)
    )
    yield from db.session.execute(stmt.execution_options(yield_per=BATCH))


EXPORTS = {
    e.key: e
    for e in (
        Export(
            "adherents",
            "Adhérents et sites",
            (
                ("code_adherent", "Code adhérent (NNNNN, ou NNNNN-N pour un site)"),
                ("code_membre", "Code du membre dont dépend un site (vide pour un membre)"),
                ("raison_sociale", "Raison sociale"),
                ("siret", "SIRET (14 chiffres)"),
                ("naf", "Code NAF sans point (6201Z)"),
                ("adresse", "Adresse"),
                ("code_postal", "Code postal"),
                ("ville", "Ville"),
                ("telephone", "Téléphone"),
                ("email", "Adresse e-mail"),
                ("actif", "1 actif, 0 radié"),
                ("date_adhesion", "Date d'adhésion (AAAA-MM-JJ)"),
                ("date_radiation", "Date de radiation (AAAA-MM-JJ)"),
            ),
            _members,
        ),
        Export(
            "salaries",
            "Salariés",
            (
                ("code_adherent", "Code de l'adhérent ou du site employeur"),
                ("id_salarie", "Identifiant du salarié dans le portail"),
                ("nom_naissance", "Nom de naissance"),
                ("nom_usage", "Nom d'usage"),
                ("prenoms", "Prénom(s)"),
                ("sexe", "M ou F"),
                ("date_naissance", "Date de naissance"),
                ("date_entree", "Date d'entrée"),
                ("nature_contrat", "Nature du contrat (codes DSN : 01 CDI, 02 CDD, 03 intérim…)"),
                ("apprenti", "1 apprenti, 0 sinon"),
                ("poste", "Libellé de l'emploi"),
                ("pcs_ese", "Code PCS-ESE"),
                ("categorie", "Catégorie de suivi : SI, SIA ou SIR"),
                ("travail_nuit", "1 travail de nuit, 0 sinon"),
                ("rqth", "1 RQTH ou pension d'invalidité, 0 sinon"),
                ("date_sortie", "Date de sortie"),
                ("motif_sortie", "Motif de sortie (code)"),
                ("prochaine_visite", "Date de la prochaine visite due"),
                ("type_prochaine_visite", "Type de visite due (codes du planning : vip_embauche, examen_sir…)"),
                ("article", "Article du Code du travail de la visite due"),
            ),
            _employees,
        ),
        Export(
            "visites",
            "Visites",
            (
                ("id_visite", "Identifiant de la visite"),
                ("code_adherent", "Code de l'adhérent ou du site"),
                ("id_salarie", "Identifiant du salarié"),
                ("date_heure", "Date et heure (heure de Paris, ISO 8601)"),
                ("type", "Type de visite (vip_embauche, examen_sir, reprise…)"),
                ("statut", "proposee, confirmee, annulee, realisee, absence_excusee, absence_non_excusee"),
                ("centre", "Centre"),
                ("professionnel", "Professionnel de santé"),
                ("id_demande", "Demande de rendez-vous à l'origine, le cas échéant"),
                ("motif_changement", "Motif d'annulation ou de déplacement par le service"),
            ),
            _visits,
        ),
        Export(
            "factures",
            "Factures et avoirs",
            (
                ("numero", "Numéro de facture (séquence continue)"),
                ("type", "invoice (facture), complement (complémentaire) ou credit_note (avoir)"),
                ("code_adherent", "Code adhérent de l'acheteur"),
                ("annee", "Année de cotisation"),
                ("date_emission", "Date d'émission"),
                ("date_echeance", "Date d'échéance"),
                ("total_ht", "Total HT (euros, point décimal)"),
                ("total_tva", "Total TVA"),
                ("total_ttc", "Total TTC"),
                ("paye", "Montant déjà payé"),
                ("reste_du", "Reste dû"),
            ),
            _invoices,
        ),
        Export(
            "paiements",
            "Paiements",
            (
                ("numero_facture", "Numéro de la facture payée"),
                ("code_adherent", "Code adhérent"),
                ("date_paiement", "Date du paiement"),
                ("montant", "Montant (euros, point décimal)"),
                ("moyen", "Moyen de paiement"),
                ("reference", "Référence (n° de chèque, de virement…)"),
            ),
            _payments,
        ),
    )
}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)  # amounts may be negative (credit notes): never neutralised
    text = str(value)
    # Spreadsheets run cells that start with these: neutralise them (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def stream(export: Export) -> Iterator[str]:
    """The CSV text, header first, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([name for name, _ in export.columns])
    yield "\ufeff" + buffer.getvalue()
    count = 0
    for row in export.rows():
        if count % 200 == 0:
            buffer.seek(0)
            buffer.truncate()
        writer.writerow([_cell(v) for v in row])
        count += 1
        if count % 200 == 0:
            yield buffer.getvalue()
    if count % 200:
        yield buffer.getvalue()
