"""The demo mailbox: every message of the outbox, newest first (development only)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from blueprints.devmail import bp
from blueprints.htmx import render
from blueprints.navigation import page_arg
from blueprints.security import public
from models.outbox import STATUS_FAILED, STATUS_PENDING, STATUS_SENDING, STATUS_SENT
from services.core.outbox import mailbox_page

PER_PAGE = 20
STATUS_LABELS = {
    STATUS_PENDING: "En attente",
    STATUS_SENDING: "En cours d'envoi",
    STATUS_SENT: "Envoyé",
    STATUS_FAILED: "Échec",
}
_URL_RE = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Escape a plain-text body and turn its http(s) links into clickable links."""
    parts, last = [], 0
    for match in _URL_RE.finditer(text or ""):
        url = match.group(0).rstrip(".,;:)")
        end = match.start() + len(url)
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = end
    parts.append(escape((text or "")[last:]))
    return Markup("").join(parts)


@bp.get("/dev/mailbox")
@public  # development only: the blueprint is registered only when DEV_MAILBOX is true
def mailbox():
    """Messages the portal sent (or will send), newest first, paginated."""
    page = page_arg(most=10_000)
    total, messages = mailbox_page(page, PER_PAGE)
    return render(
        "devmail/mailbox.html",
        "devmail/_messages.html",
        messages=messages,
        page_number=page,
        total=total,
        has_next=page * PER_PAGE < total,
        status_labels=STATUS_LABELS,
        linkify=linkify,
    )
