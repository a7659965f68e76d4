"""Planning operations: slot import, booking, moving, cancelling, requests, reminders."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, func, literal, or_, select, update
from sqlalchemy.orm import joinedload

from extensions import db
from models.companies import ROLE_EMPLOYER, Company, Membership
from models.employees import Employee
from models.planning import (
    ACTIVE_VISIT_STATUSES,
    PROFESSIONAL_KINDS,
    REQUEST_REASONS,
    VISIT_STATUSES,
    VISIT_TYPES,
    AppointmentRequest,
    Centre,
    Professional,
    RequestLabels,
    Slot,
    Visit,
)
from models.users import User
from services import audit, follow_up, french
from services.input_limits import is_plausible_date, iso_week_monday
from services.outbox import queue_mail
from services.search import employee_names_contain, escape_like

PARIS = ZoneInfo("Europe/Paris")
SLOT_CSV_COLUMNS = ["debut", "duree_minutes", "centre", "professionnel", "code_adherent"]
MAX_SLOT_ROWS = 20000


class PlanningError(Exception):
    """A refused planning operation; the message is French and shown to the user."""


class SlotTaken(PlanningError):
    pass


class TooLate(PlanningError):
    pass


# --------------------------------------------------------------------------- scope


def company_scope_ids(company: Company) -> list[int]:
    """The company and, for a member, its sites (one query; none for a site)."""
    if company.parent_id is not None:
        return [company.id]
    site_ids = db.session.execute(select(Company.id).where(Company.parent_id == company.id)).scalars().all()
    return [company.id, *site_ids]


@dataclass(slots=True, frozen=True)
class SiteRow:
    """A site of the member, for the site filter (id and label only)."""

    id: int
    code: str
    name: str
    city: str | None

    @property
    def site_label(self) -> str:  # as models.companies.Company.site_label
        return f"{self.code} - {self.name} ({self.city})" if self.city else f"{self.code} - {self.name}"


# Built once: a reused statement keeps its cache key (building one cost more than running it).
_SITES = (
    select(Company.id, Company.code, Company.name, Company.city)
    .where(Company.parent_id == bindparam("parent_id"))
    .order_by(Company.code)
)


def scope_companies(company: Company) -> list[Company | SiteRow]:
    """The company and its sites (id, site_label), for the site filter."""
    if company.parent_id is not None:
        return [company]
    rows = db.session.connection().execute(_SITES, {"parent_id": company.id})
    return [company, *(SiteRow(*r) for r in rows)]


def slot_open_to(company: Company):
    """SQL condition: a slot open to all, or reserved to this company or its parent member.

    Written as COALESCE(reserved_company_id, 0) IN (0, ids) rather than `IS NULL OR IN (...)`:
    with the OR, SQLite answers "the next free slots" by a MULTI-INDEX OR over
    ix_slots_reserved_start and sorts every future slot (46 ms at 200,000 slots) instead of
    walking ix_slots_starts_at in order and stopping at LIMIT (< 1 ms). 0 is never a company id."""
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    return func.coalesce(Slot.reserved_company_id, 0).in_([0, *ids])


def slot_is_free():
    return ~exists().where(Visit.active_slot_id == Slot.id)


def to_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def paris_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    nxt = day + timedelta(days=1)
    return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=PARIS).astimezone(UTC)


def parse_iso_week(value: str | None, today: date) -> date:
    """Monday of `2027-W05`; the current week when absent or invalid."""
    if value:
        try:
            year, week = value.upper().split("-W")
            monday = iso_week_monday(int(year), int(week)) if len(year) == 4 and len(week) <= 2 else None
        except (ValueError, TypeError):
            monday = None
        if monday is not None:
            return monday
    return today - timedelta(days=today.weekday())


def day_label(day: date) -> str:
    """ "Lundi 4 janvier 2027" (the planning's day headings)."""
    return french.long_date(day, weekday=True).capitalize()


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


# --------------------------------------------------------------------------- loaders


def get_visit_or_none(company: Company, visit_id: int) -> Visit | None:
    """A visit of the company (or of its sites); None for anyone else's."""
    return db.session.execute(
        select(Visit)
        .options(
            joinedload(Visit.employee),
            joinedload(Visit.company),
            joinedload(Visit.slot).joinedload(Slot.centre),
            joinedload(Visit.slot).joinedload(Slot.professional),
        )
        .where(Visit.id == visit_id, Visit.company_id.in_(company_scope_ids(company)))
    ).scalar_one_or_none()


def get_open_slot_or_none(company: Company, slot_id: int, now: datetime) -> Slot | None:
    return db.session.execute(
        select(Slot)
        .options(joinedload(Slot.centre), joinedload(Slot.professional))
        .where(Slot.id == slot_id, slot_open_to(company), Slot.starts_at > now)
    ).scalar_one_or_none()


# --------------------------------------------------------------------------- reading


@dataclass
class VisitFilters:
    employee_id: int | None = None
    site_id: int | None = None
    visit_type: str | None = None
    name: str = ""  # words searched in the employee's names (search as you type)


def employee_name_matches(scope_ids, words: str):
    """Ids of the scope's employees whose birth name, usage name or first names contain every
    word (at most five), as a subquery: the planning filters visits by name without loading
    the company's employees."""
    return select(Employee.id).where(Employee.company_id.in_(scope_ids), *employee_names_contain(words))


def employee_in_scope(scope_ids, employee_id: int) -> Employee | None:
    """The employee chosen by `?salarie=<id>` (shown by name in the filter), if in the scope."""
    return db.session.execute(
        select(Employee).where(Employee.id == employee_id, Employee.company_id.in_(scope_ids))
    ).scalar_one_or_none()


def _is_active():
    """`status IN ('proposee', 'confirmee')` with the values written in the SQL (not bound), so
    that SQLite and PostgreSQL match it to the partial index ix_visits_active_company_start."""
    return Visit.status.in_(
        bindparam("active_statuses", list(ACTIVE_VISIT_STATUSES), expanding=True, literal_execute=True)
    )


def _is_proposed():
    """`status = 'proposee'` written in the SQL: the predicate of ix_visits_proposed_company_start."""
    return Visit.status == literal("proposee", literal_execute=True)


def _visit_query(scope_ids: list[int], filters: VisitFilters, *, proposed: bool = False):
    query = select(Visit).options(
        joinedload(Visit.employee),
        joinedload(Visit.company),
        joinedload(Visit.slot).joinedload(Slot.centre),
        joinedload(Visit.slot).joinedload(Slot.professional),
    )
    return _filtered(query, scope_ids, filters, proposed=proposed)


def _filtered(query, scope_ids: list[int], filters: VisitFilters, *, proposed: bool = False):
    query = query.where(Visit.company_id.in_(scope_ids), _is_proposed() if proposed else _is_active())
    if filters.employee_id:
        query = query.where(Visit.employee_id == filters.employee_id)
    if filters.site_id:
        query = query.where(Visit.company_id == filters.site_id)
    if filters.visit_type:
        query = query.where(Visit.visit_type == filters.visit_type)
    if filters.name:
        query = query.where(Visit.employee_id.in_(employee_name_matches(scope_ids, filters.name)))
    return query.order_by(Visit.starts_at, Visit.id)


# The planning page and the slot list read plain columns, not ORM entities: hydrating five
# joined entities per visit (and three per slot) was most of the page's time. These rows have
# the attributes the templates use (visit.employee.display_name, visit.slot.centre.name...).


@dataclass(slots=True, frozen=True)
class EmployeeName:
    birth_name: str
    usage_name: str | None
    first_names: str

    @property
    def display_name(self) -> str:  # as models.employees.Employee.display_name
        return f"{(self.usage_name or self.birth_name).upper()} {self.first_names}"


@dataclass(slots=True, frozen=True)
class CentreInfo:
    id: int
    name: str
    address: str
    postal_code: str | None
    city: str | None

    @property
    def full_address(self) -> str:
        """ "Centre de Dinan, 4 rue de la Santé, 22100 Dinan" (the visit card's "Centre")."""
        text = f"{self.name}, {self.address}" if self.address else self.name
        return f"{text}, {self.postal_code or ''} {self.city}" if self.city else text


@dataclass(slots=True, frozen=True)
class ProfessionalInfo:
    name: str
    kind: str

    @property
    def kind_label(self) -> str:
        return PROFESSIONAL_KINDS.get(self.kind, self.kind)


@dataclass(slots=True, frozen=True)
class CompanyCode:
    code: str


@dataclass(slots=True, frozen=True)
class SlotInfo:
    id: int
    starts_at: datetime
    duration_minutes: int
    reserved_company_id: int | None
    centre: CentreInfo
    professional: ProfessionalInfo


@dataclass(slots=True, frozen=True)
class VisitRow:
    id: int
    starts_at: datetime
    status: str
    visit_type: str
    company_id: int
    company: CompanyCode
    employee: EmployeeName
    slot: SlotInfo | None
    # Computed once per row (the card showed each of them up to four times).
    day: date  # in Paris
    hour: str  # "09:30", Paris time
    date_text: str  # "15/01/2027"
    name: str  # employee.display_name

    @property
    def type_label(self) -> str:
        return VISIT_TYPES.get(self.visit_type, self.visit_type)

    @property
    def status_label(self) -> str:
        return VISIT_STATUSES.get(self.status, self.status)


_SLOT_COLUMNS = (
    Slot.id,
    Slot.starts_at,
    Slot.duration_minutes,
    Slot.reserved_company_id,
    Centre.id,
    Centre.name,
    Centre.address,
    Centre.postal_code,
    Centre.city,
    Professional.name,
    Professional.kind,
)


def _slot_info(r) -> SlotInfo:
    return SlotInfo(r[0], r[1], r[2], r[3], CentreInfo(r[4], r[5], r[6], r[7], r[8]), ProfessionalInfo(r[9], r[10]))


@lru_cache(maxsize=64)
def _visit_rows_statement(
    proposed: bool, employee: bool, site: bool, visit_type: bool, words: int, until: bool, paged: bool
):
    """_visit_query's selection as plain columns (same conditions and order), built once per
    shape: every value is a bound parameter (building the statement cost as much as running it)."""
    scope = bindparam("scope_ids", expanding=True)
    query = (
        select(
            Visit.id,
            Visit.starts_at,
            Visit.status,
            Visit.visit_type,
            Visit.company_id,
            Company.code,
            Employee.birth_name,
            Employee.usage_name,
            Employee.first_names,
            *_SLOT_COLUMNS,
        )
        .join(Employee, Employee.id == Visit.employee_id)
        .join(Company, Company.id == Visit.company_id)
        .outerjoin(Slot, Slot.id == Visit.slot_id)
        .outerjoin(Centre, Centre.id == Slot.centre_id)
        .outerjoin(Professional, Professional.id == Slot.professional_id)
        .where(
            Visit.company_id.in_(scope),
            _is_proposed() if proposed else _is_active(),
            Visit.starts_at >= bindparam("since"),
        )
        .order_by(Visit.starts_at, Visit.id)
    )
    if employee:
        query = query.where(Visit.employee_id == bindparam("employee_id"))
    if site:
        query = query.where(Visit.company_id == bindparam("site_id"))
    if visit_type:
        query = query.where(Visit.visit_type == bindparam("visit_type"))
    if words:  # as employee_name_matches()
        names = select(Employee.id).where(Employee.company_id.in_(scope))
        for i in range(words):
            pattern = bindparam(f"word{i}")
            names = names.where(
                or_(
                    func.lower(Employee.birth_name).like(pattern, escape="\\"),
                    func.lower(Employee.usage_name).like(pattern, escape="\\"),
                    func.lower(Employee.first_names).like(pattern, escape="\\"),
                )
            )
        query = query.where(Visit.employee_id.in_(names))
    if until:
        query = query.where(Visit.starts_at < bindparam("until"))
    if paged:
        query = query.limit(bindparam("limit")).offset(bindparam("offset"))
    return query


def _visit_rows(
    scope_ids,
    filters: VisitFilters,
    since: datetime,
    *,
    proposed: bool = False,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[VisitRow]:
    words = filters.name.split()[:5]
    statement = _visit_rows_statement(
        proposed,
        bool(filters.employee_id),
        bool(filters.site_id),
        bool(filters.visit_type),
        len(words),
        until is not None,
        limit is not None,
    )
    params = {
        "scope_ids": list(scope_ids),
        "since": since,
        "employee_id": filters.employee_id,
        "site_id": filters.site_id,
        "visit_type": filters.visit_type,
        "until": until,
        "limit": limit,
        "offset": offset if limit is not None else None,
    }
    params.update({f"word{i}": f"%{escape_like(word.lower())}%" for i, word in enumerate(words)})
    rows = []
    # The connection, not the session: these are plain columns, the ORM's result machinery
    # only added time (GET pages: nothing pending to flush).
    for r in db.session.connection().execute(statement, {k: v for k, v in params.items() if v is not None}):
        local = r[1].astimezone(PARIS)
        employee = EmployeeName(r[6], r[7], r[8])
        rows.append(
            VisitRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                CompanyCode(r[5]),
                employee,
                _slot_info(r[9:]) if r[9] is not None else None,
                local.date(),
                f"{local.hour:02d}:{local.minute:02d}",
                f"{local.day:02d}/{local.month:02d}/{local.year}",
                employee.display_name,
            )
        )
    return rows


def coming_visit_rows(
    scope_ids, filters: VisitFilters, now: datetime, *, limit: int, offset: int = 0
) -> list[VisitRow]:
    return _visit_rows(scope_ids, filters, now, limit=limit, offset=offset)


def proposal_rows(scope_ids, now: datetime) -> list[VisitRow]:
    """Coming visits proposed by the service, waiting for the employer's answer."""
    return _visit_rows(scope_ids, VisitFilters(), now, proposed=True, limit=100)


def visit_rows_between(scope_ids, filters: VisitFilters, start: datetime, end: datetime) -> list[VisitRow]:
    return _visit_rows(scope_ids, filters, start, until=end)


def coming_visits(scope_ids, filters: VisitFilters, now: datetime, *, limit: int, offset: int = 0) -> list[Visit]:
    query = _visit_query(scope_ids, filters).where(Visit.starts_at >= now).limit(limit).offset(offset)
    return list(db.session.execute(query).unique().scalars())


def group_by_day(visits: list[VisitRow]) -> list[tuple[date, list[VisitRow]]]:
    groups: dict[date, list[VisitRow]] = {}
    for visit in visits:
        groups.setdefault(visit.day, []).append(visit)
    return list(groups.items())


@dataclass(slots=True, frozen=True)
class RequestRow(RequestLabels):
    """A pending appointment request as the planning page shows it (plain columns)."""

    id: int
    reason: str
    absence_type: str | None
    absence_start: date | None
    absence_end: date | None
    wished_from: date | None
    wished_to: date | None
    status: str
    created_at: datetime
    employee: EmployeeName


_PENDING_REQUESTS = (
    select(
        AppointmentRequest.id,
        AppointmentRequest.reason,
        AppointmentRequest.absence_type,
        AppointmentRequest.absence_start,
        AppointmentRequest.absence_end,
        AppointmentRequest.wished_from,
        AppointmentRequest.wished_to,
        AppointmentRequest.status,
        AppointmentRequest.created_at,
        Employee.birth_name,
        Employee.usage_name,
        Employee.first_names,
    )
    .join(Employee, Employee.id == AppointmentRequest.employee_id)
    .where(
        AppointmentRequest.company_id.in_(bindparam("scope_ids", expanding=True)),
        AppointmentRequest.status == "en_attente",
    )
    .order_by(AppointmentRequest.created_at.desc())
    .limit(50)
)


def pending_requests(scope_ids) -> list[RequestRow]:
    """The scope's requests waiting for the service, newest first (at most 50)."""
    rows = db.session.connection().execute(_PENDING_REQUESTS, {"scope_ids": list(scope_ids)})
    return [RequestRow(*r[:9], EmployeeName(r[9], r[10], r[11])) for r in rows]


def free_slots(company: Company, start: datetime, end: datetime, now: datetime) -> list[Slot]:
    """Every free slot open to the company between `start` (never in the past) and `end`."""
    return list(
        db.session.execute(
            select(Slot)
            .options(joinedload(Slot.centre), joinedload(Slot.professional))
            .where(slot_open_to(company), slot_is_free(), Slot.starts_at > max(start, now), Slot.starts_at < end)
            .order_by(Slot.starts_at, Slot.id)
        ).scalars()
    )


@lru_cache(maxsize=8)
def _free_slot_statement(bounded: bool, after: bool, centre: bool):
    """The free slot page's SELECT, built once per shape (its values are bound parameters):
    building it took as long as running it."""
    query = (
        select(*_SLOT_COLUMNS)
        .join(Centre, Centre.id == Slot.centre_id)
        .join(Professional, Professional.id == Slot.professional_id)
        .where(
            # slot_open_to(), with the ids bound: COALESCE(...) IN (0, company, parent)
            func.coalesce(Slot.reserved_company_id, 0).in_(bindparam("open_ids", expanding=True)),
            slot_is_free(),
            Slot.starts_at > bindparam("start"),
        )
        .order_by(Slot.starts_at, Slot.id)
        .limit(bindparam("limit"))
    )
    if bounded:
        query = query.where(Slot.starts_at < bindparam("end"))
    if after:
        query = query.where(
            Slot.starts_at >= bindparam("after_start"),
            or_(Slot.starts_at > bindparam("after_start"), Slot.id > bindparam("after_id")),
        )
    if centre:
        query = query.where(Slot.centre_id == bindparam("centre_id"))
    return query


def free_slot_page(
    company: Company,
    start: datetime,
    end: datetime | None,
    now: datetime,
    *,
    after: tuple[datetime, int] | None = None,
    centre_id: int | None = None,
    limit: int,
) -> list[SlotInfo]:
    """A page of the free slots open to the company from `start` (never in the past) to `end`
    (None: no end), in (starts_at, id) order, after the `after` cursor (the last slot shown),
    of one centre if given. Read from ix_slots_starts_at in order and stopped at LIMIT."""
    params = {
        "open_ids": [0, company.id] + ([company.parent_id] if company.parent_id else []),
        "start": max(start, now),
        "limit": limit,
        "end": end,
        "after_start": after[0] if after else None,
        "after_id": after[1] if after else None,
        "centre_id": centre_id,
    }
    statement = _free_slot_statement(end is not None, after is not None, centre_id is not None)
    # Plain columns read from the connection: the ORM result machinery only added time.
    rows = db.session.connection().execute(statement, {k: v for k, v in params.items() if v is not None})
    return [_slot_info(r) for r in rows]


def next_free_slot_start(company: Company, now: datetime) -> datetime | None:
    return db.session.execute(
        select(Slot.starts_at)
        .where(slot_open_to(company), slot_is_free(), Slot.starts_at > now)
        .order_by(Slot.starts_at)
        .limit(1)
    ).scalar_one_or_none()


def centre_choices() -> list[tuple[int, str]]:
    """(id, name) of every centre, by name (a handful), for the slot list's filter."""
    return [tuple(r) for r in db.session.execute(select(Centre.id, Centre.name).order_by(Centre.name))]


def present_employees(scope_ids, today: date) -> list[Employee]:
    return list(
        db.session.execute(
            select(Employee)
            .where(
                Employee.company_id.in_(scope_ids),
                or_(Employee.exit_date.is_(None), Employee.exit_date >= today),
            )
            .order_by(Employee.birth_name, Employee.first_names, Employee.id)
        ).scalars()
    )


# --------------------------------------------------------------------------- due visits


@dataclass
class DueVisit:
    employee: Employee
    due_date: date | None
    visit_type: str
    has_active_visit: bool = False


def suggest_next_visit(employee: Employee, visits: list[Visit], today: date) -> tuple[date | None, str]:
    """(due date, visit type) for one employee, from the follow-up rules of services.follow_up.
    A visit due "before assignment" is due at the entry date."""
    done = [
        follow_up.PastVisit(v.starts_at.astimezone(PARIS).date(), follow_up.RULE_TYPES.get(v.visit_type, v.visit_type))
        for v in visits
        if v.status == "realisee"
    ]
    due = follow_up.next_visit_due(follow_up.facts_of(employee), done, today)
    due_date = employee.entry_date if due.due == follow_up.BEFORE_ASSIGNMENT else due.due
    return due_date, follow_up.planning_visit_type(due.type, bool(done))


def employees_due_first(scope_ids, today: date) -> list[DueVisit]:
    """Present employees, the ones whose next visit is due soonest first (two queries)."""
    employees = present_employees(scope_ids, today)
    visits_by_employee: dict[int, list[Visit]] = {}
    if employees:
        rows = db.session.execute(
            select(Visit).where(Visit.employee_id.in_([e.id for e in employees]), Visit.status != "annulee")
        ).scalars()
        for visit in rows:
            visits_by_employee.setdefault(visit.employee_id, []).append(visit)
    result = []
    for employee in employees:
        visits = visits_by_employee.get(employee.id, [])
        due_date, visit_type = suggest_next_visit(employee, visits, today)
        active = any(v.status in ACTIVE_VISIT_STATUSES and v.starts_at.date() >= today for v in visits)
        result.append(DueVisit(employee, due_date, visit_type, active))
    result.sort(key=lambda d: (d.has_active_visit, d.due_date or date.max, d.employee.birth_name))
    return result


# --------------------------------------------------------------------------- changes


def employer_addresses(company: Company) -> list[str]:
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    return list(
        db.session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.company_id.in_(ids),
                Membership.role == ROLE_EMPLOYER,
                Membership.revoked_at.is_(None),
                User.active.is_(True),
            )
            .distinct()
        ).scalars()
    )


