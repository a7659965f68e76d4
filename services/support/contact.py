"""Nous contacter: route a member's message to the right service address, store it, send it
through the outbox with its attachment, and acknowledge it to the sender."""

from __future__ import annotations

import re

import filetype
from flask import current_app
from sqlalchemy import func, select

from extensions import db
from models.companies import Company
from models.support import ContactMessage
from models.users import User
from services.core import audit
from services.core.outbox import queue_mail

# key -> (label shown in the form, configuration key of the service address)
SUBJECTS = {
    "cotisation": ("Cotisation et factures", "SERVICE_BILLING_EMAIL"),
    "rendez_vous": ("Rendez-vous", "SERVICE_PLANNING_EMAIL"),
    "salaries": ("Salariés", "SERVICE_STAFF_EMAIL"),
    "acces": ("Accès au portail", "SERVICE_SUPPORT_EMAIL"),
    "autre": ("Autre", "SERVICE_SUPPORT_EMAIL"),
}
MAX_MESSAGE = 5000
MAX_ATTACHMENT = 5 * 1024 * 1024
# What the content must be (sniffed by `filetype`), whatever the file is called.
ALLOWED_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
PAGE_SIZE = 20


class AttachmentError(ValueError):
    """A refused attachment; the message is French and meant for the user."""


def subject_label(key: str) -> str:
    return SUBJECTS.get(key, (key, None))[0]


def recipient_for(subject: str) -> str:
    return current_app.config[SUBJECTS[subject][1]]


def check_attachment(filename: str, data: bytes) -> tuple[str, str]:
    """Accept a PDF, PNG or JPEG by its content; return (safe filename, content type)."""
    if not data:
        raise AttachmentError("Le fichier joint est vide.")
    if len(data) > MAX_ATTACHMENT:
        raise AttachmentError("Le fichier joint dépasse 5 Mo : réduisez sa taille.")
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise AttachmentError(
            "Ce fichier n'est pas un PDF, un PNG ou un JPEG (son contenu a été vérifié, pas seulement son nom)."
        )
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", (filename or "").rsplit(".", 1)[0])[:80].strip("._") or "piece-jointe"
    return f"{stem}.{ALLOWED_TYPES[kind.mime]}", kind.mime


def send_message(
    company: Company,
    user: User,
    subject: str,
    body: str,
    attachment: tuple[str, bytes] | None = None,
    *,
    ip: str | None = None,
) -> ContactMessage:
    """Store the message, queue it to the routed address and the acknowledgement to the sender."""
    if subject not in SUBJECTS:
        raise ValueError("unknown subject")
    name = ctype = data = None
    if attachment is not None:
        name, ctype = check_attachment(*attachment)
        data = attachment[1]
    recipient = recipient_for(subject)
    message = ContactMessage(
        company_id=company.id,
        user_id=user.id,
        subject=subject,
        recipient=recipient,
        body=body,
        attachment_name=name,
        attachment_type=ctype,
        attachment_size=len(data) if data else None,
        attachment_data=data,
    )
    db.session.add(message)
    db.session.flush()
    label = subject_label(subject)
    queue_mail(
        recipient,
        f"[Portail] {label} – {company.label}",
        "support_message",
        reply_to=user.email,
        attachments=[(name, ctype, data)] if data else None,
        company=company,
        user=user,
        message=message,
        subject_label=label,
    )
    queue_mail(
        user.email,
        "Nous avons bien reçu votre message",
        "support_ack",
        company=company,
        user=user,
        message=message,
        subject_label=label,
    )
    audit.record(
        "contact.sent", actor=user, company=company, target=message, ip=ip, subject=subject, attachment=bool(data)
    )
    return message


def messages_of(company: Company, user: User, page: int = 1) -> tuple[list[ContactMessage], int]:
    """The user's messages for this company, newest first, one page; and the total count."""
    where = (ContactMessage.company_id == company.id, ContactMessage.user_id == user.id)
    total = db.session.execute(select(func.count(ContactMessage.id)).where(*where)).scalar_one()
    rows = db.session.execute(
        select(ContactMessage)
        .where(*where)
        .order_by(ContactMessage.created_at.desc(), ContactMessage.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    ).scalars()
    return list(rows), total
