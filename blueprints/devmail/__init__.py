"""Development-only mailbox: the outbox shown as a web page (registered when DEV_MAILBOX)."""

from flask import Blueprint

bp = Blueprint("devmail", __name__)

from blueprints.devmail import routes  # noqa: E402,F401
