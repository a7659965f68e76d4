"""The service's convocation list: employees of every member whose next visit is due or late,
and calling them in (slots proposed to the employer, or a direct convocation).

The list reads the stored next due visit (employees.next_due_*, kept by services.employees.next_due)
through ix_employees_next_due, in date order, stopped at LIMIT: three queries whatever the
number of employees (docs/PERFORMANCE.md). Its total is counted up to COUNT_CAP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, func, literal, or_, select

from extensions import db
from models.companies import Company
from models.employees import CATEGORY_LABELS, Employee
from models.planning import (
    ACTIVE_VISIT_STATUSES,
    VISIT_TYPES,
    AppointmentRequest,
    Centre,
    Professional,
    Slot,
    Visit,
)
from services.core import audit
from services.employees import follow_up
from services.planning import appointment_requests, common, reading
from services.staff.team_and_members import Page

PER_PAGE = 25
COUNT_CAP = 1000
MAX_SELECTED = 50
HIRE_REASON = "embauche"

# Kinds of due visit, as the list's filter shows them: (label, SQL condition on the stored columns).
GROUPS = {
    "sir_initial": "Examen d'aptitude avant affectation (SIR, R4624-24)",
    "vip_initial": "Visite d'information et de prévention initiale (R4624-10, R4624-18)",
    "renouvellement": "Renouvellements (VIP, visite intermédiaire, examen d'aptitude)",
    "reprise": "Visite de reprise (R4624-31)",
    "post_exposition": "Visite post-exposition (L4624-2-1)",
    "mi_carriere": "Visite de mi-carrière (L4624-2-2)",
}


def _group_condition(group: str):
    kind, article = Employee.next_due_kind, Employee.next_due_article
    return {
        "sir_initial": and_(kind == "examen_sir", article == "R4624-24"),
        "vip_initial": kind == "vip_embauche",
        "renouvellement": or_(
            kind.in_(("vip_periodique", "intermediaire_sir")), and_(kind == "examen_sir", article != "R4624-24")
        ),
        "reprise": kind == "reprise",
        "post_exposition": kind == "post_exposition",
        "mi_carriere": kind == "mi_carriere",
    }[group]


# Visits only a doctor holds (the aptitude exam R4624-24/-25, reprise R4624-31, pré-reprise
# R4624-29); the others may be a nurse's under the doctor's protocol (R4624-28, R4624-10).
DOCTOR_ONLY = {"examen_sir", "reprise", "pre_reprise"}


def professional_kinds_for(visit_type: str) -> tuple[str, ...]:
    """The professional kinds that may hold a visit type (the rules' own answer when they give one)."""
    rule = getattr(follow_up, "allowed_professional_kinds", None)
    if rule is not None:
        return tuple(rule(visit_type))
    return ("medecin",) if visit_type in DOCTOR_ONLY else ("medecin", "infirmier")


class ConvocationError(ValueError):
    """A refused convocation; French message, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- the list


@dataclass
class Filters:
    group: str = ""
    due_from: date | None = None
    due_to: date | None = None
    centre_id: int | None = None
    member_code: str = ""
    page: int = 1


@dataclass(slots=True, frozen=True)
class DueRow:
    employee_id: int
    name: str
    category: str
    due_date: date
    kind: str
    article: str | None
    company_id: int
    company_code: str
    company_name: str
    pending_request: bool
    badge: str

    @property
    def kind_label(self) -> str:
        return VISIT_TYPES.get(self.kind, self.kind)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def badge_class(self) -> str:
        return follow_up.BADGE_CLASSES.get(self.badge, "badge--info")


class DuePage(Page):
    """A page of the list; `total` is counted up to COUNT_CAP + 1."""

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // self.per_page))


def _not_booked():
    return ~exists().where(
        Visit.employee_id == Employee.id,
        Visit.status.in_(bindparam("active", list(ACTIVE_VISIT_STATUSES), expanding=True, literal_execute=True)),
    )


@lru_cache(maxsize=64)
def _statement(group: str, since: bool, centre: bool, member: bool):
    """The list's conditions, built once per shape (every value a bound parameter)."""
    query = (
        select(Employee.id)
        .join(Company, Company.id == Employee.company_id)
        .where(
            Employee.next_due_date.is_not(None),
            Employee.next_due_date <= bindparam("until"),
            or_(
                Employee.exit_date.is_(None),
                Employee.exit_date >= bindparam("today"),
                Employee.next_due_kind == literal("post_exposition", literal_execute=True),
            ),
            Company.active.is_(True),
            _not_booked(),
        )
    )
    if group:
        query = query.where(_group_condition(group))
    if since:
        query = query.where(Employee.next_due_date >= bindparam("since"))
    if centre:
        query = query.where(func.substr(Company.postal_code, 1, 2) == bindparam("department"))
    if member:
        parent = select(Company.id).where(Company.code == bindparam("code")).scalar_subquery()
        query = query.where(or_(Company.id == parent, Company.parent_id == parent))
    return query


@lru_cache(maxsize=64)
def _page_statement(group: str, since: bool, centre: bool, member: bool):
    ids = _statement(group, since, centre, member)
    pending = exists().where(
        AppointmentRequest.employee_id == Employee.id, AppointmentRequest.status == literal("en_attente")
    )
    return (
        ids.with_only_columns(
            Employee.id,
            Employee.birth_name,
            Employee.usage_name,
            Employee.first_names,
            Employee.category,
            Employee.next_due_date,
            Employee.next_due_kind,
            Employee.next_due_article,
            Company.id,
            Company.code,
            Company.name,
            pending.label("pending"),
            maintain_column_froms=True,
        )
        .order_by(Employee.next_due_date, Employee.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@lru_cache(maxsize=64)
def _count_statement(group: str, since: bool, centre: bool, member: bool):
    capped = _statement(group, since, centre, member).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(capped)


def department_of(centre_id: int | None) -> str | None:
    if not centre_id:
        return None
    postal = db.session.execute(select(Centre.postal_code).where(Centre.id == centre_id)).scalar_one_or_none()
    return (postal or "")[:2] or None


def due_list(filters: Filters, today: date, department: str | None = None) -> DuePage:
    """A page of employees due (by due date, then id) and their capped count: two queries."""
    shape = (filters.group, filters.due_from is not None, department is not None, bool(filters.member_code))
    params = {
        "until": filters.due_to or today + timedelta(days=follow_up.PLANNING_WINDOW_DAYS),
        "today": today,
        "since": filters.due_from,
        "department": department,
        "code": filters.member_code or None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    conn = db.session.connection()
    total = conn.execute(_count_statement(*shape), params).scalar_one()
    page = max(1, min(filters.page, -(-COUNT_CAP // PER_PAGE)))
    rows = conn.execute(_page_statement(*shape), {**params, "limit": PER_PAGE, "offset": (page - 1) * PER_PAGE})
    items = []
    for r in rows:
        due = r[5] if isinstance(r[5], date) else date.fromisoformat(str(r[5])[:10])
        name = f"{(r[2] or r[1]).upper()} {r[3]}"
        badge = follow_up.visit_status_badge(due, today)
        items.append(DueRow(r[0], name, r[4], due, r[6], r[7], r[8], r[9], r[10], bool(r[11]), badge))
    return DuePage(items, total, page, PER_PAGE)


def centre_choices() -> list[tuple[int, str]]:
    return reading.centre_choices()


# --------------------------------------------------------------------------- calling in


@dataclass
class Placement:
    employee: Employee
    company: Company
    slot: Slot
    visit_type: str


def _due_employees(employee_ids: list[int]) -> list[Employee]:
    rows = list(
        db.session.execute(
            select(Employee)
            .join(Company, Company.id == Employee.company_id)
            .where(Employee.id.in_(employee_ids), Company.active.is_(True))
            .order_by(Employee.next_due_date, Employee.id)
        ).scalars()
    )
    return rows


def _booked_ids(employee_ids: list[int]) -> set[int]:
    return set(
        db.session.execute(
            select(Visit.employee_id).where(
                Visit.employee_id.in_(employee_ids), Visit.status.in_(ACTIVE_VISIT_STATUSES)
            )
        ).scalars()
    )


def _candidate_slots(centre_id: int, start: datetime, limit: int) -> list[Slot]:
    return list(
        db.session.execute(
            select(Slot)
            .join(Professional, Professional.id == Slot.professional_id)
            .where(Slot.centre_id == centre_id, Slot.starts_at >= start, common.slot_is_free())
            .order_by(Slot.starts_at, Slot.id)
            .limit(limit)
        ).scalars()
    )


def plan(employee_ids: list[int], centre_id: int | None, first_day: date, now: datetime) -> list[Placement]:
    """The earliest free slots of the centre from `first_day` for the selected employees (one
    each, in due order), open to each one's company and held by a professional allowed for
    its visit. Refused as a whole when one of them cannot be placed: nothing is written."""
    ids = sorted({i for i in employee_ids if isinstance(i, int) and i > 0})
    if not ids:
        raise ConvocationError("Cochez au moins un salarié à convoquer.", "salarie")
    if len(ids) > MAX_SELECTED:
        raise ConvocationError(f"Cochez {MAX_SELECTED} salariés au plus à la fois.", "salarie")
    if not centre_id or db.session.get(Centre, centre_id) is None:
        raise ConvocationError("Choisissez le centre où proposer les créneaux.", "centre")
    employees = _due_employees(ids)
    if len(employees) != len(ids):
        raise ConvocationError("Un des salariés cochés n'existe plus ou son adhérent est radié.", "salarie")
    booked = _booked_ids(ids)
    if booked:
        names = ", ".join(e.display_name for e in employees if e.id in booked)
        raise ConvocationError(f"Un rendez-vous est déjà prévu pour : {names}.", "salarie")
    start = max(now, datetime.combine(first_day, time(0), common.PARIS).astimezone(UTC))
    slots = _candidate_slots(centre_id, start, 400 + 20 * len(ids))
    companies = {
        c.id: c
        for c in db.session.execute(select(Company).where(Company.id.in_({e.company_id for e in employees}))).scalars()
    }
    taken: set[int] = set()
    placements, missing = [], []
    for employee in employees:
        company = companies[employee.company_id]
        open_ids = {None, company.id, company.parent_id}
        visit_type = employee.next_due_kind or "a_la_demande"
        kinds = professional_kinds_for(visit_type)
        slot = next(
            (
                s
                for s in slots
                if s.id not in taken and s.reserved_company_id in open_ids and s.professional.kind in kinds
            ),
            None,
        )
        if slot is None:
            missing.append(employee.display_name)
            continue
        taken.add(slot.id)
        placements.append(Placement(employee, company, slot, visit_type))
    if missing:
        raise ConvocationError(
            "Pas assez de créneaux libres dans ce centre à partir de cette date pour : "
            + ", ".join(missing)
            + ". Ouvrez des créneaux ou choisissez un autre centre.",
            "centre",
        )
    return placements


def convoke(placements: list[Placement], *, propose: bool, actor, now: datetime) -> list[Visit]:
    """Write the visits: proposed (the employer confirms or asks for another date) or
    confirmed (direct convocation). A pending hire request of the employee is answered."""
    visits = []
    for p in placements:
        visit = Visit(
            company_id=p.employee.company_id,
            employee_id=p.employee.id,
            slot_id=p.slot.id,
            active_slot_id=p.slot.id,
            starts_at=p.slot.starts_at,
            visit_type=p.visit_type,
            status="proposee" if propose else "confirmee",
            proposed_by_service=propose,
            created_by_id=getattr(actor, "id", None),
        )
        db.session.add(visit)
        request = db.session.execute(
            select(AppointmentRequest)
            .where(AppointmentRequest.employee_id == p.employee.id, AppointmentRequest.status == "en_attente")
            .order_by(AppointmentRequest.id)
            .limit(1)
        ).scalar_one_or_none()
        db.session.flush()  # IntegrityError here when the slot was just taken
        if request is not None:
            visit.request_id = request.id
            request.status = "planifiee"
            request.answered_at = now
            request.answered_by_id = getattr(actor, "id", None)
        audit.record(
            "service.employee_convoked",
            actor=actor,
            company=p.company,
            target=visit,
            employee_id=p.employee.id,
            slot_id=p.slot.id,
            mode="proposition" if propose else "convocation",
        )
        visit.employee, visit.slot, visit.company = p.employee, p.slot, p.company
        if propose:
            common.notify_employers(p.company, visit, "proposed", "Rendez-vous proposé par le service")
        else:
            common.notify_employers(p.company, visit, "booked", "Rendez-vous confirmé")
        visits.append(visit)
    db.session.flush()
    return visits


# --------------------------------------------------------------------------- hires


def open_hire_request(employee: Employee, actor) -> AppointmentRequest | None:
    """A hire declared by an employer puts its initial visit (VIP or aptitude exam) in the
    service's request queue by itself (R4624-10, R4624-18, R4624-24). None when nothing is due."""
    if employee.next_due_kind not in ("vip_embauche", "examen_sir"):
        return None
    label = VISIT_TYPES[employee.next_due_kind]
    due = employee.next_due_date
    when = "avant l'affectation au poste" if due and due <= employee.entry_date else f"au plus tard le {due:%d/%m/%Y}"
    request = AppointmentRequest(
        company_id=employee.company_id,
        employee_id=employee.id,
        reason=HIRE_REASON,
        details=f"{label} à prévoir {when} ({employee.next_due_article}), après la déclaration d'embauche.",
        wished_to=due if due and due > employee.entry_date else None,
        status="en_attente",
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(request)
    db.session.flush()
    company = db.session.get(Company, employee.company_id)
    audit.record("planning.request_created", actor=actor, company=company, target=request, reason=HIRE_REASON)
    appointment_requests.queue_service_request_mail(company, request, employee)
    return request
