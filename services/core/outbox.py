"""The mail outbox: queue a message in the caller's transaction; a worker delivers it.

Queueing renders `templates/email/<name>.txt` and `.html` with the service identity and
`base_url` (the configured PORTAL_BASE_URL, never the request's Host).
"""

from __future__ import annotations

import base64
import re

from flask import current_app, render_template
from jinja2 import TemplateNotFound

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
    except TemplateNotFound:  # a text-only message is fine
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


# --------------------------------------------------------------------------- delivery
#
# A worker claims due messages in a short write transaction (PostgreSQL: SELECT ... FOR
# UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE), marks them `sending` with a lease
# (locked_until, locked_by) and commits; only then does it talk SMTP, with no transaction
# open. Each message is marked `sent` right after the server accepted it, on the condition
# that the lease is still this worker's. A lease that expired (crashed worker) is retaken.
# A worker stops using a batch before its lease runs out, so two workers never hold the
# same message. The only way a message goes out twice is a crash between the SMTP server's
# "250 OK" and the commit that follows; the stable Message-ID lets receivers drop that copy.

LEASE_SECONDS = 300
LEASE_MARGIN_SECONDS = 60
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


class DeliveryReport:
    """What one deliver_pending() call did."""

    def __init__(self) -> None:
        self.claimed = 0
        self.sent = 0
        self.retried = 0
        self.failed = 0
        self.released = 0

    def __repr__(self) -> str:
        return (
            f"<DeliveryReport claimed={self.claimed} sent={self.sent} retried={self.retried} "
            f"failed={self.failed} released={self.released}>"
        )


def default_worker_id() -> str:
    import os
    import socket
    import threading

    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


def backoff_delay(attempts: int) -> int:
    """Seconds before the next try after `attempts` failures: 30 s, 60 s, 120 s ... 1 h."""
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def _session():
    from sqlalchemy.orm import Session

    # A session of its own: the caller's transaction is never mixed with the worker's.
    return Session(db.engine, expire_on_commit=False)


def _claim(limit: int, worker_id: str) -> list[OutboxMessage]:
    from datetime import timedelta

    from sqlalchemy import and_, or_, select, update

    from models.base import utcnow
    from models.outbox import STATUS_PENDING, STATUS_SENDING
    from services.core.database import write_intent

    now = utcnow()
    due = or_(
        and_(OutboxMessage.status == STATUS_PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == STATUS_SENDING, OutboxMessage.locked_until < now),
    )
    with write_intent(), _session() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(due)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite relies on BEGIN IMMEDIATE
            )
        )
        if not ids:
            session.rollback()
            return []
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), due)
            .values(status=STATUS_SENDING, locked_by=worker_id, locked_until=now + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        )
        messages = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.locked_by == worker_id)
                .order_by(OutboxMessage.id)
            )
        )
        session.commit()
    return messages


