"""Nous contacter, Mes messages and the public FAQ."""

from flask import Blueprint

from blueprints.navigation import Rubrique

bp = Blueprint("support", __name__)

# Its entries in the member space's navigation; create_app registers them.
RUBRIQUES = (
    Rubrique(
        key="contact",
        label="Nous contacter",
        endpoint="support.contact",
        description="Écrire au service au travers d'un formulaire de contact et suivre vos messages",
        right=None,
        order=90,
        icon="✉️",
    ),
)

from blueprints.support import routes  # noqa: E402,F401
