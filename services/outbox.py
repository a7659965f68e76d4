"""The mail outbox: queue a message in the caller's transaction; a worker delivers it.

Queueing renders `templates/email/<name>.txt` and `.html` with the service identity and
`base_url` (the configured PORTAL_BASE_URL, never the request's Host).
"""

from __future__ import annotations

import base64
import re

from flask import current_app, render_template

from extensions import db
from models.outbox import OutboxMessage

_HEADER_BREAK = re.compile(r"[\r\n]")


class MailHeaderError(ValueError):
    pass


def _clean_header(value: str) -> str:
    if _HEADER_BREAK.search(value or ""):
        raise MailHeaderError("line break in a mail header")
    return value


def email_context() -> dict:
    cfg = current_app.config
    return {
        "service_name": cfg["SERVICE_NAME"],
        "service_short_name": cfg["SERVICE_SHORT_NAME"],
        "support_email": cfg["SERVICE_SUPPORT_EMAIL"],
        "base_url": cfg["PORTAL_BASE_URL"],
    }


def queue_mail(
    to: str | list[str],
    subject: str,
    template: str,
    *,
    reply_to: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    **context,
) -> OutboxMessage:
    """Write a message to the outbox in the current transaction (the caller commits).

    `template` names `email/<template>.txt` (required) and `email/<template>.html` (optional).
    `attachments` are (filename, content_type, data) tuples.
    """
    recipients = [to] if isinstance(to, str) else list(to)
    for address in recipients:
        _clean_header(address)
    ctx = {**email_context(), **context}
    text = render_template(f"email/{template}.txt", **ctx)
    try:
        html = render_template(f"email/{template}.html", **ctx)
    except Exception as exc:  # TemplateNotFound only: a text-only message is fine
        from jinja2 import TemplateNotFound

        if not isinstance(exc, TemplateNotFound):
            raise
        html = None
    message = OutboxMessage(
        sender=_clean_header(current_app.config["MAIL_DEFAULT_SENDER"]),
        recipients=recipients,
        reply_to=_clean_header(reply_to) if reply_to else None,
        subject=_clean_header(subject),
        body_text=text,
        body_html=html,
        attachments=[
            {"filename": _clean_header(name), "content_type": ctype, "data_b64": base64.b64encode(data).decode()}
            for name, ctype, data in (attachments or [])
        ]
        or None,
    )
    db.session.add(message)
    return message
