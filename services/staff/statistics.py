"""The service's figures for a year (and a centre): each indicator is one table, drawn as an
SVG chart on the server (pygal: readable without JavaScript) and exported as CSV.

The centre narrows the visits to its slots, and the employees and invoices to the members of
its département (members are not attached to a centre; the convocation list does the same)."""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pygal
from pygal.style import Style
from sqlalchemy import func, or_, select

from extensions import db
from models.companies import Company
from models.employees import CATEGORIES, Employee
from models.planning import VISIT_TYPES, Slot, Visit
from services.core import french
from services.planning.common import PARIS
from services.staff import convocations

# pygal appends a legacy sys.meta_path finder for its map plugins (find_module only, so every
# later import warns); no map is used here, so it is taken out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

DONE = "realisee"
ABSENCES = ("absence_excusee", "absence_non_excusee")
DELAY_BUCKETS = ("Moins d'1 mois", "1 à 3 mois", "3 à 6 mois", "Plus de 6 mois", "Pas encore de visite")
AGE_BUCKETS = ("Non échues", "1 à 30 jours", "31 à 60 jours", "61 à 90 jours", "Plus de 90 jours")


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    chart: str = "bar"  # bar | stacked | line
    note: str = ""

    def series(self) -> tuple[list[str], dict[str, list]]:
        """x labels (first column) and one series per other numeric column."""
        labels = [str(r[0]) for r in self.rows]
        return labels, {name: [r[i] for r in self.rows] for i, name in enumerate(self.columns[1:], start=1)}


def _bounds(year: int) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date(year, 1, 1), time(0), PARIS).astimezone(UTC),
        datetime.combine(date(year + 1, 1, 1), time(0), PARIS).astimezone(UTC),
    )


def _month_names() -> list[str]:
    return [name.capitalize() for name in french.MONTHS]


def _company_filter(department: str | None):
    if not department:
        return None
    return select(Company.id).where(func.substr(Company.postal_code, 1, 2) == department)


def _visit_rows(year: int, centre_id: int | None, statuses) -> list[tuple]:
    start, end = _bounds(year)
    stmt = select(Visit.starts_at, Visit.visit_type, Visit.status).where(
        Visit.starts_at >= start, Visit.starts_at < end, Visit.status.in_(statuses)
    )
    if centre_id:
        stmt = stmt.join(Slot, Slot.id == Visit.slot_id).where(Slot.centre_id == centre_id)
    return list(db.session.execute(stmt))


def visits_done(year: int, centre_id: int | None) -> Table:
    rows = _visit_rows(year, centre_id, (DONE,))
    kinds = sorted({r[1] for r in rows}, key=lambda k: list(VISIT_TYPES).index(k) if k in VISIT_TYPES else 99)
    counts = Counter((r[0].astimezone(PARIS).month, r[1]) for r in rows)
    table = Table(
        "visites",
        "Visites réalisées par mois et par type",
        ["Mois", *(VISIT_TYPES.get(k, k) for k in kinds), "Total"],
        chart="stacked",
    )
    for month, name in enumerate(_month_names(), start=1):
        values = [counts[(month, k)] for k in kinds]
        table.rows.append([name, *values, sum(values)])
    return table


def no_show_rate(year: int, centre_id: int | None) -> Table:
    rows = _visit_rows(year, centre_id, (DONE, *ABSENCES))
    table = Table(
        "absences",
        "Taux d'absence par mois",
        ["Mois", "Visites tenues ou manquées", "Absences non excusées", "Taux (%)"],
        chart="line",
        note="Absences non excusées rapportées aux visites réalisées et aux absences.",
    )
    per_month = Counter(r[0].astimezone(PARIS).month for r in rows)
    missed = Counter(r[0].astimezone(PARIS).month for r in rows if r[2] == "absence_non_excusee")
    for month, name in enumerate(_month_names(), start=1):
        total = per_month[month]
        rate = round(100 * missed[month] / total, 1) if total else 0.0
        table.rows.append([name, total, missed[month], rate])
    return table


def hire_delay(year: int, department: str | None) -> Table:
    """Employees hired in the year, by delay between the entry and their first visit done."""
    first_visit = (
        select(Visit.employee_id, func.min(Visit.starts_at).label("first"))
        .where(Visit.status == DONE)
        .group_by(Visit.employee_id)
        .subquery()
    )
    stmt = (
        select(Employee.entry_date, first_visit.c.first)
        .outerjoin(first_visit, first_visit.c.employee_id == Employee.id)
        .where(Employee.entry_date >= date(year, 1, 1), Employee.entry_date < date(year + 1, 1, 1))
    )
    companies = _company_filter(department)
    if companies is not None:
        stmt = stmt.where(Employee.company_id.in_(companies))
    buckets = Counter()
    for entry, first in db.session.execute(stmt):
        if first is None:
            buckets[DELAY_BUCKETS[4]] += 1
            continue
        if isinstance(first, str):
            first = datetime.fromisoformat(first)
        if first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        days = (first.astimezone(PARIS).date() - entry).days
        index = 0 if days < 31 else 1 if days < 92 else 2 if days < 183 else 3
        buckets[DELAY_BUCKETS[index]] += 1
    table = Table(
        "delai",
        "Délai entre l'embauche et la première visite",
        ["Délai", "Salariés embauchés dans l'année"],
        note="La VIP a lieu dans les 3 mois suivant l'embauche (R4624-10), avant l'affectation pour les SIR.",
    )
    table.rows = [[label, buckets[label]] for label in DELAY_BUCKETS]
    return table


