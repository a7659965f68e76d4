"""Webhooks of the integration API: events noticed when the change is flushed (in its own
transaction, like the mail outbox), one delivery row per subscribed client and event id, and
the worker that posts them signed (HMAC-SHA256 over "<timestamp>.<body>"), retried with the
outbox's backoff, and never twice once delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, event, insert, or_, select, update
from sqlalchemy.orm import Session

from extensions import db
from models.base import utcnow
from models.billing import DECLARATION_CONFIRMED, Declaration
from models.companies import Company
from models.employees import EmployeeChange
from models.integration import (
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    IntegrationClient,
    WebhookDelivery,
)
from models.planning import ACTIVE_VISIT_STATUSES, AppointmentRequest, Visit

LEASE_SECONDS = 120
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "Portail-Signature"


# --------------------------------------------------------------------------- signing


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<timestamp>,v1=<hex HMAC-SHA256 of "t.body">`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (docs/API.md): recompute, compare in constant time, refuse old ones."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


# --------------------------------------------------------------------------- events


def _events_of_flush(session) -> list[tuple[str, dict, int | None]]:
    """(type, data, company id) of each event the pending flush carries."""
    found = []
    for obj in session.new:
        if isinstance(obj, EmployeeChange) and obj.kind == "embauche":
            found.append(("employee.declared", {"employee_id": obj.employee_id, "change_id": obj.id}, obj.company_id))
        elif isinstance(obj, AppointmentRequest):
            found.append(
                (
                    "request.created",
                    {"request_id": obj.id, "employee_id": obj.employee_id, "reason": obj.reason},
                    obj.company_id,
                )
            )
        elif isinstance(obj, Visit) and obj.status in ACTIVE_VISIT_STATUSES:
            found.append(("visit.booked", _visit_data(obj), obj.company_id))
        elif isinstance(obj, Declaration) and obj.status == DECLARATION_CONFIRMED:
            found.append(("declaration.confirmed", _declaration_data(obj), obj.company_id))
    for obj in session.dirty:
        if isinstance(obj, Visit) and _changed_to(obj, "status", "annulee"):
            found.append(("visit.cancelled", _visit_data(obj), obj.company_id))
        elif isinstance(obj, Visit) and _changed_to(obj, "active_slot_id", obj.active_slot_id) and obj.active_slot_id:
            if obj.status in ACTIVE_VISIT_STATUSES and _was(obj, "active_slot_id") is not None:
                found.append(("visit.booked", _visit_data(obj), obj.company_id))  # moved to another slot
        elif isinstance(obj, Declaration) and _changed_to(obj, "status", DECLARATION_CONFIRMED):
            found.append(("declaration.confirmed", _declaration_data(obj), obj.company_id))
    return found


def _history(obj, name):
    from sqlalchemy import inspect

    return inspect(obj).attrs[name].history


def _changed_to(obj, name, value) -> bool:
    history = _history(obj, name)
    return bool(history.added) and history.added[0] == value and bool(history.deleted) and history.deleted[0] != value


def _was(obj, name):
    history = _history(obj, name)
    return history.deleted[0] if history.deleted else None


def _visit_data(visit: Visit) -> dict:
    return {
        "visit_id": visit.id,
        "employee_id": visit.employee_id,
        "slot_id": visit.slot_id,
        "starts_at": visit.starts_at.isoformat() if visit.starts_at else None,
        "visit_type": visit.visit_type,
        "status": visit.status,
    }


def _declaration_data(declaration: Declaration) -> dict:
    return {
        "declaration_id": declaration.id,
        "year": declaration.year,
        "version": declaration.version,
        "headcount": declaration.headcount,
    }


@event.listens_for(Session, "after_flush")
def _queue_webhooks(session, _flush_context) -> None:
    """Write the deliveries of this flush's events in the same transaction (so an event is sent
    if and only if its change is committed). One query when there is no event-bearing object."""
    events = _events_of_flush(session)
    if not events:
        return
    conn = session.connection()
    clients = conn.execute(
        select(IntegrationClient.id, IntegrationClient.webhook_url, IntegrationClient.webhook_events).where(
            IntegrationClient.revoked_at.is_(None), IntegrationClient.webhook_url.is_not(None)
        )
    ).all()
    if not clients:
        return
    codes = dict(
        conn.execute(select(Company.id, Company.code).where(Company.id.in_({c for _t, _d, c in events if c}))).all()
    )
    now = utcnow()
    rows = []
    for event_type, data, company_id in events:
        event_id = str(uuid.uuid4())
        payload = {
            "id": event_id,
            "type": event_type,
            "created_at": now.isoformat(),
            "data": {"company_code": codes.get(company_id), **data},
        }
        for client_id, url, subscribed in clients:
            if event_type in (subscribed or []):
                rows.append(
                    {
                        "client_id": client_id,
                        "event_id": event_id,
                        "event_type": event_type,
                        "payload": payload,
                        "url": url,
                        "status": DELIVERY_PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
    if rows:
        conn.execute(insert(WebhookDelivery), rows)


# --------------------------------------------------------------------------- delivery


def _session():
    return Session(db.engine, expire_on_commit=False)


def _claim(limit: int, worker_id: str) -> list[WebhookDelivery]:
    from services.core.database import write_intent

    now = utcnow()
    due = or_(
        and_(WebhookDelivery.status == DELIVERY_PENDING, WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == DELIVERY_SENDING, WebhookDelivery.locked_until < now),
    )
    with write_intent(), _session() as session:
        ids = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(due)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            session.rollback()
            return []
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), due)
            .values(status=DELIVERY_SENDING, locked_by=worker_id, locked_until=now + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        )
        claimed = list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.locked_by == worker_id)
                .order_by(WebhookDelivery.id)
            )
        )
        secrets_by_client = {}
        for delivery in claimed:
            if delivery.client_id not in secrets_by_client:
                from services.integration.clients import webhook_secret

                secrets_by_client[delivery.client_id] = webhook_secret(
                    session.get(IntegrationClient, delivery.client_id)
                )
            delivery._secret = secrets_by_client[delivery.client_id]
        session.commit()
    return claimed


def _finish(delivery_id: int, worker_id: str, **values) -> bool:
    from services.core.database import write_intent

    with write_intent(), _session() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DELIVERY_SENDING,
                WebhookDelivery.locked_by == worker_id,
            )
            .values(locked_by=None, locked_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return result.rowcount == 1


def post(url: str, body: bytes, headers: dict) -> int:
    """POST the body; the HTTP status (an error status raises HTTPError, kept as a status)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def deliver_webhooks(limit: int = 100, worker_id: str = "webhooks", *, sender=None) -> dict:
    """Claim due deliveries, post them signed (`sender`: `post` by default), record each
    outcome. Returns counts."""
    sender = sender or post
    from services.core.outbox import backoff_delay

    report = {"claimed": 0, "delivered": 0, "retried": 0, "failed": 0}
    deliveries = _claim(limit, worker_id[:64])
    report["claimed"] = len(deliveries)
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", 12)
    for delivery in deliveries:
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Portail-adherents-webhooks/1",
            "Portail-Event-Id": delivery.event_id,
            "Portail-Event-Type": delivery.event_type,
            SIGNATURE_HEADER: sign(delivery._secret, int(time.time()), body),
        }
        error, status = None, None
        try:
            status = sender(delivery.url, body, headers)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - any network failure is retried
            error = f"{type(exc).__name__}: {exc}"[:500]
        if error is None:
            _finish(
                delivery.id,
                worker_id[:64],
                status=DELIVERY_DELIVERED,
                delivered_at=utcnow(),
                last_status_code=status,
                last_error=None,
                attempts=delivery.attempts + 1,
            )
            report["delivered"] += 1
            continue
        attempts = delivery.attempts + 1
        gave_up = attempts >= max_attempts
        _finish(
            delivery.id,
            worker_id[:64],
            status=DELIVERY_FAILED if gave_up else DELIVERY_PENDING,
            attempts=attempts,
            last_error=error,
            last_status_code=status,
            next_attempt_at=utcnow() + timedelta(seconds=backoff_delay(attempts)),
        )
        report["failed" if gave_up else "retried"] += 1
        current_app.logger.warning("Webhook delivery %s not delivered (try %s): %s", delivery.id, attempts, error)
    return report
