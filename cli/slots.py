"""`flask slots import FILE.csv` and `flask slots centre add`: the service publishes slots."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from extensions import db
from services.core.database import write_intent
from services.planning.slot_import import SlotImportError, import_slots, save_centre

slots_cli = AppGroup("slots", help="Créneaux de visite publiés par le service.")


def _read(path: str) -> str:
    raw = open(path, "rb").read()  # noqa: SIM115 - small file, read once
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


@slots_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(path: str) -> None:
    """Import FILE.csv (debut;duree_minutes;centre;professionnel;code_adherent), all or nothing."""
    text = _read(path)
    with write_intent():
        try:
            result = import_slots(text, actor_label=f"cli:slots import {path}"[:100])
        except SlotImportError as exc:
            db.session.rollback()
            for line in exc.errors:
                click.echo(line, err=True)
            raise click.ClickException("Aucun créneau importé : corrigez le fichier et recommencez.") from None
        db.session.commit()
    click.echo(f"{result.created} créneau(x) créé(s), {result.existing} déjà présent(s).")
    for name in result.centres_created:
        click.echo(f"Centre créé : {name} (adresse à compléter avec « flask slots centre add »).")
    for name in result.professionals_created:
        click.echo(f"Professionnel créé : {name}.")


@slots_cli.group("centre")
def centre_group() -> None:
    """Centres de visite."""


@centre_group.command("add")
@click.argument("name")
@click.option("--adresse", "address", required=True, help="Numéro et rue.")
@click.option("--code-postal", "postal_code", default=None)
@click.option("--ville", "city", default=None)
@click.option("--acces", "access_notes", default=None, help="Indications d'accès (parking, étage...).")
def centre_add(name: str, address: str, postal_code: str | None, city: str | None, access_notes: str | None) -> None:
    """Create a centre or update its address and access notes."""
    if len(name) > 120 or len(address) > 300:
        raise click.ClickException("Nom (120) ou adresse (300 caractères) trop long.")
    with write_intent():
        centre = save_centre(name.strip(), address.strip(), postal_code, city, access_notes)
        db.session.commit()
    click.echo(f"Centre enregistré : {centre.name}.")
