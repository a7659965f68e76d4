"""Appointment requests an employer sends to the service (and the mail the service receives)."""

from __future__ import annotations

from extensions import db
from models.companies import Company
from models.employees import Employee
from models.planning import (
    AppointmentRequest,
)
from services.core import audit
from services.core.outbox import queue_mail
from services.employees import follow_up_law
from services.planning.common import PlanningError, check_employee


def queue_service_request_mail(company: Company, request: AppointmentRequest, employee: Employee) -> None:
    from flask import current_app

    queue_mail(
        current_app.config["SERVICE_PLANNING_EMAIL"],
        f"Demande de rendez-vous – {company.code}",
        "planning_request",
        request=request,
        company=company,
        employee=employee,
    )


def create_request(company: Company, data: dict, actor) -> AppointmentRequest:
    employee = check_employee(company, data["employee_id"])
    refusal = follow_up_law.request_refusal(data)
    if refusal:
        raise PlanningError(refusal)
    request = AppointmentRequest(
        company_id=employee.company_id,
        employee_id=employee.id,
        reason=data["reason"],
        absence_type=data.get("absence_type") if data["reason"] == "reprise" else None,
        absence_start=data.get("absence_start") if data["reason"] in follow_up_law.ABSENCE_REASONS else None,
        absence_end=data.get("absence_end") if data["reason"] in follow_up_law.ABSENCE_REASONS else None,
        details=data.get("motivation") or None,
        wished_from=data.get("wished_from"),
        wished_to=data.get("wished_to"),
        comment=data.get("comment") or None,
        status="en_attente",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(request)
    db.session.flush()
    audit.record("planning.request_created", actor=actor, company=company, target=request, reason=request.reason)
    queue_service_request_mail(company, request, employee)
    return request
