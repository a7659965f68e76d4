"""All models, imported here so that Alembic and the app see every table."""

from models.audit import AuditEvent
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, ROLES, Company, Membership
from models.employees import Employee, EmployeeChange
from models.outbox import OutboxMessage
from models.planning import AppointmentRequest, Centre, Professional, Slot, Visit
from models.staff import StaffRecoveryCode
from models.throttle import ThrottleCounter
from models.users import LoginSession, User

__all__ = [
    "AppointmentRequest",
    "Centre",
    "Professional",
    "Slot",
    "Visit",
    "AuditEvent",
    "Company",
    "Employee",
    "EmployeeChange",
    "LoginSession",
    "Membership",
    "OutboxMessage",
    "ROLES",
    "ROLE_ACCOUNTANT",
    "ROLE_EMPLOYER",
    "StaffRecoveryCode",
    "ThrottleCounter",
    "User",
]
