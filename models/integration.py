"""The integration API's clients (business software), their idempotent answers and the
webhook deliveries queued for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import UTCDateTime, utcnow

# Scope -> what it allows, as the Espace service shows it.
SCOPES = {
    "members:read": "Lire les adhérents et leurs établissements",
    "members:write": "Créer et mettre à jour les adhérents et leurs établissements",
    "employees:read": "Lire les salariés et le flux des déclarations",
    "employees:nir": "Lire le NIR des salariés (donnée sensible)",
    "slots:write": "Créer et supprimer des créneaux libres",
    "visits:read": "Lire les visites",
    "visits:write": "Enregistrer le résultat des visites et joindre l'attestation",
    "requests:read": "Lire les demandes de rendez-vous",
    "requests:write": "Répondre aux demandes de rendez-vous",
    "billing:read": "Lire les factures, avoirs et règlements",
    "billing:write": "Enregistrer un règlement",
    "webhooks:write": "S'abonner aux événements (webhooks)",
}

# Event -> label. The payload of each is documented in docs/API.md.
WEBHOOK_EVENTS = {
    "employee.declared": "Salarié déclaré (embauche)",
    "request.created": "Demande de rendez-vous faite",
    "visit.booked": "Visite réservée",
    "visit.cancelled": "Visite annulée",
    "declaration.confirmed": "Déclaration des effectifs confirmée",
}

DELIVERY_PENDING = "pending"
DELIVERY_SENDING = "sending"
DELIVERY_DELIVERED = "delivered"
DELIVERY_FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS
DELIVERY_STATUS_LABELS = {
    DELIVERY_PENDING: "En attente",
    DELIVERY_SENDING: "En cours d'envoi",
    DELIVERY_DELIVERED: "Remis",
    DELIVERY_FAILED: "Abandonné",
}


class IntegrationClient(db.Model):
    """A business software allowed to call /api/v1 with a bearer token (only its sha256 kept)."""

    __tablename__ = "integration_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))  # shown to tell tokens apart
    # The webhook signing secret, encrypted (services.core.crypto's Fernet keys): it must be read
    # back to sign, unlike the token.
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_events: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(String(45))

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.active and scope in (self.scopes or [])


class ApiIdempotencyKey(db.Model):
    """The first answer to a POST sent with an Idempotency-Key, replayed for a repeat."""

    __tablename__ = "api_idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("integration_clients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_api_idempotency_keys_client_key"),)


class WebhookDelivery(db.Model):
    """One event for one client: written in the transaction of the change, sent by the worker
    (services.integration.webhooks), retried with backoff; unique per (client, event id)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("integration_clients.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=DELIVERY_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("client_id", "event_id", name="uq_webhook_deliveries_client_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_client_created", "client_id", "created_at"),
    )

    @property
    def status_label(self) -> str:
        return DELIVERY_STATUS_LABELS.get(self.status, self.status)
