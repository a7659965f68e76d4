"""`flask billing ...`: the service's tariff and payment commands (until the back office)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import click
from flask.cli import AppGroup

from extensions import db
from models.billing import PAYMENT_METHODS
from services import billing as billing_service
from services.core.database import write_intent

billing_cli = AppGroup("billing", help="Cotisation: tariffs and payments.")
tariff_cli = AppGroup("tariff", help="Yearly fee grids.")
payment_cli = AppGroup("payment", help="Payments received.")
invoice_cli = AppGroup("invoice", help="Invoices.")
billing_cli.add_command(tariff_cli)
billing_cli.add_command(payment_cli)
billing_cli.add_command(invoice_cli)


@invoice_cli.command("publish")
def invoice_publish() -> None:
    """Render, store and mail the PDF of every invoice still without one."""
    with write_intent():
        ids = billing_service.unpublished_invoice_ids()
        documents = billing_service.publish_invoices(ids)
    click.echo(f"{len(documents)} facture(s) publiée(s).")


@tariff_cli.command("set")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option(
    "--from-json",
    "source",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="Grid in the JSON format of docs/BILLING.md.",
)
def tariff_set(year: int, source) -> None:
    """Create or replace the grid of YEAR."""
    try:
        data = json.load(source, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"JSON invalide : {exc}") from None
    with write_intent():
        try:
            tariff = billing_service.set_tariff(year, data)
        except billing_service.TariffError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
    click.echo(f"Grille {tariff.year} enregistrée ({tariff.mode}).")


@tariff_cli.command("show")
@click.argument("year", type=int)
def tariff_show(year: int) -> None:
    """Print the grid of YEAR as JSON."""
    tariff = billing_service.tariff_for_year(year)
    if tariff is None:
        raise click.ClickException(f"Aucune grille pour {year}.")
    click.echo(json.dumps(billing_service.tariff_to_dict(tariff), indent=2, ensure_ascii=False))


@payment_cli.command("record")
@click.argument("invoice_number")
@click.argument("amount")
@click.option("--date", "paid_on", default=None, help="Date of the payment, YYYY-MM-DD (default: today).")
@click.option("--method", default="virement", show_default=True, type=click.Choice(sorted(PAYMENT_METHODS)))
@click.option("--reference", default=None, help="Bank reference of the payment.")
def payment_record(invoice_number: str, amount: str, paid_on: str | None, method: str, reference: str | None) -> None:
    """Record a payment of AMOUNT (e.g. 1300.32) on INVOICE_NUMBER."""
    try:
        day = date.fromisoformat(paid_on) if paid_on else billing_service.today()
    except ValueError:
        raise click.ClickException("Date invalide (AAAA-MM-JJ).") from None
    with write_intent():
        invoice = billing_service.invoice_by_number(invoice_number)
        if invoice is None:
            db.session.rollback()
            raise click.ClickException(f"Facture {invoice_number} introuvable.")
        try:
            billing_service.record_payment(invoice, amount.replace(",", "."), day, method, reference)
        except billing_service.BillingError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        status = invoice.payment_status(billing_service.today())
        db.session.commit()
    click.echo(
        f"Paiement enregistré sur {invoice_number} ; reste à payer "
        f"{billing_service.format_eur(invoice.amount_due)} ({status})."
    )


reminders_cli = AppGroup("reminders", help="Reminders of overdue invoices.")
billing_cli.add_command(reminders_cli)


@reminders_cli.command("send")
def reminders_send() -> None:
    """Queue a reminder for every overdue invoice not reminded in the last 7 days (for cron)."""
    from services.billing import admin as billing_admin

    with write_intent():
        run = billing_admin.send_overdue_reminders(None)
        db.session.commit()
    click.echo(
        f"{run.sent} relance(s) envoyée(s) ; {run.skipped_recent} déjà relancée(s) depuis moins de 7 jours ; "
        f"{run.skipped_no_address} sans adresse e-mail."
    )
