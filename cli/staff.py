"""`flask --app app staff create EMAIL --role agent|admin`: staff accounts from the command line."""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from extensions import db
from services.staff import team_and_members as staff

staff_cli = AppGroup("staff", help="Comptes du personnel du service (espace service).")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(sorted(staff.STAFF_ROLES)), required=True, help="agent ou admin")
@click.option("--first-name", default="", help="Prénom")
@click.option("--last-name", default="", help="Nom")
def create(email: str, role: str, first_name: str, last_name: str) -> None:
    """Create a staff account and print its temporary password once."""
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.BadParameter(f"adresse e-mail invalide : {exc}", param_hint="EMAIL") from None
    for value in (first_name, last_name):
        if len(value) > 100 or any(c in value for c in "\r\n"):
            raise click.BadParameter("nom ou prénom invalide (100 caractères, une ligne).")
    try:
        user, temporary = staff.create_staff(email, role, first_name=first_name, last_name=last_name)
    except staff.StaffError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Compte {staff.STAFF_ROLES[role].lower()} créé : {user.email}")
    click.echo(f"Mot de passe temporaire (valable {staff.TEMP_PASSWORD_HOURS} h, affiché une seule fois) : {temporary}")
    click.echo("À la première connexion : nouveau mot de passe, puis enrôlement de la double authentification.")
