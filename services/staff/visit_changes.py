"""Visits after booking, on the service's side: cancel or move one visit, or cancel all the
visits of a professional's day or half-day (an absence), always with a reason. The employer
is told by e-mail (outbox) and sees the change on its planning; a cancelled employee is due
again, so it is back in the convocation list (services.staff.convocations). The caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.planning import ACTIVE_VISIT_STATUSES, Professional, Slot, Visit
from services.core import audit
from services.planning import common, reading
from services.planning.common import PARIS

MAX_REASON = 500
PERIODS = {
    "journee": "Toute la journée",
    "matin": "Le matin (avant 13 h)",
    "apres_midi": "L'après-midi (à partir de 13 h)",
}
NOON = time(13, 0)
# How long the employer's planning shows the service's changes.
NOTICE_DAYS = 30


class ChangeError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _reason(value: str | None) -> str:
    reason = " ".join((value or "").split())
    if not reason:
        raise ChangeError("Indiquez le motif : il est transmis à l'employeur.", "reason")
    if len(reason) > MAX_REASON:
        raise ChangeError(f"Le motif tient en {MAX_REASON} caractères au plus.", "reason")
    return reason


def _check_active(visit: Visit, now: datetime) -> None:
    if visit.status not in ACTIVE_VISIT_STATUSES:
        raise ChangeError("Cette visite n'est plus prévue : elle ne peut être ni annulée ni déplacée.")
    if visit.starts_at <= now:
        raise ChangeError("Cette visite est passée : enregistrez plutôt son résultat.")


def _notify(visit: Visit, kind: str, subject: str, reason: str, **extra) -> None:
    company = visit.company
    common.notify_employers(company, visit, kind, subject, reason=reason, **extra)


def cancel(visit: Visit, reason: str, actor, now: datetime, *, notify: bool = True) -> None:
    """Cancel a planned visit for the service (no notice period: the service decides)."""
    _check_active(visit, now)
    reason = _reason(reason)
    visit.status = "annulee"
    visit.active_slot_id = None
    visit.cancelled_at = now
    visit.service_change_reason = reason
    visit.service_changed_at = now
    db.session.flush()
    audit.record("service.visit_cancelled", actor=actor, company=visit.company, target=visit, reason=reason)
    if notify:
        _notify(visit, "service_cancelled", "Rendez-vous annulé par le service", reason)


def move(visit: Visit, slot: Slot, reason: str, actor, now: datetime) -> None:
    """Move a planned visit to another free slot open to its company."""
    _check_active(visit, now)
    reason = _reason(reason)
    if slot.starts_at <= now:
        raise ChangeError("Ce créneau est passé.", "slot")
    if db.session.execute(select(Visit.id).where(Visit.active_slot_id == slot.id)).first():
        raise ChangeError("Ce créneau vient d'être pris. Choisissez-en un autre.", "slot")
    open_to = {None, visit.company.id, visit.company.parent_id}
    if slot.reserved_company_id not in open_to:
        raise ChangeError("Ce créneau est réservé à un autre adhérent.", "slot")
    old_start = visit.starts_at
    visit.slot_id = visit.active_slot_id = slot.id
    visit.starts_at = slot.starts_at
    visit.reminder_sent_at = None
    visit.service_change_reason = reason
    visit.service_changed_at = now
    db.session.flush()  # IntegrityError when another transaction took the slot
    visit.slot = slot
    audit.record(
        "service.visit_moved", actor=actor, company=visit.company, target=visit, slot_id=slot.id, reason=reason
    )
    _notify(visit, "service_moved", "Rendez-vous déplacé par le service", reason, old_start=old_start)


def move_choices(visit: Visit, now: datetime, limit: int = 60) -> list[Slot]:
    """Free slots open to the visit's company in the next 90 days."""
    return reading.free_slots(visit.company, now, now + timedelta(days=90), now)[:limit]


# --------------------------------------------------------------------------- absences


def period_bounds(day: date, period: str) -> tuple[datetime, datetime]:
    if period not in PERIODS:
        raise ChangeError("Choisissez la période de l'absence.", "period")
    start, end = time(0), None
    if period == "apres_midi":
        start = NOON
    begin = datetime.combine(day, start, PARIS).astimezone(UTC)
    if period == "matin":
        end = datetime.combine(day, NOON, PARIS).astimezone(UTC)
    else:
        end = datetime.combine(day + timedelta(days=1), time(0), PARIS).astimezone(UTC)
    return begin, end


