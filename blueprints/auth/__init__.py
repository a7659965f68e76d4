"""Login in two steps, logout, password reset and the first choice of a password."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import routes  # noqa: E402,F401
