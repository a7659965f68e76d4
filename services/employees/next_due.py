"""The stored next due visit of each employee: date, kind and article, kept by one function.

`employees.next_due_date / next_due_kind / next_due_article` hold what services.employees.follow_up says
is the employee's next visit (the rules are computed there only: this module maps rows to its
facts and stores the answer). They exist so that lists across many employees (the service's
convocation list, the employers' "Prochaine visite" sort) read an index instead of running the
rules in Python for every employee (docs/PERFORMANCE.md, docs/SERVICE.md).

One function computes them, `refresh(employee_ids)`. It is called:
- by a session hook (`install`), after every flush that adds, changes or deletes an employee
  (the facts the rules read) or a visit (a visit done restarts the clock): every write path of
  the portal (employee service, imports, booking, outcome, cancellation, declarations, demo...)
  goes through the ORM, so none can forget it;
- by `flask --app app follow-up verify [--fix]`, which recomputes every employee and reports
  (or corrects) any difference: run it daily, since the rules depend on the day (an employee
  whose exit date passed, a hire whose assignment date arrived);
- by the migration 0017 and bench/generate.py, which write rows without the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, attributes

from services.employees import follow_up

PARIS = ZoneInfo("Europe/Paris")
BATCH = 2000
DONE_STATUS = "realisee"

# The employee facts the rules read: a change to any of them recomputes the next due visit.
FACT_COLUMNS = ("birth_date", "entry_date", "category", "apprentice", "night_work", "exit_date", "risks", "rqth")

# Lightweight tables (not the ORM models): the migration and the bench writer use these
# functions on a bare connection, whatever columns later revisions add.
_employees = sa.table(
    "employees",
    sa.column("id", sa.Integer),
    sa.column("birth_date", sa.Date),
    sa.column("entry_date", sa.Date),
    sa.column("category", sa.String),
    sa.column("apprentice", sa.Boolean),
    sa.column("night_work", sa.Boolean),
    sa.column("rqth", sa.Boolean),
    sa.column("exit_date", sa.Date),
    sa.column("next_due_date", sa.Date),
    sa.column("next_due_kind", sa.String),
    sa.column("next_due_article", sa.String),
)
_visits = sa.table(
    "visits",
    sa.column("employee_id", sa.Integer),
    sa.column("starts_at", sa.DateTime(timezone=True)),
    sa.column("visit_type", sa.String),
    sa.column("status", sa.String),
)


def today() -> date:
    return datetime.now(PARIS).date()


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True, slots=True)
class NextDue:
    """What is stored: the due date (a visit due "before assignment" is due at the entry
    date), the planning visit type to book (models.planning.VISIT_TYPES) and its article."""

    date: date | None
    kind: str | None
    article: str | None

    def as_tuple(self) -> tuple:
        return (self.date, self.kind, self.article)


NOTHING_DUE = NextDue(None, None, None)


def article_of(due: follow_up.DueVisit, facts: follow_up.FollowUpFacts, has_done_periodic: bool) -> str:
    """The article of the Code du travail a due visit rests on (the rules' own when they give one)."""
    own = getattr(due, "article", None)
    if own:
        return own
    if due.type == follow_up.APTITUDE:
        return "R4624-25" if has_done_periodic and due.due != follow_up.BEFORE_ASSIGNMENT else "R4624-24"
    if due.type == follow_up.INTERMEDIATE:
        return "R4624-28"
    if due.type == follow_up.MID_CAREER:
        return "L4624-2-2"
    if due.type == follow_up.POST_EXPOSURE:
        return "L4624-2-1"
    if due.type == "reprise":
        return "R4624-31"
    if due.type == follow_up.VIP:
        if has_done_periodic:
            return "R4624-17" if facts.category == follow_up.SIA else "R4624-16"
        if due.due == follow_up.BEFORE_ASSIGNMENT or facts.night_work:
            return "R4624-18"
        return "R4624-10"
    return "L4624-1"


def compute(facts: follow_up.FollowUpFacts, done: list[follow_up.PastVisit], day: date) -> NextDue:
    """The stored answer for one employee, from services.follow_up.next_visit_due."""
    due = follow_up.next_visit_due(facts, done, day)
    if due.due is None:
        return NOTHING_DUE
    due_date = facts.entry_date if due.due == follow_up.BEFORE_ASSIGNMENT else due.due
    periodic = any(v.type in follow_up.PERIODIC_TYPES for v in done)
    kind = follow_up.planning_visit_type(due.type, periodic)
    return NextDue(due_date, kind, article_of(due, facts, periodic))


class _Row:
    """An employees row for follow_up.facts_of: the columns read here, None for any other."""

    def __init__(self, mapping):
        self.__dict__.update(mapping)

    def __getattr__(self, name):
        return None


def _done_visits(conn, ids: list[int]) -> dict[int, list[follow_up.PastVisit]]:
    done: dict[int, list[follow_up.PastVisit]] = {}
    rows = conn.execute(
        sa.select(_visits.c.employee_id, _visits.c.starts_at, _visits.c.visit_type).where(
            _visits.c.employee_id.in_(ids), _visits.c.status == DONE_STATUS
        )
    )
    for employee_id, starts_at, kind in rows:
        if starts_at is None:
            continue
        if isinstance(starts_at, str):  # a bare SQLite connection (migration) returns text
            starts_at = datetime.fromisoformat(starts_at)
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=ZoneInfo("UTC"))
        done.setdefault(employee_id, []).append(
            follow_up.PastVisit(starts_at.astimezone(PARIS).date(), follow_up.RULE_TYPES.get(kind, kind))
        )
    return done