@dataclass
class AbsenceResult:
    professional: Professional
    cancelled: list[Visit]
    slots_removed: int


def _period_visits(professional_id: int, begin: datetime, end: datetime) -> list[Visit]:
    return list(
        db.session.execute(
            select(Visit)
            .join(Slot, Slot.id == Visit.slot_id)
            .options(
                joinedload(Visit.employee),
                joinedload(Visit.company),
                joinedload(Visit.slot).joinedload(Slot.centre),
                joinedload(Visit.slot).joinedload(Slot.professional),
            )
            .where(
                Slot.professional_id == professional_id,
                Slot.starts_at >= begin,
                Slot.starts_at < end,
                Visit.status.in_(ACTIVE_VISIT_STATUSES),
            )
            .order_by(Visit.starts_at, Visit.id)
        )
        .unique()
        .scalars()
    )


def absence_preview(professional_id: int, day: date, period: str) -> list[Visit]:
    begin, end = period_bounds(day, period)
    return _period_visits(professional_id, begin, end)


def cancel_absence(
    professional_id: int | None, day: date | None, period: str, reason: str, actor, now: datetime
) -> AbsenceResult:
    """Cancel every planned visit of a professional in a day or half-day and remove its free
    slots there, so nobody books them; each employer is told. All or nothing."""
    professional = db.session.get(Professional, professional_id) if professional_id else None
    if professional is None:
        raise ChangeError("Choisissez le professionnel absent.", "professional")
    if day is None:
        raise ChangeError("Saisissez une date valide (jj/mm/aaaa).", "day")
    begin, end = period_bounds(day, period)
    if end <= now:
        raise ChangeError("Cette période est passée.", "day")
    reason = _reason(reason)
    begin = max(begin, now)
    visits = _period_visits(professional.id, begin, end)
    for visit in visits:
        cancel(visit, reason, actor, now, notify=False)
    # Free slots of the period: removed (an absent professional's slots cannot be booked).
    booked_ids = select(Visit.slot_id).where(Visit.slot_id.is_not(None))
    removed = db.session.execute(
        delete(Slot)
        .where(
            Slot.professional_id == professional.id,
            Slot.starts_at >= begin,
            Slot.starts_at < end,
            Slot.id.not_in(booked_ids),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        "service.professional_absence",
        actor=actor,
        target=professional,
        day=day.isoformat(),
        period=period,
        reason=reason,
        visits=[v.id for v in visits],
        slots_removed=removed,
    )
    for visit in visits:
        _notify(visit, "service_cancelled", "Rendez-vous annulé par le service", reason)
    return AbsenceResult(professional, visits, removed)


def professional_choices() -> list[tuple[int, str]]:
    return [
        (pid, f"{name} ({'médecin' if kind == 'medecin' else 'infirmier·e'})")
        for pid, name, kind in db.session.execute(
            select(Professional.id, Professional.name, Professional.kind).order_by(Professional.name)
        )
    ]


# --------------------------------------------------------------------------- the employer's view


@dataclass(slots=True, frozen=True)
class ServiceChange:
    visit_id: int
    name: str
    visit_type: str
    starts_at: datetime
    status: str
    reason: str
    changed_at: datetime

    @property
    def cancelled(self) -> bool:
        return self.status == "annulee"


def recent_changes(scope_ids, now: datetime, limit: int = 20) -> list[ServiceChange]:
    """The service's cancellations and moves of the last NOTICE_DAYS days (one query)."""
    from models.employees import Employee

    rows = db.session.execute(
        select(
            Visit.id,
            Employee.birth_name,
            Employee.usage_name,
            Employee.first_names,
            Visit.visit_type,
            Visit.starts_at,
            Visit.status,
            Visit.service_change_reason,
            Visit.service_changed_at,
        )
        .join(Employee, Employee.id == Visit.employee_id)
        .where(
            Visit.company_id.in_(list(scope_ids)),
            Visit.service_changed_at >= now - timedelta(days=NOTICE_DAYS),
        )
        .order_by(Visit.service_changed_at.desc(), Visit.id.desc())
        .limit(limit)
    )
    return [ServiceChange(r[0], f"{(r[2] or r[1]).upper()} {r[3]}", r[4], r[5], r[6], r[7] or "", r[8]) for r in rows]
