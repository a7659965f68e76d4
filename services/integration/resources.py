"""Read models and operations behind /api/v1: lists in id order after a cursor (LIMIT n + 1,
a fixed number of queries), the member upsert, the employees' change feed, slots.

Every object an API view reads by id comes through `load` (one place to scope them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models.base import utcnow
from models.billing import Invoice, Payment
from models.companies import CODE_RE, Company
from models.employees import Employee, EmployeeChange
from models.planning import AppointmentRequest, Slot, Visit
from services.core import audit

MEMBER_FIELDS = ("name", "siret", "naf", "address", "postal_code", "city", "phone", "email", "active")


class ApiOperationError(ValueError):
    """A refused operation: `kind` is "conflit", "introuvable" or "operation-refusee"."""

    def __init__(self, message: str, kind: str = "operation-refusee", field: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.field = field


_LOAD_OPTIONS = {
    Employee: (joinedload(Employee.company),),
    Visit: (joinedload(Visit.company), joinedload(Visit.employee), joinedload(Visit.slot)),
    AppointmentRequest: (joinedload(AppointmentRequest.company),),
    Invoice: (joinedload(Invoice.company), selectinload(Invoice.lines), selectinload(Invoice.payments)),
    Slot: (joinedload(Slot.centre), joinedload(Slot.professional)),
}


def load(model, object_id: int):
    """The object of `model` with this id, or None. Integration clients act for the service as a
    whole: their walls are their scopes, checked before this is called."""
    if not isinstance(object_id, int) or not 0 < object_id < 2**63:
        return None
    return (
        db.session.execute(select(model).options(*_LOAD_OPTIONS.get(model, ())).where(model.id == object_id))
        .unique()
        .scalar_one_or_none()
    )


def _after(stmt, model, after_id: int, limit: int) -> list:
    return list(
        db.session.execute(stmt.where(model.id > after_id).order_by(model.id).limit(limit + 1)).unique().scalars()
    )


def _company_ids(code: str | None):
    """Filter on a member's code: the member and its sites."""
    member = select(Company.id).where(Company.code == code).scalar_subquery()
    return select(Company.id).where((Company.id == member) | (Company.parent_id == member))


# --------------------------------------------------------------------------- members


def list_members(after_id: int, limit: int) -> list[Company]:
    return _after(select(Company).options(joinedload(Company.parent)), Company, after_id, limit)


def member_by_code(code: str) -> Company | None:
    return db.session.execute(
        select(Company).options(joinedload(Company.parent)).where(Company.code == code)
    ).scalar_one_or_none()


def upsert_member(code: str, data: dict) -> tuple[Company, bool]:
    """Create or update the member (or site, `00010-2`) of this code. Never sets nor changes the
    n° télédéclarant: the service sends it by post through its own procedure."""
    if not CODE_RE.match(code or ""):
        raise ApiOperationError(
            "Le code adhérent a 5 chiffres, suivis pour un établissement d'un tiret et d'un numéro (00010-2).",
            "validation",
            "code",
        )
    parent = None
    if "-" in code:
        parent = member_by_code(code.split("-")[0])
        if parent is None or parent.parent_id is not None:
            raise ApiOperationError(
                f"L'adhérent {code.split('-')[0]} n'existe pas : créez-le avant son établissement.", "introuvable"
            )
    company = member_by_code(code)
    created = company is None
    if created:
        if not data.get("name"):
            raise ApiOperationError("La raison sociale est obligatoire pour un nouvel adhérent.", "validation", "name")
        company = Company(code=code, parent_id=parent.id if parent else None, active=True)
        db.session.add(company)
    changed = sorted(k for k in MEMBER_FIELDS if k in data and getattr(company, k) != data[k])
    for key in changed:
        setattr(company, key, data[key])
    try:
        db.session.flush()
    except IntegrityError:  # the same code created by a concurrent call
        db.session.rollback()
        raise ApiOperationError("Cet adhérent vient d'être créé par un autre appel : relisez-le.", "conflit") from None
    if created or changed:
        audit.record(
            "api.member_created" if created else "api.member_updated", company=company, target=company, fields=changed
        )
    if parent is not None:
        company.parent = parent
    return company, created


# --------------------------------------------------------------------------- employees


def list_employees(after_id: int, limit: int, company_code: str | None) -> list[Employee]:
    stmt = select(Employee).options(joinedload(Employee.company))
    if company_code:
        stmt = stmt.where(Employee.company_id.in_(_company_ids(company_code)))
    return _after(stmt, Employee, after_id, limit)


