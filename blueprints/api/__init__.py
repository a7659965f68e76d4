"""The integration API under /api/v1: JSON only, bearer tokens, no cookie and no CSRF token."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from blueprints.api import (  # noqa: E402,F401
    billing,
    core,
    employees,
    members,
    planning,
    reference,
)
