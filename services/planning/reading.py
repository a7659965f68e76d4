"""Planning read models: the visit list and week, pending requests, free slots, employees due first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.companies import Company
from models.employees import Employee
from models.planning import (
    ACTIVE_VISIT_STATUSES,
    PROFESSIONAL_KINDS,
    VISIT_STATUSES,
    VISIT_TYPES,
    AppointmentRequest,
    Centre,
    Professional,
    RequestLabels,
    Slot,
    Visit,
)
from services.core.search import employee_names_contain, escape_like
from services.core.sql import cached_statement, inline, inline_list
from services.employees import follow_up
from services.planning.common import PARIS, slot_is_free, slot_open_to

# --------------------------------------------------------------------------- loaders


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


def _is_active():
    """`status IN ('proposee', 'confirmee')` with the values written in the SQL (not bound), so
    that SQLite and PostgreSQL match it to the partial index ix_visits_active_company_start."""
    return Visit.status.in_(inline_list("active_statuses", ACTIVE_VISIT_STATUSES))


def _is_proposed():
    """`status = 'proposee'` written in the SQL: the predicate of ix_visits_proposed_company_start."""
    return Visit.status == inline("proposee")


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


@cached_statement
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


@cached_statement
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