def _finish(message_id: int, worker_id: str, **values) -> bool:
    """Update a message this worker still holds; False when the lease was lost."""
    from sqlalchemy import update

    from models.outbox import STATUS_SENDING
    from services.core.database import write_intent

    with write_intent(), _session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == STATUS_SENDING,
                OutboxMessage.locked_by == worker_id,
            )
            .values(locked_by=None, locked_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return result.rowcount == 1


def build_message(outbox_message: OutboxMessage):
    """The Flask-Mail message of an outbox row: text + HTML alternative, attachments."""
    from flask_mail import Message

    message = Message(
        subject=outbox_message.subject,
        recipients=list(outbox_message.recipients),
        body=outbox_message.body_text,
        html=outbox_message.body_html,
        sender=outbox_message.sender,
        reply_to=outbox_message.reply_to,
    )
    domain = outbox_message.sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    # A stable Message-ID: a copy sent twice after a crash is recognisable as the same mail.
    message.msgId = f"<outbox.{outbox_message.id}.{int(outbox_message.created_at.timestamp())}@{domain}>"
    for item in outbox_message.attachments or []:
        message.attach(
            filename=item["filename"],
            content_type=item.get("content_type") or "application/octet-stream",
            data=base64.b64decode(item["data_b64"]),
        )
    return message


class SMTPUnavailable(Exception):
    """The SMTP server could not be reached: every message of the batch waits for a retry."""


class _Transport:
    """Console (prints) or SMTP (one connection per batch, with a timeout)."""

    def __init__(self) -> None:
        self.kind = current_app.config.get("MAIL_TRANSPORT", "smtp")
        self.smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            import contextlib
            import smtplib

            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
        self.smtp = None

    def _connect(self):
        import smtplib

        state = current_app.extensions["mail"]
        timeout = current_app.config.get("MAIL_TIMEOUT", 30)
        if state.use_ssl:
            smtp = smtplib.SMTP_SSL(state.server, state.port, timeout=timeout)
        else:
            smtp = smtplib.SMTP(state.server, state.port, timeout=timeout)
        if state.use_tls:
            smtp.starttls()
        if state.username and state.password:
            smtp.login(state.username, state.password)
        return smtp

    def send(self, message) -> None:
        if self.kind == "console":
            _print_message(message)
            return
        from flask_mail import sanitize_address, sanitize_addresses

        if self.smtp is None:
            try:
                self.smtp = self._connect()
            except Exception as exc:
                raise SMTPUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            self.smtp.sendmail(
                sanitize_address(message.sender), list(sanitize_addresses(message.send_to)), message.as_bytes()
            )
        except Exception:
            # The connection may be in any state after an error: start afresh next time.
            self.__exit__(None, None, None)
            raise


def _print_message(message) -> None:
    import click

    lines = [
        "=" * 72,
        f"De : {message.sender}",
        f"À : {', '.join(message.recipients)}",
        f"Objet : {message.subject}",
        "-" * 72,
        message.body or "",
    ]
    if message.attachments:
        lines.append("Pièces jointes : " + ", ".join(a.filename or "?" for a in message.attachments))
    click.echo("\n".join(lines))


def deliver_pending(limit: int = 100, worker_id: str | None = None) -> DeliveryReport:
    """Claim up to `limit` due messages, send them, record the outcome of each one."""
    import time

    from models.base import utcnow
    from models.outbox import STATUS_PENDING, STATUS_SENT

    worker_id = (worker_id or default_worker_id())[:64]
    report = DeliveryReport()
    messages = _claim(limit, worker_id)
    report.claimed = len(messages)
    if not messages:
        return report
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", 12)
    usable_until = time.monotonic() + LEASE_SECONDS - LEASE_MARGIN_SECONDS
    with _Transport() as transport:
        for index, outbox_message in enumerate(messages):
            if time.monotonic() > usable_until:
                # The lease is about to expire: give the rest back rather than risk a double send.
                for rest in messages[index:]:
                    if _finish(rest.id, worker_id, status=STATUS_PENDING):
                        report.released += 1
                break
            try:
                transport.send(build_message(outbox_message))
            except SMTPUnavailable as exc:
                # No server: do not knock again once per message; the whole batch backs off.
                for rest in messages[index:]:
                    _record_failure(rest, worker_id, str(exc), max_attempts, report)
                break
            except Exception as exc:
                _record_failure(outbox_message, worker_id, f"{type(exc).__name__}: {exc}", max_attempts, report)
                continue
            if _finish(outbox_message.id, worker_id, status=STATUS_SENT, sent_at=utcnow(), last_error=None):
                report.sent += 1
            else:  # pragma: no cover - only when the lease was lost despite the margin
                current_app.logger.error("Outbox message %s sent but its lease was lost", outbox_message.id)
    return report


def _record_failure(outbox_message, worker_id: str, error: str, max_attempts: int, report: DeliveryReport) -> None:
    """Count a failed try: reschedule with backoff, or give up after max_attempts."""
    from datetime import timedelta

    from models.base import utcnow
    from models.outbox import STATUS_FAILED, STATUS_PENDING

    attempts = outbox_message.attempts + 1
    error = error[:500]
    gave_up = attempts >= max_attempts
    _finish(
        outbox_message.id,
        worker_id,
        status=STATUS_FAILED if gave_up else STATUS_PENDING,
        attempts=attempts,
        last_error=error,
        next_attempt_at=utcnow() + timedelta(seconds=backoff_delay(attempts)),
    )
    if gave_up:
        report.failed += 1
        current_app.logger.error("Outbox message %s failed for good: %s", outbox_message.id, error)
    else:
        report.retried += 1
        current_app.logger.warning("Outbox message %s not sent (try %s): %s", outbox_message.id, attempts, error)


def run_worker(*, once: bool = False, interval: float = 5.0, limit: int = 100, worker_id: str | None = None, stop=None):
    """Deliver continuously (or, with `once`, until nothing is due). `stop()` ends the loop."""
    import time

    worker_id = worker_id or default_worker_id()
    total = DeliveryReport()
    while True:
        report = deliver_pending(limit=limit, worker_id=worker_id)
        for name in ("claimed", "sent", "retried", "failed", "released"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        # The integration API's webhooks share this worker (their own table and lease).
        from services.integration.webhooks import deliver_webhooks

        hooks = deliver_webhooks(limit=limit, worker_id=worker_id)
        if stop is not None and stop():
            break
        if report.claimed or hooks["claimed"]:
            continue
        if once:
            break
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not (stop is not None and stop()):
            time.sleep(min(0.2, interval))
    return total


def mailbox_page(page: int, per_page: int) -> tuple[int, list[OutboxMessage]]:
    """(total, one page of messages newest first): the development mailbox."""
    from sqlalchemy import func, select

    total = db.session.scalar(select(func.count(OutboxMessage.id)))
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return total, list(messages)
