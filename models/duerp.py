"""Mon DUERP: every version of the document unique d'évaluation des risques professionnels an
employer uploads, kept (article L4121-3-1 of the Code du travail: 40 years, sent to the service
at each update)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import UTCDateTime, utcnow


class DuerpVersion(db.Model):
    __tablename__ = "duerp_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per company
    filename: Mapped[str] = mapped_column(String(120))  # as uploaded, cleaned
    kind: Mapped[str] = mapped_column(String(4))  # pdf | odt | ods | docx | xlsx (from the content)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # not loaded by lists
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_by_label: Mapped[str] = mapped_column(String(200))  # who, kept if the user goes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_duerp_versions_company_version", "company_id", "version", unique=True),)
