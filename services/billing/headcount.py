"""Who counts: the register rows a declaration counts, by billing category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    or_,
    select,
)

from extensions import db
from models.billing import (
    DEFAULT_EXCLUDED_NATURES,
    MODE_PER_CATEGORY,
    TariffYear,
)
from models.companies import Company
from models.employees import CATEGORIES, CONTRACT_NATURES, Employee
from services.billing.common import APPRENTICE, INTERIM


@dataclass
class Counted:
    employee: Employee  # a ReviewEmployee on the review page
    category: str  # SI | SIA | SIR | APP
    new: bool  # hired in the 12 months up to the reference date


@dataclass
class Excluded:
    employee: Employee  # a ReviewEmployee on the review page
    reason: str


def _year_before(ref: date) -> date:
    try:
        return ref.replace(year=ref.year - 1)
    except ValueError:  # 29 February
        return ref.replace(year=ref.year - 1, day=28)


# Why a contract nature does not count by default: not an employment contract.
NATURE_REASONS = {
    "29": "Stagiaire (convention de stage, pas un contrat de travail)",
    "80": "Mandataire social (pas un contrat de travail)",
}


def excluded_natures(tariff: TariffYear) -> list[str]:
    """The contract natures the year's grid does not count (configuration per year)."""
    natures = tariff.excluded_natures
    return list(DEFAULT_EXCLUDED_NATURES) if natures is None else list(natures)


def exclusion_reason(employee: Employee, tariff: TariffYear, ref_date: date) -> str | None:
    """Why an employee does not count at the reference date, or None when they count."""
    if employee.entry_date > ref_date:
        return "Entré après la date de référence"
    if employee.exit_date is not None and employee.exit_date < ref_date:
        return "Sorti avant la date de référence"
    if tariff.exclude_interim and employee.contract_nature == INTERIM:
        return "Intérimaire (facturé à l'acte)"
    if employee.contract_nature in excluded_natures(tariff):
        return NATURE_REASONS.get(employee.contract_nature) or (
            f"{CONTRACT_NATURES.get(employee.contract_nature, employee.contract_nature)} : non compté cette année"
        )
    if employee.contract_suspended and not tariff.include_suspended:
        return "Contrat suspendu"
    if employee.apprentice and not tariff.include_apprentices:
        return "Apprenti"
    if tariff.min_contract_days:
        end = employee.exit_date or employee.contract_end_date
        if end is not None and (end - employee.entry_date).days + 1 <= tariff.min_contract_days:
            return f"Contrat de {tariff.min_contract_days} jours ou moins"
    return None


def billing_category(employee: Employee, tariff: TariffYear) -> str:
    """Apprentices have their own line when the grid prices them; else their follow-up category."""
    if employee.apprentice and tariff.mode == MODE_PER_CATEGORY and tariff.price_apprentice is not None:
        return APPRENTICE
    return employee.category if employee.category in CATEGORIES else "SI"


def _register_rows(company: Company, ref_date: date) -> list[Employee]:
    """The register rows that matter at `ref_date`: everyone but those gone for over a year."""
    return list(
        db.session.execute(
            select(Employee)
            .where(
                Employee.company_id == company.id,
                or_(Employee.exit_date.is_(None), Employee.exit_date >= _year_before(ref_date)),
            )
            .order_by(Employee.birth_name, Employee.first_names, Employee.id)
        ).scalars()
    )


def classify(
    company: Company, tariff: TariffYear, ref_date: date | None = None
) -> tuple[list[Counted], list[Excluded]]:
    """Split the register into who counts (with their billing category) and who does not (why)."""
    ref_date = ref_date or tariff.reference_date
    since = _year_before(ref_date)
    counted, excluded = [], []
    for employee in _register_rows(company, ref_date):
        reason = exclusion_reason(employee, tariff, ref_date)
        if reason is None:
            counted.append(Counted(employee, billing_category(employee, tariff), employee.entry_date > since))
        else:
            excluded.append(Excluded(employee, reason))
    return counted, excluded


def counted_employees(company: Company, tariff: TariffYear, ref_date: date | None = None) -> list[Counted]:
    """Who counts at the reference date (present, contract long enough, no interim, suspended
    included, apprentices in their own category when the grid has one)."""
    return classify(company, tariff, ref_date)[0]


def count_by_category(counted: list[Counted]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in counted:
        counts[row.category] = counts.get(row.category, 0) + 1
    return counts
