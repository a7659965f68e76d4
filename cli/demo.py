"""`flask demo [--reset]`: load the deterministic demo data and print how to try it."""

from __future__ import annotations

import click
from flask import current_app

from services.demo import DemoAlreadyLoaded, load_demo


@click.command("demo")
@click.option("--reset", is_flag=True, help="Efface toutes les données puis recharge la démonstration.")
def demo(reset: bool) -> None:
    """Load the demo: members with sites, an accountant, an employer, employees."""
    if current_app.config.get("ENV_NAME") == "production":
        # The demo creates accounts with a published password: never on a real service.
        raise click.ClickException(
            "Les données de démonstration sont refusées en production (PORTAIL_ENV=production) : "
            "elles créent des comptes dont le mot de passe est public."
        )
    try:
        ctx = load_demo(reset=reset)
    except DemoAlreadyLoaded as exc:
        click.echo(str(exc))
        return
    # Invoice PDFs are rendered after the data is committed (as the portal itself does).
    from sqlalchemy import select

    from extensions import db
    from models.billing import Invoice
    from services.billing import publish_invoices

    publish_invoices(list(db.session.scalars(select(Invoice.id))))
    click.echo("\n".join(ctx.notes))
