"""Centres, health professionals, visit slots, visits and appointment requests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

PROFESSIONAL_KINDS = {
    "medecin": "Médecin du travail",
    "infirmier": "Infirmier·e en santé au travail",
}

VISIT_TYPES = {
    "vip_embauche": "VIP embauche",
    "vip_periodique": "VIP périodique",
    "examen_sir": "Examen médical d'aptitude (SIR)",
    "intermediaire_sir": "Visite intermédiaire SIR",
    "reprise": "Visite de reprise",
    "pre_reprise": "Visite de pré-reprise",
    "a_la_demande": "Visite à la demande",
    "mi_carriere": "Visite de mi-carrière",
    "post_exposition": "Visite post-exposition / fin de carrière",
    "rendez_vous_liaison": "Rendez-vous de liaison",
}

VISIT_STATUSES = {
    "proposee": "Proposée (à confirmer)",
    "confirmee": "Confirmée",
    "annulee": "Annulée",
    "realisee": "Réalisée",
    "absence_excusee": "Absence excusée",
    "absence_non_excusee": "Absence non excusée",
}
ACTIVE_VISIT_STATUSES = ("proposee", "confirmee")

REQUEST_REASONS = {
    "embauche": "Visite d'embauche (VIP ou examen d'aptitude)",
    "reprise": "Visite de reprise",
    "pre_reprise": "Visite de pré-reprise",
    "a_la_demande": "À la demande de l'employeur",
    "mi_carriere": "Visite de mi-carrière",
    "post_exposition": "Post-exposition ou départ",
    "rendez_vous_liaison": "Rendez-vous de liaison (arrêt de plus de 30 jours)",
    "autre": "Autre",
}
# R4624-31: the reprise visit takes place on the return, at the latest within 8 days.
REPRISE_DEADLINE_DAYS = 8
REQUEST_STATUSES = {
    "en_attente": "En attente",
    "planifiee": "Planifiée",
    "refusee": "Refusée",
    "annulee": "Annulée",
}


class Centre(db.Model):
    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    access_notes: Mapped[str | None] = mapped_column(Text)


class Professional(db.Model):
    __tablename__ = "professionals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)  # "Dr Anne Le Bihan"
    kind: Mapped[str] = mapped_column(String(20))  # key of PROFESSIONAL_KINDS

    @property
    def kind_label(self) -> str:
        return PROFESSIONAL_KINDS.get(self.kind, self.kind)


class Slot(db.Model):
    """A time a professional is available at a centre; reserved to one member (and its
    sites) or open to every member."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id"))
    reserved_company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    centre: Mapped[Centre] = relationship()
    professional: Mapped[Professional] = relationship()

    __table_args__ = (
        UniqueConstraint("professional_id", "starts_at", name="uq_slots_professional_start"),
        Index("ix_slots_starts_at", "starts_at"),
        Index("ix_slots_reserved_start", "reserved_company_id", "starts_at"),
    )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


class Visit(db.Model):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    # A slot holds at most one active visit: enforced by active_slot_id being unique (it is
    # set to slot_id while the visit is proposed/confirmed and cleared when cancelled).
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"))
    active_slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id", ondelete="SET NULL"), unique=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())  # copied from the slot
    visit_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="confirmee")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_requests.id", ondelete="SET NULL"))
    proposed_by_service: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A cancellation or a move decided by the service (services.staff.visit_changes), with the reason
    # the employer is told and sees on its planning.
    service_change_reason: Mapped[str | None] = mapped_column(String(500))
    service_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[Slot | None] = relationship(foreign_keys=[slot_id])
    employee = relationship("Employee")
    company = relationship("Company")

    __table_args__ = (
        Index("ix_visits_company_start", "company_id", "starts_at"),
        Index("ix_visits_employee_start", "employee_id", "starts_at"),
        Index("ix_visits_status_start", "status", "starts_at"),
        Index("ix_visits_company_service_change", "company_id", "service_changed_at"),
        # Partial indexes of the planning page (services.planning.reading renders these status tests as
        # literals, so both databases match the predicate): a company's active visits in date
        # order, read up to LIMIT, and its visits proposed by the service ("à confirmer").
        Index(
            "ix_visits_active_company_start",
            "company_id",
            "starts_at",
            "id",
            sqlite_where=text("status IN ('proposee', 'confirmee')"),
            postgresql_where=text("status IN ('proposee', 'confirmee')"),
        ),
        Index(
            "ix_visits_proposed_company_start",
            "company_id",
            "starts_at",
            sqlite_where=text("status = 'proposee'"),
            postgresql_where=text("status = 'proposee'"),
        ),
    )

    @property
    def type_label(self) -> str:
        return VISIT_TYPES.get(self.visit_type, self.visit_type)

    @property
    def status_label(self) -> str:
        return VISIT_STATUSES.get(self.status, self.status)


class RequestLabels:
    """The French labels of a request's codes, for the model and for plain rows
    (services.planning.reading.RequestRow) alike."""

    @property
    def reason_label(self) -> str:
        return REQUEST_REASONS.get(self.reason, self.reason)

    @property
    def absence_type_label(self) -> str | None:
        return ABSENCE_TYPES.get(self.absence_type, self.absence_type) if self.absence_type else None

    @property
    def status_label(self) -> str:
        return REQUEST_STATUSES.get(self.status, self.status)

    @property
    def reprise_deadline(self) -> date | None:
        """The last day for a reprise visit: the return plus 8 days (R4624-31)."""
        if self.reason != "reprise" or self.absence_end is None:
            return None
        return self.absence_end + timedelta(days=REPRISE_DEADLINE_DAYS)


class AppointmentRequest(RequestLabels, db.Model):
    __tablename__ = "appointment_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(30))  # key of REQUEST_REASONS
    details: Mapped[str | None] = mapped_column(Text)  # motivation, absence type...
    absence_type: Mapped[str | None] = mapped_column(String(30))  # key of ABSENCE_TYPES (reprise)
    absence_start: Mapped[date | None] = mapped_column(Date)
    absence_end: Mapped[date | None] = mapped_column(Date)
    wished_from: Mapped[date | None] = mapped_column(Date)
    wished_to: Mapped[date | None] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="en_attente")
    service_answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    employee = relationship("Employee")
    company = relationship("Company")

    __table_args__ = (
        Index("ix_appointment_requests_company_created", "company_id", "created_at"),
        Index("ix_appointment_requests_status_created", "status", "created_at"),
    )


ABSENCE_TYPES = {
    "maladie": "Maladie ou accident non professionnel (60 jours ou plus)",
    "accident_travail": "Accident du travail (30 jours ou plus)",
    "maladie_professionnelle": "Maladie professionnelle",
    "maternite": "Congé maternité",
}


class CalendarFeed(db.Model):
    """A company's private calendar subscription: only the sha256 of the secret token is kept.
    Renewing revokes the current row and adds a new one."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
