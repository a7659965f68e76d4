"""`flask reminders send`: queue the reminder mail two days before each visit (cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from models.base import utcnow
from services.planning.reminders import send_reminders

reminders_cli = AppGroup("reminders", help="Rappels de visite.")


@reminders_cli.command("send")
@click.option("--days", default=2, show_default=True, help="Rappeler les visites des N prochains jours.")
def send_command(days: int) -> None:
    """Queue reminders for visits in the next DAYS days; a visit is never reminded twice."""
    count = send_reminders(utcnow(), days_before=days)
    click.echo(f"{count} rappel(s) mis en file d'envoi.")
