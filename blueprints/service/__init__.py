"""Espace service: the staff back office (/service), reachable by staff accounts only."""

from flask import Blueprint

bp = Blueprint("service", __name__, url_prefix="/service")

from blueprints.service import billing, duerp, member_import, operations, routes, slots, team, two_factor  # noqa: E402,F401