def _notify_employers(company: Company, visit: Visit, kind: str, subject: str, **extra) -> None:
    addresses = employer_addresses(company)
    if addresses:
        queue_mail(addresses, subject, f"planning_{kind}", visit=visit, company=company, paris=to_paris, **extra)


def _check_employee(company: Company, employee_id: int) -> Employee:
    employee = db.session.execute(
        select(Employee).where(Employee.id == employee_id, Employee.company_id.in_(company_scope_ids(company)))
    ).scalar_one_or_none()
    if employee is None:
        raise PlanningError("Ce salarié n'existe pas.")
    return employee


def book_slot(company: Company, slot: Slot, employee_id: int, visit_type: str, actor, now: datetime) -> Visit:
    """Place an employee on a free slot. The UNIQUE active_slot_id makes a concurrent second
    booking fail at flush with IntegrityError; the route rolls back and answers 409."""
    if visit_type not in VISIT_TYPES:
        raise PlanningError("Choisissez un type de visite.")
    if slot.starts_at <= now:
        raise SlotTaken("Ce créneau est passé.")
    employee = _check_employee(company, employee_id)
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
    _notify_employers(company, visit, "booked", "Rendez-vous confirmé")
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
    _notify_employers(company, visit, "cancelled", "Rendez-vous annulé")


