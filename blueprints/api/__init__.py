"""The integration API under /api/v1: JSON only, bearer tokens, no cookie and no CSRF token."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# JSON bodies: the web's "form encodings only" guard (blueprints/input_guard.py) does not apply;
# the API checks each body against its schema and answers problem details.
bp.accepts_any_body = True

from blueprints.api import (  # noqa: E402,F401
    billing,
    core,
    employees,
    members,
    planning,
    reference,
)
