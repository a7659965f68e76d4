"""Ma cotisation (annual headcount declaration) and Mon espace documentaire (invoices, documents)."""

from flask import Blueprint

from blueprints.navigation import Rubrique

bp = Blueprint("billing", __name__)

# Its entries in the member space's navigation; create_app registers them.
RUBRIQUES = (
    Rubrique(
        key="documents",
        label="Mon espace documentaire",
        endpoint="billing.documents",
        description="Consulter vos factures",
        right="invoices",
        order=20,
        icon="📄",
    ),
    Rubrique(
        key="cotisation",
        label="Ma cotisation",
        endpoint="billing.cotisation",
        description="Faire votre déclaration annuelle des effectifs",
        right="declaration",
        order=50,
        icon="€",
    ),
)

from blueprints.billing import routes, sepa  # noqa: E402,F401
