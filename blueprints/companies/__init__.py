"""The member space: company-scoped home, company switcher, "Mes entreprises"."""

from flask import Blueprint

bp = Blueprint("companies", __name__)

from blueprints.companies import routes  # noqa: E402,F401
