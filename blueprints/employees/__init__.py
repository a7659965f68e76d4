"""Mes salariés: the employee register, hires, departures, history and the visits each one is due."""

from flask import Blueprint

from blueprints.navigation import Rubrique

bp = Blueprint("employees", __name__, url_prefix="/entreprises/<code>/salaries")

# Its entries in the member space's navigation; create_app registers them.
RUBRIQUES = (
    Rubrique(
        key="employees",
        label="Mes salariés",
        endpoint="employees.index",
        description=(
            "Consulter et modifier les informations de vos salariés, gérer les départs, déclarer un nouveau "
            "salarié, accéder à l'historique de vos dernières déclarations et dernières visites de vos salariés, "
            "effectuer vos demandes de rendez-vous, etc."
        ),
        description_without_planning=(
            "Consulter et modifier les informations de vos salariés, gérer les départs, déclarer un nouveau "
            "salarié, importer la DSN du mois, accéder à l'historique de vos dernières déclarations."
        ),
        right="employees",
        order=30,
        icon="👥",
    ),
)

from blueprints.employees import dsn_routes, routes  # noqa: E402,F401
