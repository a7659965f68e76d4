"""`flask follow-up verify`: recompute every employee's stored next due visit and report."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click
from flask.cli import AppGroup

from extensions import db
from services.core.database import write_intent
from services.employees import next_due

follow_up_cli = AppGroup("follow-up", help="Suivi de l'état de santé : prochaine visite enregistrée.")


@follow_up_cli.command("verify")
@click.option("--fix", is_flag=True, help="Corriger les différences trouvées (à lancer chaque nuit).")
def verify_command(fix: bool) -> None:
    """Recompute the next due visit of every employee from the rules and compare it with the
    stored one. Exit status 1 when a difference remains (0 with --fix)."""
    with write_intent() if fix else nullcontext():
        report = next_due.recompute(db.session.connection(), fix=fix)
        if fix:
            db.session.commit()
        else:
            db.session.rollback()
    for eid, stored, computed in report.examples:
        click.echo(f"salarié {eid} : enregistré {_fmt(stored)}, calculé {_fmt(computed)}")
    click.echo(f"{report.checked} salarié(s) vérifié(s), {report.differences} différence(s).")
    if fix:
        click.echo(f"{report.fixed} correction(s) enregistrée(s).")
    elif report.differences:
        sys.exit(1)


def _fmt(values) -> str:
    day, kind, article = values
    if day is None:
        return "aucune visite due"
    return f"{kind} le {day:%d/%m/%Y} ({article})"
