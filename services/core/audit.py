"""Writing to the append-only audit trail. Never pass a secret or a full NIR in details."""

from __future__ import annotations

from extensions import db
from models.audit import AuditEvent


def record(
    action: str,
    *,
    actor=None,
    actor_label: str | None = None,
    company=None,
    target=None,
    ip: str | None = None,
    **details,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label,
        company_id=getattr(company, "id", None),
        target_type=type(target).__name__ if target is not None else None,
        target_id=getattr(target, "id", None),
        ip_address=ip,
        details=details or None,
    )
    db.session.add(event)
    return event