def move_visit(company: Company, visit: Visit, slot: Slot, actor, now: datetime, notice_hours: int) -> None:
    _check_notice(visit, now, notice_hours)
    if slot.starts_at <= now:
        raise SlotTaken("Ce créneau est passé.")
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
    _notify_employers(company, visit, "moved", "Rendez-vous déplacé", old_start=old_start)


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
    _queue_service_request_mail(company, request, visit.employee)
    return request


def _queue_service_request_mail(company: Company, request: AppointmentRequest, employee: Employee) -> None:
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
    employee = _check_employee(company, data["employee_id"])
    request = AppointmentRequest(
        company_id=employee.company_id,
        employee_id=employee.id,
        reason=data["reason"],
        absence_type=data.get("absence_type") if data["reason"] == "reprise" else None,
        absence_start=data.get("absence_start") if data["reason"] in ("reprise", "pre_reprise") else None,
        absence_end=data.get("absence_end") if data["reason"] in ("reprise", "pre_reprise") else None,
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
    _queue_service_request_mail(company, request, employee)
    return request


# --------------------------------------------------------------------------- reminders


def send_reminders(now: datetime, days_before: int = 2) -> int:
    """Queue a reminder for each active visit starting within `days_before` days. Each visit is
    claimed with an atomic UPDATE ... WHERE reminder_sent_at IS NULL, so a second run (or a
    concurrent one) never queues it twice. Commits per visit."""
    from services.database import write_intent

    candidates = (
        db.session.execute(
            select(Visit.id).where(
                Visit.status.in_(ACTIVE_VISIT_STATUSES),
                Visit.reminder_sent_at.is_(None),
                Visit.starts_at > now,
                Visit.starts_at <= now + timedelta(days=days_before),
            )
        )
        .scalars()
        .all()
    )
    db.session.commit()
    sent = 0
    for visit_id in candidates:
        with write_intent():
            claimed = db.session.execute(
                update(Visit)
                .where(Visit.id == visit_id, Visit.reminder_sent_at.is_(None))
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed == 1:
                visit = get_visit_by_id(visit_id)
                _notify_employers(visit.company, visit, "reminder", "Rappel : visite dans deux jours")
                audit.record("planning.reminder_queued", company=visit.company, target=visit)
                sent += 1
            db.session.commit()
    return sent


def get_visit_by_id(visit_id: int) -> Visit:
    return db.session.execute(
        select(Visit)
        .options(
            joinedload(Visit.employee),
            joinedload(Visit.company),
            joinedload(Visit.slot).joinedload(Slot.centre),
            joinedload(Visit.slot).joinedload(Slot.professional),
        )
        .where(Visit.id == visit_id)
    ).scalar_one()


# --------------------------------------------------------------------------- slot import


@dataclass
class SlotImportResult:
    created: int = 0
    existing: int = 0
    centres_created: list[str] = field(default_factory=list)
    professionals_created: list[str] = field(default_factory=list)


class SlotImportError(PlanningError):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def _parse_start(value: str) -> datetime | None:
    value = value.strip()
    parsed = None
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M"):
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            pass
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not is_plausible_date(parsed.date()):
        return None  # no arithmetic on year 9999 (docs/ROBUSTNESS.md)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PARIS)
    return parsed.astimezone(UTC)


def professional_kind_for(name: str) -> str:
    """Kind of a professional created by the import: "Dr ..." is a doctor, anyone else a nurse."""
    lowered = name.lower()
    return "medecin" if lowered.startswith(("dr ", "dr.", "docteur")) else "infirmier"


def import_slots(text: str, actor_label: str = "cli") -> SlotImportResult:
    """Check the whole file, then create what is new; nothing is written when a line is wrong.
    The same professional at the same start is the same slot (re-importing changes nothing).
    Unknown centres and professionals are created by name (centre address left empty: set it
    with `flask slots centre add`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text), delimiter=";")
    rows = list(reader)
    errors: list[str] = []
    if not rows:
        raise SlotImportError(["Le fichier est vide."])
    header = [h.strip().lower() for h in rows[0]]
    if header != SLOT_CSV_COLUMNS:
        raise SlotImportError([f"Ligne 1 : en-tête attendu « {';'.join(SLOT_CSV_COLUMNS)} »."])
    if len(rows) - 1 > MAX_SLOT_ROWS:
        raise SlotImportError([f"Le fichier dépasse {MAX_SLOT_ROWS} lignes."])
    codes = {c for c in db.session.execute(select(Company.code)).scalars()}
    parsed = []
    seen: set[tuple[str, datetime]] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(SLOT_CSV_COLUMNS):
            errors.append(f"Ligne {number} : {len(SLOT_CSV_COLUMNS)} colonnes attendues, {len(row)} trouvées.")
            continue
        start_raw, duration_raw, centre, professional, code = (cell.strip() for cell in row)
        start = _parse_start(start_raw)
        if start is None:
            errors.append(f"Ligne {number} : date de début « {start_raw[:30]} » invalide (JJ/MM/AAAA HH:MM).")
        if not duration_raw.isdecimal() or not 5 <= int(duration_raw) <= 480:
            errors.append(f"Ligne {number} : durée « {duration_raw[:10]} » invalide (minutes, de 5 à 480).")
        if not centre or len(centre) > 120:
            errors.append(f"Ligne {number} : nom du centre manquant ou trop long (120 caractères au plus).")
        if not professional or len(professional) > 120:
            errors.append(f"Ligne {number} : nom du professionnel manquant ou trop long (120 caractères au plus).")
        if code and code not in codes:
            errors.append(f"Ligne {number} : code adhérent « {code[:10]} » inconnu.")
        if start is not None and professional:
            if (professional, start) in seen:
                errors.append(f"Ligne {number} : créneau en double dans le fichier ({professional}, {start_raw}).")
            seen.add((professional, start))
        parsed.append((start, duration_raw, centre, professional, code))
    if errors:
        raise SlotImportError(errors)

    result = SlotImportResult()
    centres = {c.name: c for c in db.session.execute(select(Centre)).scalars()}
    professionals = {p.name: p for p in db.session.execute(select(Professional)).scalars()}
    company_ids = dict(db.session.execute(select(Company.code, Company.id)).all())
    existing = {(pid, start) for pid, start in db.session.execute(select(Slot.professional_id, Slot.starts_at)).all()}
    for start, duration, centre_name, professional_name, code in parsed:
        centre = centres.get(centre_name)
        if centre is None:
            centre = centres[centre_name] = Centre(name=centre_name, address="")
            db.session.add(centre)
            result.centres_created.append(centre_name)
        professional = professionals.get(professional_name)
        if professional is None:
            professional = Professional(name=professional_name, kind=professional_kind_for(professional_name))
            professionals[professional_name] = professional
            db.session.add(professional)
            result.professionals_created.append(professional_name)
        db.session.flush()
        if (professional.id, start) in existing:
            result.existing += 1
            continue
        db.session.add(
            Slot(
                starts_at=start,
                duration_minutes=int(duration),
                centre_id=centre.id,
                professional_id=professional.id,
                reserved_company_id=company_ids[code] if code else None,
            )
        )
        existing.add((professional.id, start))
        result.created += 1
    db.session.flush()
    audit.record("planning.slots_imported", actor_label=actor_label, created=result.created, existing=result.existing)
    return result


def save_centre(
    name: str,
    address: str,
    postal_code: str | None,
    city: str | None,
    access_notes: str | None,
    actor_label: str = "cli",
) -> Centre:
    centre = db.session.execute(select(Centre).where(Centre.name == name)).scalar_one_or_none()
    if centre is None:
        centre = Centre(name=name, address=address)
        db.session.add(centre)
    centre.address = address
    centre.postal_code = postal_code
    centre.city = city
    centre.access_notes = access_notes
    db.session.flush()
    audit.record("planning.centre_saved", actor_label=actor_label, target=centre)
    return centre
