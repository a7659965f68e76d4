"""Nous contacter, Mes messages and the public FAQ."""

from flask import Blueprint

from blueprints.navigation import Rubrique, register

bp = Blueprint("support", __name__)

register(
    Rubrique(
        key="contact",
        label="Nous contacter",
        endpoint="support.contact",
        description="Écrire au service au travers d'un formulaire de contact et suivre vos messages",
        right=None,
        order=90,
        icon="✉️",
    )
)

from blueprints.support import routes  # noqa: E402,F401
