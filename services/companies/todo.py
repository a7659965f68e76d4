"""The member home's "À faire": what the company should do next, each item with its count and
the page that handles it. A fixed number of queries whatever the size of the company.

The visits due come from `visits_due_counts`, the one place that reads the follow-up rules
today; it can be switched to a stored next-due column without touching the rest."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists, func, or_, select

from extensions import db
from models.companies import Company
from models.employees import Employee
from models.planning import ACTIVE_VISIT_STATUSES, AppointmentRequest, Visit
from services import billing, scope
from services.companies.access import has_right
from services.core.clock import PARIS
from services.planning import reading

ANSWERED_REQUESTS_DAYS = 30


@dataclass
class TodoItem:
    key: str
    count: int
    label: str  # a French sentence with its count: "2 visites en retard"
    endpoint: str
    args: dict = field(default_factory=dict)
    urgent: bool = False


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def visits_due_counts(scope_ids: list[int], today: date) -> tuple[int, int]:
    """(late, due by the end of this month) among present employees with no visit planned.

    Read from the stored next due visit (`employees.next_due_date`, kept after every flush by
    services.employees.next_due) in one statement: applying the follow-up rules in Python to a
    company's 5,000 employees at every home page took 4.8 s a request at scale 1.0
    (docs/PERFORMANCE.md)."""
    end_of_month = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    planned = exists().where(
        Visit.employee_id == Employee.id,
        Visit.status.in_(ACTIVE_VISIT_STATUSES),
        Visit.starts_at >= datetime.combine(today, time.min, tzinfo=PARIS),
    )
    late, due = db.session.execute(
        select(
            func.count().filter(Employee.next_due_date < today),
            func.count().filter(Employee.next_due_date.between(today, end_of_month)),
        ).where(
            Employee.company_id.in_(scope_ids),
            Employee.next_due_date <= end_of_month,  # the planned-visit probe only for those
            or_(Employee.exit_date.is_(None), Employee.exit_date >= today),
            ~planned,
        )
    ).one()
    return late or 0, due or 0


def _answered_requests(scope_ids: list[int], now: datetime) -> int:
    since = now - timedelta(days=ANSWERED_REQUESTS_DAYS)
    return db.session.execute(
        select(func.count(AppointmentRequest.id)).where(
            AppointmentRequest.company_id.in_(scope_ids),
            AppointmentRequest.status.in_(("planifiee", "refusee")),
            AppointmentRequest.answered_at >= since,
        )
    ).scalar_one()


def company_todo(company: Company, membership, today: date, now: datetime) -> list[TodoItem]:
    """The items the membership's rights allow, with a count above zero, most urgent first."""
    scope_ids = scope.company_ids(company)
    items: list[TodoItem] = []
    code = {"code": company.code}
    if has_right(membership, "employees") or has_right(membership, "planning"):
        late, due = visits_due_counts(scope_ids, today)
        target = ("employees.index", {**code, "a_prevoir": "1", "tri": "visite"})
        if not has_right(membership, "employees"):
            target = ("planning.slots", code)
        if late:
            items.append(
                TodoItem("late", late, _plural(late, "visite en retard", "visites en retard"), *target, urgent=True)
            )
        if due:
            label = _plural(due, "visite à prévoir ce mois-ci", "visites à prévoir ce mois-ci")
            items.append(TodoItem("due", due, label, *target))
    if has_right(membership, "planning"):
        proposals = len(reading.proposal_rows(scope_ids, now))
        if proposals:
            label = _plural(proposals, "rendez-vous proposé à confirmer", "rendez-vous proposés à confirmer")
            items.append(TodoItem("proposals", proposals, label, "planning.index", code, urgent=True))
        answered = _answered_requests(scope_ids, now)
        if answered:
            label = _plural(
                answered,
                "demande de rendez-vous traitée par le service",
                "demandes de rendez-vous traitées par le service",
            )
            items.append(TodoItem("answered", answered, label, "planning.index", code))
    if has_right(membership, "declaration") or has_right(membership, "invoices"):
        status = billing.billing_status([company.id], today)[company.id]
        if status["declaration_due"] and has_right(membership, "declaration"):
            label = "Déclaration annuelle des effectifs à faire"
            items.append(TodoItem("declaration", 1, label, "billing.cotisation", code, urgent=True))
        if status["amount_due"] > 0 and has_right(membership, "invoices"):
            label = f"Factures à régler : {billing.format_eur(status['amount_due'])}"
            items.append(TodoItem("invoices", 1, label, "billing.documents", code))
    items.sort(key=lambda item: not item.urgent)
    return items
