"""Mon compte (personal and company parts) and the users of a company."""

from flask import Blueprint

from blueprints.navigation import Rubrique

bp = Blueprint("account", __name__)

# Its entries in the member space's navigation; create_app registers them.
RUBRIQUES = (
    Rubrique(
        key="account",
        label="Mon compte",
        endpoint="account.index",
        description="Compléter et mettre à jour vos coordonnées",
        right=None,
        order=10,
        icon="👤",
    ),
)

from blueprints.account import duerp, routes  # noqa: E402,F401


@bp.app_template_filter("account_datetime")
def _format_datetime(value) -> str:
    """A UTC datetime shown in Paris time: "27/11/2026 à 14:05"."""
    from services.core.clock import PARIS

    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if value else ""


@bp.app_template_filter("account_date")
def _format_date(value) -> str:
    from services.core.clock import PARIS

    return value.astimezone(PARIS).strftime("%d/%m/%Y") if value else ""


@bp.app_template_filter("account_role")
def _role_label(value) -> str:
    from models.companies import ROLE_LABELS

    return ROLE_LABELS.get(value, value)


@bp.app_template_filter("fr_of")
def _of(name) -> str:
    """ "le compte {{ name|fr_of }}": "de Breizh Paie" or "d'AIST22"."""
    from services.core.french import of

    return of(str(name))


@bp.app_template_filter("fr_as_role")
def _as_role(role_label) -> str:
    """ "{{ role_label|fr_as_role }}": "en tant qu'employeur", "en tant que tiers déclarant"."""
    from services.core.french import as_role

    return as_role(str(role_label))