def change_feed(
    after_id: int, limit: int, company_code: str | None = None, now: datetime | None = None
) -> list[EmployeeChange]:
    """Every declaration about an employee after `after_id`, in id order.

    On SQLite writes are serialised, so ids are given in commit order. On PostgreSQL a
    transaction may commit after a later id: the feed only serves rows older than
    API_FEED_SETTLE_SECONDS, so a row committed late is still ahead of every cursor handed out."""
    now = now or utcnow()
    stmt = select(EmployeeChange).options(joinedload(EmployeeChange.employee).joinedload(Employee.company))
    settle = current_app.config.get("API_FEED_SETTLE_SECONDS", 5)
    if settle and db.session.get_bind().dialect.name != "sqlite":
        stmt = stmt.where(EmployeeChange.created_at <= now - timedelta(seconds=settle))
    if company_code:
        stmt = stmt.where(EmployeeChange.company_id.in_(_company_ids(company_code)))
    return _after(stmt, EmployeeChange, after_id, limit)


# --------------------------------------------------------------------------- planning


def list_slots(after_id: int, limit: int, start: datetime | None) -> list[Slot]:
    stmt = select(Slot).options(joinedload(Slot.centre), joinedload(Slot.professional))
    if start is not None:
        stmt = stmt.where(Slot.starts_at >= start)
    return _after(stmt, Slot, after_id, limit)


def booked_slot_ids(slot_ids: list[int]) -> set[int]:
    if not slot_ids:
        return set()
    return set(db.session.scalars(select(Visit.active_slot_id).where(Visit.active_slot_id.in_(slot_ids))))


def create_slot(data: dict, now: datetime | None = None) -> Slot:
    """One slot of a professional at a centre (both created on first use, by name)."""
    from services.planning.slot_series import SeriesError, get_or_create_centre, get_or_create_professional

    now = now or utcnow()
    starts_at = data["starts_at"]
    if starts_at.tzinfo is None:
        raise ApiOperationError(
            "Indiquez le fuseau horaire de l'heure de début (ex. 2027-03-01T09:00:00+01:00).", "validation", "starts_at"
        )
    starts_at = starts_at.astimezone(UTC)
    if starts_at <= now:
        raise ApiOperationError("Le créneau doit commencer dans le futur.", "validation", "starts_at")
    reserved = None
    if data.get("reserved_company_code"):
        reserved = member_by_code(data["reserved_company_code"])
        if reserved is None:
            raise ApiOperationError("Adhérent inconnu.", "validation", "reserved_company_code")
    centre = data["centre"]
    try:
        professional = get_or_create_professional(data["professional"]["name"], data["professional"]["kind"])
    except SeriesError as exc:
        raise ApiOperationError(str(exc), "validation", "professional") from None
    centre_row = get_or_create_centre(centre["name"], centre.get("address") or centre["name"])
    taken = db.session.execute(
        select(Slot.id).where(Slot.professional_id == professional.id, Slot.starts_at == starts_at)
    ).first()
    if taken:
        raise ApiOperationError("Ce professionnel a déjà un créneau à cette heure.", "conflit")
    slot = Slot(
        starts_at=starts_at,
        duration_minutes=data["duration_minutes"],
        centre=centre_row,
        professional=professional,
        reserved_company_id=reserved.id if reserved else None,
    )
    db.session.add(slot)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApiOperationError("Ce professionnel a déjà un créneau à cette heure.", "conflit") from None
    audit.record("api.slot_created", company=reserved, target=slot, starts_at=starts_at.isoformat())
    return slot


def list_visits(after_id: int, limit: int, company_code: str | None, status: str | None) -> list[Visit]:
    stmt = select(Visit).options(joinedload(Visit.company), joinedload(Visit.slot))
    if company_code:
        stmt = stmt.where(Visit.company_id.in_(_company_ids(company_code)))
    if status:
        stmt = stmt.where(Visit.status == status)
    return _after(stmt, Visit, after_id, limit)


def list_requests(after_id: int, limit: int, company_code: str | None, status: str | None) -> list[AppointmentRequest]:
    stmt = select(AppointmentRequest).options(joinedload(AppointmentRequest.company))
    if company_code:
        stmt = stmt.where(AppointmentRequest.company_id.in_(_company_ids(company_code)))
    if status:
        stmt = stmt.where(AppointmentRequest.status == status)
    return _after(stmt, AppointmentRequest, after_id, limit)


# --------------------------------------------------------------------------- billing


def list_invoices(after_id: int, limit: int, company_code: str | None, kind: str | None) -> list[Invoice]:
    stmt = select(Invoice).options(selectinload(Invoice.lines), selectinload(Invoice.payments))
    if company_code:
        stmt = stmt.where(Invoice.company_id.in_(_company_ids(company_code)))
    if kind:
        stmt = stmt.where(Invoice.kind == kind)
    return _after(stmt, Invoice, after_id, limit)


def list_payments(after_id: int, limit: int, company_code: str | None) -> list[Payment]:
    stmt = select(Payment).options(joinedload(Payment.invoice))
    if company_code:
        stmt = stmt.where(
            Payment.invoice_id.in_(select(Invoice.id).where(Invoice.company_id.in_(_company_ids(company_code))))
        )
    return _after(stmt, Payment, after_id, limit)
