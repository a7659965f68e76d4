"""Contact messages to the service, invitations to a company, and pending e-mail changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

STATUS_NEW = "nouveau"
STATUS_IN_PROGRESS = "en_cours"
STATUS_ANSWERED = "repondu"
STATUS_LABELS = {STATUS_NEW: "Nouveau", STATUS_IN_PROGRESS: "En cours", STATUS_ANSWERED: "Répondu"}


class ContactMessage(db.Model):
    """A message sent through "Nous contacter"; the back office answers it later."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(20))  # key of services.support.contact.SUBJECTS
    recipient: Mapped[str] = mapped_column(String(254))  # the service address it was routed to
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(60))
    attachment_size: Mapped[int | None] = mapped_column()
    # Kept out of list queries: only loaded when the file itself is needed.
    attachment_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    status: Mapped[str] = mapped_column(String(10), default=STATUS_NEW)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company = relationship("Company")
    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (
        Index("ix_contact_messages_company_user_created", "company_id", "user_id", "created_at"),
        Index("ix_contact_messages_status", "status"),
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class Invitation(db.Model):
    """An invitation of a new person to a company; the link carries a token, the row its hash."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    company = relationship("Company")
    invited_by = relationship("User", foreign_keys=[invited_by_id])


class EmailChangeRequest(db.Model):
    """A pending change of login address, confirmed by a link sent to the new address."""

    __tablename__ = "email_change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")
