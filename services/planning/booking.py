"""Booking a slot, moving and cancelling a visit, answering the service's proposals."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from extensions import db
from models.companies import Company
from models.planning import (
    ACTIVE_VISIT_STATUSES,
    REQUEST_REASONS,
    VISIT_TYPES,
    AppointmentRequest,
    Slot,
    Visit,
)
from services.core import audit
from services.planning.appointment_requests import queue_service_request_mail
from services.planning.common import (
    PlanningError,
    SlotTaken,
    TooLate,
    check_employee,
    check_professional,
    notify_employers,
)


def book_slot(company: Company, slot: Slot, employee_id: int, visit_type: str, actor, now: datetime) -> Visit:
    """Place an employee on a free slot. The UNIQUE active_slot_id makes a concurrent second
    booking fail at flush with IntegrityError; the route rolls back and answers 409."""
    if visit_type not in VISIT_TYPES:
        raise PlanningError("Choisissez un type de visite.")
    if slot.starts_at <= now:
        raise SlotTaken("Ce créneau est passé.")
    check_professional(visit_type, slot)
    employee = check_employee(company, employee_id)
    taken = db.session.execute(select(Visit.id).where(Visit.active_slot_id == slot.id)).first()
    if taken:
        raise SlotTaken("Ce créneau vient d'être réservé par une autre entreprise. Choisissez-en un autre.")
    visit = Visit(
        company_id=employee.company_id,
        employee_id=employee.id,
        slot_id=slot.id,
        active_slot_id=slot.id,
        starts_at=slot.starts_at,
        visit_type=visit_type,
        status="confirmee",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(visit)
    db.session.flush()  # IntegrityError here when another transaction took the slot
    audit.record(
        "planning.slot_booked", actor=actor, company=company, target=visit, slot_id=slot.id, visit_type=visit_type
    )
    visit.employee = employee
    visit.slot = slot
    notify_employers(company, visit, "booked", "Rendez-vous confirmé")
    return visit


def can_change(visit: Visit, now: datetime, notice_hours: int) -> bool:
    return visit.status in ACTIVE_VISIT_STATUSES and visit.starts_at - now >= timedelta(hours=notice_hours)


def _check_notice(visit: Visit, now: datetime, notice_hours: int) -> None:
    if visit.status not in ACTIVE_VISIT_STATUSES:
        raise PlanningError("Cette visite n'est plus modifiable.")
    if not can_change(visit, now, notice_hours):
        raise TooLate(
            f"Le délai de prévenance de {notice_hours} heures est dépassé : la visite ne peut plus être "
            "annulée ni déplacée en ligne. Contactez le service."
        )


def cancel_visit(company: Company, visit: Visit, actor, now: datetime, notice_hours: int) -> None:
    _check_notice(visit, now, notice_hours)
    visit.status = "annulee"
    visit.active_slot_id = None
    visit.cancelled_at = now
    db.session.flush()
    audit.record("planning.visit_cancelled", actor=actor, company=company, target=visit)
    notify_employers(company, visit, "cancelled", "Rendez-vous annulé")


def move_visit(company: Company, visit: Visit, slot: Slot, actor, now: datetime, notice_hours: int) -> None:
    _check_notice(visit, now, notice_hours)
    if slot.starts_at <= now:
        raise SlotTaken("Ce créneau est passé.")
    check_professional(visit.visit_type, slot)
    taken = db.session.execute(select(Visit.id).where(Visit.active_slot_id == slot.id)).first()
    if taken:
        raise SlotTaken("Ce créneau vient d'être réservé par une autre entreprise. Choisissez-en un autre.")
    old_start = visit.starts_at
    visit.slot_id = slot.id
    visit.active_slot_id = slot.id
    visit.starts_at = slot.starts_at
    visit.reminder_sent_at = None
    db.session.flush()
    visit.slot = slot
    audit.record("planning.visit_moved", actor=actor, company=company, target=visit, slot_id=slot.id)
    notify_employers(company, visit, "moved", "Rendez-vous déplacé", old_start=old_start)


def confirm_proposal(company: Company, visit: Visit, actor) -> None:
    if visit.status != "proposee":
        raise PlanningError("Cette visite n'est pas à confirmer.")
    visit.status = "confirmee"
    db.session.flush()
    audit.record("planning.visit_confirmed", actor=actor, company=company, target=visit)


def decline_proposal(company: Company, visit: Visit, reason: str, actor, now: datetime) -> AppointmentRequest:
    """Ask for another date: the proposal is cancelled and a request tells the service why."""
    if visit.status != "proposee":
        raise PlanningError("Cette visite n'est pas à confirmer.")
    request = AppointmentRequest(
        company_id=visit.company_id,
        employee_id=visit.employee_id,
        reason=visit.visit_type if visit.visit_type in REQUEST_REASONS else "autre",
        details=f"Autre date demandée pour la visite proposée ({visit.type_label}).",
        comment=reason,
        status="en_attente",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(request)
    visit.status = "annulee"
    visit.active_slot_id = None
    visit.cancelled_at = now
    db.session.flush()
    audit.record("planning.proposal_declined", actor=actor, company=company, target=visit, request_id=request.id)
    queue_service_request_mail(company, request, visit.employee)
    return request
