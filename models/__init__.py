"""All models, imported here so that Alembic and the app see every table."""

from models.audit import AuditEvent
from models.bank import BankLine, BankStatement, SepaDebit, SepaMandate
from models.billing import (
    CreditApplication,
    Declaration,
    Document,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    PendingFee,
    Refund,
    TariffYear,
)
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER, ROLES, Company, Membership
from models.duerp import DuerpVersion
from models.employees import Employee, EmployeeChange
from models.integration import ApiIdempotencyKey, IntegrationClient, WebhookDelivery
from models.outbox import OutboxMessage
from models.planning import AppointmentRequest, CalendarFeed, Centre, Professional, Slot, Visit
from models.staff import StaffRecoveryCode
from models.support import ContactMessage, EmailChangeRequest, Invitation
from models.throttle import ThrottleCounter
from models.users import LoginSession, User

__all__ = [
    "ApiIdempotencyKey",
    "BankLine",
    "BankStatement",
    "IntegrationClient",
    "SepaDebit",
    "SepaMandate",
    "WebhookDelivery",
    "AppointmentRequest",
    "CalendarFeed",
    "Centre",
    "Professional",
    "Slot",
    "Visit",
    "AuditEvent",
    "Company",
    "ContactMessage",
    "CreditApplication",
    "Declaration",
    "Document",
    "DuerpVersion",
    "EmailChangeRequest",
    "Employee",
    "EmployeeChange",
    "Invitation",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LoginSession",
    "Membership",
    "OutboxMessage",
    "Payment",
    "PendingFee",
    "Refund",
    "ROLES",
    "ROLE_ACCOUNTANT",
    "ROLE_EMPLOYER",
    "StaffRecoveryCode",
    "ThrottleCounter",
    "TariffYear",
    "User",
]
