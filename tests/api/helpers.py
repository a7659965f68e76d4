"""Helpers of the API tests: an integration client with its bearer token."""

from __future__ import annotations

from extensions import db
from models.integration import SCOPES
from services.integration import clients as api_clients


def make_client(scopes=None, name: str = "Medtra"):
    """A client holding `scopes` (all by default); returns (client, headers, webhook secret)."""
    new = api_clients.create_client(name, list(scopes if scopes is not None else SCOPES), None)
    db.session.commit()
    return new.client, {"Authorization": f"Bearer {new.token}"}, new.webhook_secret
