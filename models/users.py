"""Portal users and their server-side login sessions."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

KIND_MEMBER = "member"  # employers and tiers déclarants
KIND_STAFF = "staff"  # the service's agents and admins (issue: espace service)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased; the unique index on lower(email) guards against mixed-case copies.
    email: Mapped[str] = mapped_column(String(254))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    job_title: Mapped[str | None] = mapped_column(String(100))  # fonction
    mobile: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10), default=KIND_MEMBER)
    staff_role: Mapped[str | None] = mapped_column(String(10))  # agent | admin
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # One temporary secret at a time (account-creation password or reset code), hashed.
    temp_secret_hash: Mapped[str | None] = mapped_column(String(255))
    temp_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    temp_secret_purpose: Mapped[str | None] = mapped_column(String(20))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Staff second factor (services/auth/totp.py): the TOTP secret encrypted with Fernet, the last
    # time-step accepted (a code is never accepted twice), and when enrolment was confirmed.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    memberships = relationship(
        "Membership", foreign_keys="Membership.user_id", back_populates="user", cascade="all, delete-orphan"
    )

    __table_args__ = (db.Index("uq_users_email_lower", func.lower(email), unique=True),)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_staff(self) -> bool:
        return self.kind == KIND_STAFF

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class LoginSession(db.Model):
    """A server-side login session. The cookie carries only its random id; revoking the row
    ends the session whatever copy of the cookie exists."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the random token that the signed cookie carries.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # Staff sessions confirm a second factor before reaching /service.
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
