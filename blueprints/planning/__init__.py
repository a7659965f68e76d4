"""Mon planning: coming visits, proposed slots, appointment requests, convocations, feed."""

from flask import Blueprint

from blueprints.navigation import Rubrique

bp = Blueprint("planning", __name__)

# Its entries in the member space's navigation; create_app registers them.
RUBRIQUES = (
    Rubrique(
        key="planning",
        label="Mon planning",
        endpoint="planning.index",
        description="Consulter le planning des visites à venir pour vos salariés",
        right="planning",
        order=40,
        icon="📅",
    ),
)

from blueprints.planning import routes  # noqa: E402,F401
