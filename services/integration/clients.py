"""Integration clients of the API: creation with scopes (token shown once, kept as a sha256),
revocation, authentication of a bearer token, last use, and the audit of every call."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from extensions import db
from models.base import utcnow
from models.integration import SCOPES, WEBHOOK_EVENTS, ApiIdempotencyKey, IntegrationClient, WebhookDelivery
from services.core import audit

TOKEN_PREFIX = "pa_"  # noqa: S105 - a prefix, not a secret
# Writing last_used_at on every call would serialise all calls of a client on one row: once a
# minute is precise enough for "dernière utilisation".
LAST_USE_PRECISION = timedelta(minutes=1)


class ClientError(ValueError):
    """A refused change of a client; French message for the agent (`field`: the form field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewClient:
    client: IntegrationClient
    token: str  # shown once, never stored
    webhook_secret: str  # shown once; stored encrypted to sign the deliveries


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _encrypt(secret: str) -> str:
    # The NIR's Fernet keys (rotated with `flask employees rotate-nir-key`) protect it at rest.
    from services.core.crypto import _fernet

    return _fernet().encrypt(secret.encode()).decode()


def webhook_secret(client: IntegrationClient) -> str:
    from services.core.crypto import _fernet

    return _fernet().decrypt(client.webhook_secret_encrypted.encode()).decode()


def create_client(name: str, scopes: list[str], actor, *, ip: str | None = None) -> NewClient:
    """Create a client with its scopes; the caller commits and shows the token once."""
    name = (name or "").strip()
    if not name:
        raise ClientError("Indiquez le nom du logiciel.", "name")
    if len(name) > 120 or any(c in name for c in "\r\n\x00"):
        raise ClientError("Le nom doit tenir sur une ligne de 120 caractères au plus.", "name")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ClientError("Cochez au moins un droit dans la liste.", "scopes")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = "whsec_" + secrets.token_urlsafe(32)
    client = IntegrationClient(
        name=name,
        scopes=[s for s in SCOPES if s in scopes],
        token_hash=token_hash(token),
        token_prefix=token[:10],
        webhook_secret_encrypted=_encrypt(secret),
        webhook_events=[],
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(client)
    db.session.flush()
    audit.record("api.client_created", actor=actor, target=client, ip=ip, name=name, scopes=client.scopes)
    return NewClient(client, token, secret)


def revoke_client(client: IntegrationClient, actor, *, ip: str | None = None) -> None:
    if client.revoked_at is not None:
        raise ClientError("Ce client est déjà révoqué.")
    client.revoked_at = utcnow()
    client.webhook_url = None
    db.session.flush()
    audit.record("api.client_revoked", actor=actor, target=client, ip=ip, name=client.name)


def list_clients() -> list[IntegrationClient]:
    return list(
        db.session.scalars(
            select(IntegrationClient).order_by(
                IntegrationClient.revoked_at.is_not(None), IntegrationClient.name, IntegrationClient.id
            )
        )
    )


def get_client(client_id: int) -> IntegrationClient | None:
    return db.session.get(IntegrationClient, client_id)


def recent_deliveries(limit: int = 50) -> list[tuple[WebhookDelivery, str]]:
    """The latest webhook deliveries with their client's name (one query)."""
    rows = db.session.execute(
        select(WebhookDelivery, IntegrationClient.name)
        .join(IntegrationClient, IntegrationClient.id == WebhookDelivery.client_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [(delivery, name) for delivery, name in rows]


def authenticate(authorization: str | None) -> IntegrationClient | None:
    """The active client of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    client = db.session.execute(
        select(IntegrationClient).where(IntegrationClient.token_hash == digest)
    ).scalar_one_or_none()
    # The lookup is by a hash of a 256-bit random token; the comparison is constant-time anyway.
    if client is None or not hmac.compare_digest(client.token_hash, digest) or client.revoked_at is not None:
        return None
    return client


def rate_key(authorization: str | None) -> str:
    """The rate-limit bucket of a call: the token's hash (one bucket per client), never the token."""
    return "api:" + token_hash(authorization or "")[:32]


def record_call(
    client: IntegrationClient,
    method: str,
    endpoint: str | None,
    status: int,
    ip: str | None,
    now: datetime | None = None,
) -> None:
    """Audit one API call and note the client's last use (the caller commits)."""
    now = now or utcnow()
    audit.record(
        "api.call",
        actor_label=f"API : {client.name}"[:254],
        ip=ip,
        client_id=client.id,
        method=method,
        endpoint=endpoint,
        status=status,
    )
    if client.last_used_at is None or now - client.last_used_at >= LAST_USE_PRECISION:
        db.session.execute(
            update(IntegrationClient)
            .where(IntegrationClient.id == client.id)
            .values(last_used_at=now, last_used_ip=ip)
            .execution_options(synchronize_session=False)
        )


def set_webhook(client: IntegrationClient, url: str | None, events: list[str]) -> None:
    """Subscribe the client's URL to events (an empty URL unsubscribes). Caller commits."""
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown:
        raise ClientError(f"Événement inconnu : {', '.join(unknown)}.", "events")
    client.webhook_url = url or None
    client.webhook_events = [e for e in WEBHOOK_EVENTS if e in events] if url else []
    db.session.flush()
    audit.record(
        "api.webhook_set",
        actor_label=f"API : {client.name}"[:254],
        target=client,
        url=url,
        events=client.webhook_events,
    )


def stored_answer(client_id: int, key: str) -> ApiIdempotencyKey | None:
    """The first answer given to this client's Idempotency-Key, if any (replayed as it was)."""
    return db.session.execute(
        select(ApiIdempotencyKey).where(ApiIdempotencyKey.client_id == client_id, ApiIdempotencyKey.key == key)
    ).scalar_one_or_none()


def store_answer(client_id: int, key: str, request_hash: str, status: int, body: str, headers: dict | None) -> None:
    """Keep the answer to an Idempotency-Key; the caller commits (a concurrent twin fails on the
    unique key and replays this one)."""
    db.session.add(
        ApiIdempotencyKey(
            client_id=client_id,
            key=key,
            request_hash=request_hash,
            status_code=status,
            response_body=body,
            response_headers=headers,
        )
    )
