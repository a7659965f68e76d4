"""All models, imported here so that Alembic and the app see every table."""

from models.audit import AuditEvent
from models.billing import Declaration, Document, Invoice, InvoiceLine, InvoiceSequence, Payment, TariffYear
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
    "Declaration",
    "Document",
    "Employee",
    "EmployeeChange",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LoginSession",
    "Membership",
    "OutboxMessage",
    "Payment",
    "ROLES",
    "ROLE_ACCOUNTANT",
    "ROLE_EMPLOYER",
    "StaffRecoveryCode",
    "ThrottleCounter",
    "TariffYear",
    "User",
]
