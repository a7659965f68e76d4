"""Espace service: the staff back office (/service), reachable by staff accounts only."""

from flask import Blueprint

bp = Blueprint("service", __name__, url_prefix="/service")

from blueprints.service import (  # noqa: E402,F401  # noqa: E402,F401
    bank,
    billing,
    bulk_letters,
    convocations,
    duerp,
    exports,
    integrations,
    ledger,
    member_file,
    member_import,
    operations,
    routes,
    slots,
    statistics,
    team,
    two_factor,
    visit_changes,
    visit_corrections,
)