def headcount(year: int, department: str | None) -> Table:
    """Employees present on 31 December of the year (or today for the current year), by category."""
    day = min(date(year, 12, 31), date.today())
    stmt = (
        select(Employee.category, func.count())
        .where(Employee.entry_date <= day, or_(Employee.exit_date.is_(None), Employee.exit_date >= day))
        .group_by(Employee.category)
    )
    companies = _company_filter(department)
    if companies is not None:
        stmt = stmt.where(Employee.company_id.in_(companies))
    counts = dict(db.session.execute(stmt).all())
    table = Table(
        "effectifs", f"Effectif suivi au {day:%d/%m/%Y} par catégorie", ["Catégorie", "Salariés"], chart="bar"
    )
    table.rows = [[category, counts.get(category, 0)] for category in CATEGORIES]
    return table


def aged_receivables(year: int, department: str | None) -> Table:
    """What remains due on the year's invoices, by days past the due date (today)."""
    from models.billing import CREDIT_NOTE, Invoice, Payment

    paid = select(Payment.invoice_id, func.sum(Payment.amount).label("paid")).group_by(Payment.invoice_id).subquery()
    stmt = (
        select(Invoice.due_date, Invoice.total_ttc - func.coalesce(paid.c.paid, 0))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.year == year, Invoice.kind != CREDIT_NOTE)
    )
    companies = _company_filter(department)
    if companies is not None:
        stmt = stmt.where(Invoice.company_id.in_(companies))
    today = date.today()
    amounts = Counter()
    counts = Counter()
    for due_date, due in db.session.execute(stmt):
        if due is None or due <= 0:
            continue
        late = (today - due_date).days
        index = 0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        amounts[AGE_BUCKETS[index]] += due
        counts[AGE_BUCKETS[index]] += 1
    table = Table(
        "impayes",
        "Créances par ancienneté (TTC)",
        ["Ancienneté", "Montant dû (€)", "Factures"],
        note="Reste dû des factures de l'année, selon les jours écoulés depuis l'échéance.",
    )
    table.rows = [[label, float(round(amounts[label], 2)), counts[label]] for label in AGE_BUCKETS]
    return table


def indicators(year: int, centre_id: int | None) -> list[Table]:
    department = convocations.department_of(centre_id)
    return [
        visits_done(year, centre_id),
        no_show_rate(year, centre_id),
        hire_delay(year, department),
        headcount(year, department),
        aged_receivables(year, department),
    ]


def indicator(key: str, year: int, centre_id: int | None) -> Table | None:
    department = convocations.department_of(centre_id)
    builders = {
        "visites": lambda: visits_done(year, centre_id),
        "absences": lambda: no_show_rate(year, centre_id),
        "delai": lambda: hire_delay(year, department),
        "effectifs": lambda: headcount(year, department),
        "impayes": lambda: aged_receivables(year, department),
    }
    return builders[key]() if key in builders else None


def svg(table: Table) -> bytes:
    """The chart of a table, as a standalone SVG (no script: readable without JavaScript)."""
    style = Style(background="white", plot_background="white", font_family="DejaVu Sans, sans-serif")
    chart_class = {"stacked": pygal.StackedBar, "line": pygal.Line}.get(table.chart, pygal.Bar)
    chart = chart_class(
        title=table.title,
        style=style,
        js=[],
        width=800,
        height=360,
        legend_at_bottom=True,
        show_legend=len(table.columns) > 2,
        print_values=False,
        x_label_rotation=30 if len(table.rows) > 6 else 0,
    )
    labels, series = table.series()
    chart.x_labels = labels
    names = list(series)
    if table.key == "visites":
        names = names[:-1]  # the total is the stack itself
    if table.key == "absences":
        names = [names[-1]]  # the rate
    if table.key == "impayes":
        names = [names[0]]
    for name in names:
        chart.add(name, series[name])
    # pygal writes its configuration in a <script> even without JS files: an image needs none.
    return re.sub(rb"<script.*?</script>", b"", chart.render(), flags=re.S)


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return "\ufeff" + buffer.getvalue()
