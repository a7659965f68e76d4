"""Company scope: what "this company" covers, and the one loader per company-scoped object.

A member (a company without a parent) is seen with its sites; a site is seen alone. Employees,
visits and appointment requests follow that rule. Memberships, invitations, documents and
invoices belong to exactly one company (a site has its own), and so does the cotisation's
view of an employee (`employee(..., sites=False)`).

Every loader filters by company in the SQL itself and raises `NotFound` when the object does
not exist or belongs to another company: the two cases look the same to the caller, and
create_app answers 404 for both. The back office, which sees every member, passes
`EVERY_COMPANY` instead of a company, in plain sight.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models.billing import Document, Invoice
from models.companies import Company, Membership
from models.duerp import DuerpVersion
from models.employees import Employee
from models.planning import AppointmentRequest, Slot, Visit
from models.support import ContactMessage, Invitation
from models.users import KIND_STAFF, User


class NotFound(LookupError):
    """No such object in this company's scope; the app answers 404 (see create_app)."""


class _EveryCompany:
    """The back office's scope: every member and site of the service."""

    def __repr__(self) -> str:
        return "EVERY_COMPANY"


EVERY_COMPANY = _EveryCompany()


# --------------------------------------------------------------------------- the definition


def company_ids(company: Company) -> list[int]:
    """The company and, for a member, its sites (one query; none for a site)."""
    if company.is_site:
        return [company.id]
    site_ids = db.session.execute(select(Company.id).where(Company.parent_id == company.id)).scalars().all()
    return [company.id, *site_ids]


def within(column, company: Company):
    """SQL condition: `column` (a company id) is the company or, for a member, one of its
    sites. The same rule as company_ids(), as a subquery: a loader needs no second query."""
    if company.is_site:
        return column == company.id
    return column.in_(select(Company.id).where(or_(Company.id == company.id, Company.parent_id == company.id)))


def _one(query, scope, column, *, sites: bool = True):
    if scope is not EVERY_COMPANY:
        query = query.where(within(column, scope) if sites else column == scope.id)
    found = db.session.execute(query).unique().scalar_one_or_none()
    if found is None:
        raise NotFound
    return found


# --------------------------------------------------------------------------- one loader per object


def employee(company: Company | _EveryCompany, employee_id: int, *, sites: bool = True) -> Employee:
    """An employee of the company or of its sites; `sites=False`: of the company itself (the
    cotisation counts each site apart)."""
    return _one(select(Employee).where(Employee.id == employee_id), company, Employee.company_id, sites=sites)


def visit(company: Company | _EveryCompany, visit_id: int) -> Visit:
    """A visit with its employee, company, slot, centre and professional (the visit card)."""
    query = (
        select(Visit)
        .options(
            joinedload(Visit.employee),
            joinedload(Visit.company),
            joinedload(Visit.slot).joinedload(Slot.centre),
            joinedload(Visit.slot).joinedload(Slot.professional),
        )
        .where(Visit.id == visit_id)
    )
    return _one(query, company, Visit.company_id)


def request(company: Company | _EveryCompany, request_id: int) -> AppointmentRequest:
    """An appointment request with its employee and company."""
    query = (
        select(AppointmentRequest)
        .options(joinedload(AppointmentRequest.employee), joinedload(AppointmentRequest.company))
        .where(AppointmentRequest.id == request_id)
    )
    return _one(query, company, AppointmentRequest.company_id)


def membership(company: Company, membership_id: int) -> Membership:
    """An active (not revoked) link of a user to this very company."""
    query = select(Membership).where(Membership.id == membership_id, Membership.revoked_at.is_(None))
    return _one(query, company, Membership.company_id, sites=False)


def invitation(company: Company, invitation_id: int) -> Invitation:
    """An invitation to this very company, not yet accepted nor cancelled."""
    query = select(Invitation).where(
        Invitation.id == invitation_id, Invitation.accepted_at.is_(None), Invitation.cancelled_at.is_(None)
    )
    return _one(query, company, Invitation.company_id, sites=False)


def document(company: Company | _EveryCompany, document_id: int) -> Document:
    """A document (invoice PDF, attestation, ...) of this very company."""
    return _one(select(Document).where(Document.id == document_id), company, Document.company_id, sites=False)


def duerp_version(company: Company, version_id: int) -> DuerpVersion:
    """A version of this very company's document unique (Mon DUERP)."""
    query = select(DuerpVersion).where(DuerpVersion.id == version_id)
    return _one(query, company, DuerpVersion.company_id, sites=False)


def invoice(company: Company | _EveryCompany, invoice_id: int) -> Invoice:
    """An invoice or credit note of this very company, with its lines and payments."""
    query = (
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments))
    )
    return _one(query, company, Invoice.company_id, sites=False)


def message(company: Company | _EveryCompany, message_id: int) -> ContactMessage:
    """A message sent through "Nous contacter", with its company and sender."""
    query = (
        select(ContactMessage)
        .options(joinedload(ContactMessage.company), joinedload(ContactMessage.user))
        .where(ContactMessage.id == message_id)
    )
    return _one(query, company, ContactMessage.company_id, sites=False)


# --------------------------------------------------------------------------- back office


def company_by_code(code: str) -> Company:
    """A member or site by its code adhérent (the back office reaches every company)."""
    company = db.session.execute(select(Company).where(Company.code == code)).scalar_one_or_none()
    if company is None:
        raise NotFound
    return company


def staff_user(user_id: int) -> User:
    """A member of the service's staff (never a member user)."""
    user = db.session.execute(select(User).where(User.id == user_id, User.kind == KIND_STAFF)).scalar_one_or_none()
    if user is None:
        raise NotFound
    return user