def _as_date(value):
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _computed_batch(conn, rows, day: date) -> Iterator[tuple[int, NextDue, tuple]]:
    """(id, computed, stored) for a batch of employees rows (mappings)."""
    done = _done_visits(conn, [r["id"] for r in rows])
    for r in rows:
        values = dict(r)
        for name in ("birth_date", "entry_date", "exit_date", "next_due_date"):
            values[name] = _as_date(values.get(name))
        facts = follow_up.facts_of(_Row(values))
        stored = (values["next_due_date"], values["next_due_kind"], values["next_due_article"])
        yield r["id"], compute(facts, done.get(r["id"], []), day), stored


def _batches(conn, employee_ids: Iterable[int] | None) -> Iterator[list]:
    columns = [c for c in _employees.c]
    if employee_ids is not None:
        ids = sorted(set(employee_ids))
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            yield list(conn.execute(sa.select(*columns).where(_employees.c.id.in_(chunk))).mappings())
        return
    last = 0
    while True:
        rows = list(
            conn.execute(
                sa.select(*columns).where(_employees.c.id > last).order_by(_employees.c.id).limit(BATCH)
            ).mappings()
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


_UPDATE = (
    sa.update(_employees)
    .where(_employees.c.id == sa.bindparam("eid"))
    .values(
        next_due_date=sa.bindparam("d"),
        next_due_kind=sa.bindparam("k"),
        next_due_article=sa.bindparam("a"),
    )
)


@dataclass
class Report:
    checked: int = 0
    differences: int = 0
    fixed: int = 0
    examples: list = None

    def __post_init__(self):
        if self.examples is None:
            self.examples = []


def recompute(conn, employee_ids: Iterable[int] | None = None, *, day: date | None = None, fix: bool = True) -> Report:
    """Recompute the next due visit of `employee_ids` (None: every employee) on `conn`, write
    the ones that differ when `fix`, and report them. Two reads and one write per batch."""
    day = day or today()
    report = Report()
    for rows in _batches(conn, employee_ids):
        changed = []
        for eid, computed, stored in _computed_batch(conn, rows, day):
            report.checked += 1
            if computed.as_tuple() != stored:
                report.differences += 1
                if len(report.examples) < 20:
                    report.examples.append((eid, stored, computed.as_tuple()))
                changed.append({"eid": eid, "d": computed.date, "k": computed.kind, "a": computed.article})
        if fix and changed:
            conn.execute(_UPDATE, changed)
            report.fixed += len(changed)
    return report


def refresh(employee_ids: Iterable[int], session=None) -> int:
    """Bring the stored next due visit of these employees up to date (the one function every
    write path reaches, through the session hook). Returns how many rows changed."""
    from extensions import db

    session = session or db.session
    ids = [i for i in set(employee_ids) if i is not None]
    if not ids:
        return 0
    report = recompute(session.connection(), ids)
    if report.fixed:
        _sync_identity_map(session, ids)
    return report.fixed


def _sync_identity_map(session, ids: list[int]) -> None:
    """Employees loaded in the session get the stored values without being marked dirty."""
    from models.employees import Employee

    loaded = [session.identity_map.get(session.identity_key(Employee, i)) for i in ids]
    loaded = [e for e in loaded if e is not None]
    if not loaded:
        return
    values = {
        r[0]: r[1:]
        for r in session.connection().execute(
            sa.select(
                _employees.c.id, _employees.c.next_due_date, _employees.c.next_due_kind, _employees.c.next_due_article
            ).where(_employees.c.id.in_([e.id for e in loaded]))
        )
    }
    for employee in loaded:
        d, k, a = values.get(employee.id, (None, None, None))
        attributes.set_committed_value(employee, "next_due_date", _as_date(d))
        attributes.set_committed_value(employee, "next_due_kind", k)
        attributes.set_committed_value(employee, "next_due_article", a)


# --------------------------------------------------------------------------- the session hook

_PENDING = "next_due_pending"


def _collect(session, _flush_context, _instances) -> None:
    from models.employees import Employee
    from models.planning import Visit

    pending = session.info.setdefault(_PENDING, {"ids": set(), "new": []})
    for obj in session.new:
        if isinstance(obj, (Employee, Visit)):
            pending["new"].append(obj)
    for obj in session.dirty:
        if isinstance(obj, Employee):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in FACT_COLUMNS):
                pending["ids"].add(obj.id)
        elif isinstance(obj, Visit):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in ("status", "starts_at", "visit_type")):
                pending["ids"].add(obj.employee_id)
                previous = state.attrs["employee_id"].history.deleted
                pending["ids"].update(i for i in previous if i)
    for obj in session.deleted:
        if isinstance(obj, Visit):
            pending["ids"].add(obj.employee_id)


def _apply(session, _flush_context) -> None:
    from models.employees import Employee

    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    ids = set(pending["ids"])
    for obj in pending["new"]:
        ids.add(obj.id if isinstance(obj, Employee) else obj.employee_id)
    if ids:
        refresh(ids, session)


def install() -> None:
    """Hook `refresh` into every ORM flush (idempotent)."""
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
        event.listen(Session, "after_flush_postexec", _apply)
        event.listen(Session, "after_rollback", _forget)


def _forget(session) -> None:
    session.info.pop(_PENDING, None)
