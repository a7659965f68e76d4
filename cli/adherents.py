"""`flask adherents import FILE.csv [--dry-run]`: feed member companies from the business software."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from extensions import db
from services.core.database import write_intent
from services.staff.member_import import apply_member_import, parse_member_csv

adherents = AppGroup("adherents", help="Adhérents : import depuis le logiciel métier.")


@adherents.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Vérifie le fichier et affiche le bilan sans rien enregistrer.")
def import_command(path: Path, dry_run: bool) -> None:
    """Import member companies and their sites from a CSV file (the whole file or nothing)."""
    started = time.monotonic()
    data = path.read_bytes()
    with write_intent():
        result = parse_member_csv(data)
        if not result.ok:
            db.session.rollback()
            click.echo(f"{path.name} : {len(result.errors)} erreur(s), rien n'a été importé.", err=True)
            for error in result.errors:
                click.echo(str(error), err=True)
            raise SystemExit(1)
        try:
            summary = apply_member_import(result.rows, dry_run=dry_run, source=path.name)
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    elapsed = time.monotonic() - started
    prefix = "Simulation (rien n'a été enregistré) : " if dry_run else ""
    click.echo(
        f"{prefix}{len(result.rows)} ligne(s) lue(s) ({result.encoding}, séparateur « {result.delimiter} ») : "
        f"{summary.created} créé(s), {summary.updated} mis à jour, {summary.unchanged} inchangé(s) "
        f"en {elapsed:.1f} s."
    )
