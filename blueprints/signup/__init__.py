"""Account creation with the code adhérent and the n° télédéclarant."""

from flask import Blueprint

bp = Blueprint("signup", __name__)

from blueprints.signup import routes  # noqa: E402,F401
