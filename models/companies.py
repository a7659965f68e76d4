"""Member companies (adhérents), their sites, and who may act for them (memberships)."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

CODE_RE = re.compile(r"^\d{5}(?:-\d{1,3})?$")

ROLE_EMPLOYER = "employeur"
ROLE_ACCOUNTANT = "tiers_declarant"
ROLES = (ROLE_EMPLOYER, ROLE_ACCOUNTANT)
ROLE_LABELS = {ROLE_EMPLOYER: "Employeur", ROLE_ACCOUNTANT: "Tiers déclarant"}


class Company(db.Model):
    """A member (code `00010`) or one of its sites (code `00010-2`, parent set)."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # raison sociale
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    naf: Mapped[str | None] = mapped_column(String(5))
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    # Contacts the service writes to for invoices and for convocations (Mon compte).
    invoice_contact_name: Mapped[str | None] = mapped_column(String(150))
    invoice_contact_email: Mapped[str | None] = mapped_column(String(254))
    convocation_contact_name: Mapped[str | None] = mapped_column(String(150))
    convocation_contact_email: Mapped[str | None] = mapped_column(String(254))
    # The n° télédéclarant is a credential: only its keyed hash is kept (services.core.credentials).
    teledeclarant_hash: Mapped[str | None] = mapped_column(String(128))
    teledeclarant_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The date the company joined the service (imported with the members, editable by staff):
    # it decides whether a year's declaration bills the entry fee.
    adhesion_date: Mapped[date | None] = mapped_column(Date)
    radiation_date: Mapped[date | None] = mapped_column(Date)
    radiation_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    parent: Mapped[Company | None] = relationship(remote_side=[id], back_populates="sites")
    sites: Mapped[list[Company]] = relationship(back_populates="parent", order_by="Company.code")

    __table_args__ = (Index("ix_companies_name", "name"), Index("ix_companies_city", "city"))

    @property
    def is_site(self) -> bool:
        return self.parent_id is not None

    @property
    def label(self) -> str:
        """What the switcher shows: "00010 - Raison sociale"."""
        return f"{self.code} - {self.name}"

    @property
    def site_label(self) -> str:
        """A site with its town: "00010-5 - Raison sociale (Dinan)"."""
        return f"{self.code} - {self.name} ({self.city})" if self.city else self.label

    def __repr__(self) -> str:
        return f"<Company {self.code}>"


class Membership(db.Model):
    """A user's access to a company, with a role. Access to a member covers its sites."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Extra rights an employer grants to a tiers déclarant (e.g. "planning").
    grants: Mapped[int] = mapped_column(Integer, default=0)

    user = relationship("User", foreign_keys=[user_id], back_populates="memberships")
    company: Mapped[Company] = relationship()

    __table_args__ = (
        UniqueConstraint("user_id", "company_id", name="uq_memberships_user_company"),
        # The companies a user's active links reach ("Mes entreprises", the switcher), index-only.
        Index("ix_memberships_user_active", "user_id", "revoked_at", "company_id"),
    )

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)
