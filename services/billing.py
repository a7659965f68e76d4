"""Cotisation: tariffs, who counts, amounts, confirmed declarations, gapless invoice numbers,
credit notes and complements, payments, and the few register fixes made during a declaration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import aliased, defer, joinedload

from extensions import db
from models.billing import (
    BANDS_FLAT,
    BANDS_PROGRESSIVE,
    COMPLEMENT,
    CREDIT_NOTE,
    DECLARATION_CONFIRMED,
    DECLARATION_SUPERSEDED,
    DOC_CREDIT_NOTE,
    DOC_INVOICE,
    ENTRY_FEE_PER_COMPANY,
    ENTRY_FEE_PER_NEW_EMPLOYEE,
    INVOICE,
    MODE_PER_CATEGORY,
    MODE_SIZE_BANDS,
    PAYMENT_METHODS,
    Declaration,
    Document,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    PendingFee,
    TariffYear,
)
from models.companies import ROLE_EMPLOYER, Company, Membership
from models.employees import CATEGORIES, CONTRACT_NATURES, Employee, EmployeeChange
from models.users import User
from services.core import audit
from services.core.clock import PARIS, today  # noqa: F401 (billing.today: its callers' name)
from services.core.french import format_eur
from services.employees.follow_up import category_refusal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NBSP = "\u00a0"
INTERIM = "03"
APPRENTICE = "APP"
ATTESTATION_TEXT = "J'atteste l'exactitude de cette déclaration"
LINE_LABELS = {
    "SI": "Cotisation – suivi individuel (SI)",
    "SIA": "Cotisation – suivi individuel adapté (SIA)",
    "SIR": "Cotisation – suivi individuel renforcé (SIR)",
    APPRENTICE: "Cotisation – apprentis",
}
COUNT_LABELS = {"SI": "SI", "SIA": "SIA", "SIR": "SIR", APPRENTICE: "Apprentis"}


class BillingError(ValueError):
    """A refused billing operation; the message is French and can be shown to the user."""


class TariffError(BillingError):
    pass


def money(value) -> Decimal:
    """Exact decimal rounded half-up to the cent. Floats go through str() (never binary)."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- tariffs


def _decimal(value, what: str, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise TariffError(f"{what} : valeur obligatoire.")
        return None
    try:
        amount = money(value)
    except (InvalidOperation, ValueError, TypeError):
        raise TariffError(f"{what} : montant invalide ({value!r}).") from None
    if amount < 0:
        raise TariffError(f"{what} : le montant ne peut pas être négatif.")
    return amount


def _date(value, what: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise TariffError(f"{what} : date invalide ({value!r}), format AAAA-MM-JJ attendu.") from None


def _bool(value, what: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TariffError(f"{what} : true ou false attendu.")
    return value


def _int(value, what: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TariffError(f"{what} : entier positif attendu.")
    return value


def _size_bands(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise TariffError("size_bands : liste de tranches attendue.")
    bands = []
    expected = 1
    for i, band in enumerate(sorted(raw, key=lambda b: int(b.get("from", 0)) if isinstance(b, dict) else 0)):
        if not isinstance(band, dict):
            raise TariffError("size_bands : chaque tranche est un objet {from, to, price}.")
        lo, hi = band.get("from"), band.get("to")
        if not isinstance(lo, int) or lo != expected:
            raise TariffError(f"size_bands : la tranche {i + 1} doit commencer à {expected}.")
        if hi is not None and (not isinstance(hi, int) or hi < lo):
            raise TariffError(f"size_bands : fin de tranche invalide ({hi!r}).")
        if hi is None and i != len(raw) - 1:
            raise TariffError("size_bands : seule la dernière tranche peut être ouverte (to = null).")
        price = _decimal(band.get("price"), f"size_bands[{i}].price", required=True)
        bands.append({"from": lo, "to": hi, "price": str(price)})
        expected = (hi or 0) + 1
    if bands[-1]["to"] is not None:
        raise TariffError("size_bands : la dernière tranche doit être ouverte (to = null).")
    return bands


def set_tariff(year: int, data: dict, actor=None) -> TariffYear:
    """Create or replace the grid of `year` from the documented JSON format (docs/BILLING.md)."""
    if not isinstance(data, dict):
        raise TariffError("Objet JSON attendu.")
    mode = data.get("mode", MODE_PER_CATEGORY)
    if mode not in (MODE_PER_CATEGORY, MODE_SIZE_BANDS):
        raise TariffError("mode : per_category ou size_bands.")
    prices = data.get("prices") or {}
    entry = data.get("entry_fee") or {}
    counting = data.get("counting") or {}
    campaign = data.get("campaign") or {}
    values = {
        "mode": mode,
        "price_si": _decimal(prices.get("SI"), "prices.SI", required=mode == MODE_PER_CATEGORY),
        "price_sia": _decimal(prices.get("SIA"), "prices.SIA", required=mode == MODE_PER_CATEGORY),
        "price_sir": _decimal(prices.get("SIR"), "prices.SIR", required=mode == MODE_PER_CATEGORY),
        "price_apprentice": _decimal(prices.get("apprenti"), "prices.apprenti"),
        "size_bands": _size_bands(data.get("size_bands")) if mode == MODE_SIZE_BANDS else None,
        "size_band_method": data.get("size_band_method", BANDS_PROGRESSIVE),
        "entry_fee": _decimal(entry.get("amount"), "entry_fee.amount"),
        "entry_fee_mode": entry.get("mode", ENTRY_FEE_PER_COMPANY),
        "entry_fee_cap": _decimal(entry.get("cap"), "entry_fee.cap"),
        "minimum_amount": _decimal(data.get("minimum"), "minimum"),
        "vat_rate": _decimal(data.get("vat_rate", "20.00"), "vat_rate", required=True),
        "reference_date": _date(data.get("reference_date"), "reference_date"),
        "min_contract_days": _int(counting.get("min_contract_days"), "counting.min_contract_days", 0),
        "exclude_interim": _bool(counting.get("exclude_interim"), "counting.exclude_interim", True),
        "include_suspended": _bool(counting.get("include_suspended"), "counting.include_suspended", True),
        "include_apprentices": _bool(counting.get("include_apprentices"), "counting.include_apprentices", True),
        "campaign_opens_on": _date(campaign.get("opens_on"), "campaign.opens_on"),
        "campaign_closes_on": _date(campaign.get("closes_on"), "campaign.closes_on"),
        "payment_due_days": _int(data.get("payment_due_days"), "payment_due_days", 30),
    }
    if values["size_band_method"] not in (BANDS_FLAT, BANDS_PROGRESSIVE):
        raise TariffError("size_band_method : flat ou progressive.")
    if values["entry_fee_mode"] not in (ENTRY_FEE_PER_COMPANY, ENTRY_FEE_PER_NEW_EMPLOYEE):
        raise TariffError("entry_fee.mode : per_company ou per_new_employee.")
    if values["vat_rate"] > 100:
        raise TariffError("vat_rate : taux en pourcentage (20.00).")
    if values["campaign_closes_on"] < values["campaign_opens_on"]:
        raise TariffError("campaign : la clôture précède l'ouverture.")
    if values["reference_date"] not in (date(year, 1, 1), date(year - 1, 12, 31)):
        raise TariffError(f"reference_date : {year}-01-01 ou {year - 1}-12-31.")
    tariff = tariff_for_year(year)
    if tariff is None:
        tariff = TariffYear(year=year)
        db.session.add(tariff)
    for key, value in values.items():
        setattr(tariff, key, value)
    db.session.flush()
    audit.record("tariff.set", actor=actor, target=tariff, year=year, mode=mode)
    return tariff


def tariff_to_dict(tariff: TariffYear) -> dict:
    """The JSON form of a grid (the format `billing tariff set` reads)."""

    def s(value):
        return None if value is None else str(value)

    return {
        "year": tariff.year,
        "mode": tariff.mode,
        "prices": {
            "SI": s(tariff.price_si),
            "SIA": s(tariff.price_sia),
            "SIR": s(tariff.price_sir),
            "apprenti": s(tariff.price_apprentice),
        },
        "size_bands": tariff.size_bands,
        "size_band_method": tariff.size_band_method,
        "entry_fee": {"amount": s(tariff.entry_fee), "mode": tariff.entry_fee_mode, "cap": s(tariff.entry_fee_cap)},
        "minimum": s(tariff.minimum_amount),
        "vat_rate": s(tariff.vat_rate),
        "reference_date": tariff.reference_date.isoformat(),
        "counting": {
            "min_contract_days": tariff.min_contract_days,
            "exclude_interim": tariff.exclude_interim,
            "include_suspended": tariff.include_suspended,
            "include_apprentices": tariff.include_apprentices,
        },
        "campaign": {
            "opens_on": tariff.campaign_opens_on.isoformat(),
            "closes_on": tariff.campaign_closes_on.isoformat(),
        },
        "payment_due_days": tariff.payment_due_days,
    }


def tariff_for_year(year: int) -> TariffYear | None:
    return db.session.execute(select(TariffYear).where(TariffYear.year == year)).scalar_one_or_none()


_OPEN_CAMPAIGN = (
    select(TariffYear)
    .where(
        TariffYear.campaign_opens_on <= bindparam("on", type_=Date),
        TariffYear.campaign_closes_on >= bindparam("on", type_=Date),
    )
    .order_by(TariffYear.year.desc())
    .limit(1)
)
_NEXT_CAMPAIGN = (
    select(TariffYear)
    .where(TariffYear.campaign_opens_on > bindparam("on", type_=Date))
    .order_by(TariffYear.campaign_opens_on)
    .limit(1)
)


def open_campaign(on: date | None = None) -> TariffYear | None:
    """The tariff whose campaign is open on `on`, else None (on every billing page: the
    statement is built once)."""
    return db.session.execute(_OPEN_CAMPAIGN, {"on": on or today()}).scalar_one_or_none()


def next_campaign(on: date | None = None) -> TariffYear | None:
    """The next campaign to open after `on`, else None."""
    return db.session.execute(_NEXT_CAMPAIGN, {"on": on or today()}).scalar_one_or_none()


def campaign_state(on: date | None = None) -> tuple[TariffYear | None, TariffYear | None]:
    """(the tariff whose campaign is open on `on`, else None; the next campaign to open)."""
    return open_campaign(on), next_campaign(on)


# --------------------------------------------------------------------------- who counts


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


def exclusion_reason(employee: Employee, tariff: TariffYear, ref_date: date) -> str | None:
    """Why an employee does not count at the reference date, or None when they count."""
    if employee.entry_date > ref_date:
        return "Entré après la date de référence"
    if employee.exit_date is not None and employee.exit_date < ref_date:
        return "Sorti avant la date de référence"
    if tariff.exclude_interim and employee.contract_nature == INTERIM:
        return "Intérimaire (facturé à l'acte)"
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


# --------------------------------------------------------------------------- amounts


@dataclass
class Line:
    code: str
    label: str
    quantity: int
    unit_price: Decimal
    total_ht: Decimal

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "quantity": self.quantity,
            "unit_price": str(self.unit_price),
            "total_ht": str(self.total_ht),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Line:
        return cls(d["code"], d["label"], int(d["quantity"]), Decimal(d["unit_price"]), Decimal(d["total_ht"]))


@dataclass
class Amount:
    lines: list[Line] = field(default_factory=list)
    vat_rate: Decimal = Decimal("20.00")
    total_ht: Decimal = ZERO
    total_vat: Decimal = ZERO
    total_ttc: Decimal = ZERO


def _line(code: str, label: str, quantity: int, unit_price: Decimal) -> Line:
    return Line(code, label, quantity, money(unit_price), money(Decimal(quantity) * unit_price))


def _band_label(lo: int, hi: int | None) -> str:
    return f"Cotisation – tranche de {lo} à {hi} salariés" if hi else f"Cotisation – à partir de {lo} salariés"


def compute_amount(
    tariff: TariffYear, counts: dict[str, int], new_employees: int = 0, *, new_company: bool = False
) -> Amount:
    """Invoice lines and totals for `counts` (category -> headcount) under `tariff`.

    Every line total is quantity x unit price rounded half-up to the cent; the minimum tops up
    the cotisation lines (not the entry fee); TVA is computed once on the total HT."""
    lines: list[Line] = []
    headcount = sum(counts.values())
    if tariff.mode == MODE_PER_CATEGORY:
        prices = {
            "SI": tariff.price_si,
            "SIA": tariff.price_sia,
            "SIR": tariff.price_sir,
            APPRENTICE: tariff.price_apprentice,
        }
        for code in ("SI", "SIA", "SIR", APPRENTICE):
            n = counts.get(code, 0)
            if not n:
                continue
            price = prices[code] if prices[code] is not None else tariff.price_si
            if price is None:
                raise TariffError(f"Aucun prix pour la catégorie {code}.")
            lines.append(_line(code, LINE_LABELS[code], n, price))
    elif headcount:
        bands = tariff.size_bands or []
        if tariff.size_band_method == BANDS_FLAT:
            for i, band in enumerate(bands, start=1):
                if band["from"] <= headcount and (band["to"] is None or headcount <= band["to"]):
                    lines.append(
                        _line(f"BAND{i}", _band_label(band["from"], band["to"]), headcount, Decimal(band["price"]))
                    )
                    break
        else:
            for i, band in enumerate(bands, start=1):
                hi = headcount if band["to"] is None else min(headcount, band["to"])
                quantity = hi - band["from"] + 1
                if quantity > 0:
                    lines.append(
                        _line(f"BAND{i}", _band_label(band["from"], band["to"]), quantity, Decimal(band["price"]))
                    )
    cotisation = sum((line.total_ht for line in lines), ZERO)
    if headcount and tariff.minimum_amount is not None and cotisation < tariff.minimum_amount:
        lines.append(_line("MINIMUM", "Complément à la cotisation minimale", 1, tariff.minimum_amount - cotisation))
    if tariff.entry_fee:
        if tariff.entry_fee_mode == ENTRY_FEE_PER_COMPANY and new_company:
            fee = min(tariff.entry_fee, tariff.entry_fee_cap) if tariff.entry_fee_cap is not None else tariff.entry_fee
            lines.append(_line("ENTRY", "Droit d'entrée (nouvel adhérent)", 1, fee))
        elif tariff.entry_fee_mode == ENTRY_FEE_PER_NEW_EMPLOYEE and new_employees > 0:
            total = money(tariff.entry_fee * new_employees)
            if tariff.entry_fee_cap is not None and total > tariff.entry_fee_cap:
                lines.append(
                    _line(
                        "ENTRY",
                        f"Droits d'entrée – {new_employees} nouveaux salariés (plafond)",
                        1,
                        tariff.entry_fee_cap,
                    )
                )
            else:
                lines.append(_line("ENTRY", "Droit d'entrée par nouveau salarié", new_employees, tariff.entry_fee))
    return _totals(lines, tariff.vat_rate)


def _totals(lines: list[Line], vat_rate: Decimal) -> Amount:
    total_ht = sum((line.total_ht for line in lines), ZERO)
    total_vat = money(total_ht * vat_rate / Decimal(100))
    return Amount(lines, money(vat_rate), money(total_ht), total_vat, money(total_ht + total_vat))


# --------------------------------------------------------------------------- declarations


@dataclass
class Preview:
    tariff: TariffYear
    counted: list[Counted]
    excluded: list[Excluded]
    counts: dict[str, int]
    new_employees: int
    new_company: bool
    amount: Amount

    @property
    def headcount(self) -> int:
        return len(self.counted)


def is_new_company(company: Company, year: int) -> bool:
    """A company with no declaration for an earlier year pays the per-company entry fee."""
    earlier = db.session.execute(
        select(func.count(Declaration.id)).where(Declaration.company_id == company.id, Declaration.year < year)
    ).scalar_one()
    return earlier == 0


def preview_declaration(company: Company, tariff: TariffYear) -> Preview:
    """The declaration as the register makes it now: who counts, the counts, the amount."""
    counted, excluded = classify(company, tariff)
    counts = count_by_category(counted)
    new_employees = sum(1 for row in counted if row.new)
    new_company = (
        tariff.entry_fee_mode == ENTRY_FEE_PER_COMPANY
        and bool(tariff.entry_fee)
        and is_new_company(company, tariff.year)
    )
    amount = compute_amount(tariff, counts, new_employees, new_company=new_company)
    return Preview(tariff, counted, excluded, counts, new_employees, new_company, amount)


# The review page of a large company: the same rules as `exclusion_reason` and
# `billing_category`, written in SQL, so that the counts and the amount come from one
# aggregate query and only one page of the list is loaded (5,000 employees: 9.7 MB of HTML
# and ~2.5 s before). `confirm_declaration` still classifies every row in Python for its
# snapshot; tests/web/test_billing.py checks that both agree.

REVIEW_PER_PAGE = 25
EXCLUDED_PER_PAGE = 50


def _days_between(end, start):
    """`end - start` in days as an SQL integer expression (SQLite has no date subtraction)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return end - start


def counted_clause(tariff: TariffYear, ref_date, *, min_days=None):
    """SQL condition true exactly when `exclusion_reason(employee, tariff, ref_date)` is None.
    `ref_date` and `min_days` (default: the tariff's) may be bound parameters."""
    conditions = [
        Employee.entry_date <= ref_date,
        or_(Employee.exit_date.is_(None), Employee.exit_date >= ref_date),
    ]
    if tariff.exclude_interim:
        conditions.append(Employee.contract_nature != INTERIM)
    if not tariff.include_suspended:
        conditions.append(not_(Employee.contract_suspended))
    if not tariff.include_apprentices:
        conditions.append(not_(Employee.apprentice))
    if tariff.min_contract_days:
        end = func.coalesce(Employee.exit_date, Employee.contract_end_date)
        limit = tariff.min_contract_days if min_days is None else min_days
        conditions.append(or_(end.is_(None), _days_between(end, Employee.entry_date) + 1 > limit))
    return and_(*conditions)


@dataclass
class Review:
    """What the review page shows: the whole company's counts and amount, one page of rows."""

    tariff: TariffYear
    counts: dict[str, int]
    new_employees: int
    new_company: bool
    amount: Amount
    counted: list[Counted]
    excluded_total: int  # listed on demand: excluded_employees()
    page: int
    pages: int

    @property
    def headcount(self) -> int:
        return sum(self.counts.values())


# The columns the review needs (display name, contract, dates, category, the counting rules),
# read as plain rows: not the NIR, the risks (JSON), the timestamps, nor an ORM identity each.
REVIEW_COLUMNS = (
    Employee.id,
    Employee.birth_name,
    Employee.usage_name,
    Employee.first_names,
    Employee.entry_date,
    Employee.contract_nature,
    Employee.contract_end_date,
    Employee.contract_suspended,
    Employee.apprentice,
    Employee.category,
    Employee.exit_date,
)


class ReviewEmployee:
    """A read-only register row of the review list: the attributes `exclusion_reason`,
    `billing_category` and the templates read, with the same `display_name` as `Employee`."""

    __slots__ = tuple(column.key for column in REVIEW_COLUMNS) + ("display_name",)

    def __init__(self, row):
        for name, value in zip(self.__slots__, row, strict=False):
            setattr(self, name, value)
        self.display_name = f"{(self.usage_name or self.birth_name).upper()} {self.first_names}"


@dataclass(frozen=True)
class _ReviewStatements:
    aggregate: Select
    page: Select
    excluded: Select
    review: Select  # aggregate + page in one statement (one round trip)


_review_statements_cache: dict[tuple, _ReviewStatements] = {}


def _review_statements(tariff: TariffYear) -> _ReviewStatements:
    """The review's three statements for the counting rules of `tariff`, with the company,
    the dates, the minimum contract length and the page as bound parameters. Built once per
    process and rule set: building them took as long as running them (SQLite, 5,000 rows)."""
    dialect = db.session.get_bind().dialect.name
    shape = (
        dialect,
        tariff.exclude_interim,
        tariff.include_suspended,
        tariff.include_apprentices,
        bool(tariff.min_contract_days),
    )
    statements = _review_statements_cache.get(shape)
    if statements is not None:
        return statements
    ref_date, since = bindparam("ref_date", type_=Date), bindparam("since", type_=Date)
    counted_where = counted_clause(tariff, ref_date, min_days=bindparam("min_days", type_=Integer))
    # The company is rendered into the SQL text (literal_execute), the rest stays bound: on
    # PostgreSQL a statement prepared after five runs may switch to a generic plan, which
    # estimates an average company (16 employees) and, for the 5,000 of 00010, read them all
    # through the entry-date index and sorted them (0.5 -> 3-8 ms for the page).
    mine = Employee.company_id == bindparam("company_id", type_=Integer, literal_execute=True)
    # Everyone counted is in this window too (exit on or after the reference date).
    window = and_(mine, or_(Employee.exit_date.is_(None), Employee.exit_date >= since))
    counted_case = case((counted_where, 1), else_=0)
    # Grouped by the stored (category, apprentice), mapped to the billing category in Python:
    # ix_employees_company_billing holds every column read here in that order, so the
    # aggregate is one ordered index range, no table row and no sort.
    aggregate = (
        select(
            Employee.category,
            Employee.apprentice,
            func.count(),
            func.sum(counted_case),
            func.sum(case((Employee.entry_date > since, counted_case), else_=0)),
        )
        .where(window)
        .group_by(Employee.category, Employee.apprentice)
    )
    # The lists walk the (company, name) index and stop after one page. SQLite's planner
    # prefers the range `entry_date <= ?` of the (company, entry date) index, then sorts the
    # whole company (5,000 rows) for 50: there the rule is tested as a CASE, which no index
    # serves. PostgreSQL estimates the plain conditions well and walks the name index.
    if dialect == "sqlite":
        counted_rows, excluded_rows = counted_case == 1, counted_case == 0
    else:
        counted_rows, excluded_rows = counted_where, not_(counted_where)
    by_name = (Employee.birth_name, Employee.first_names, Employee.id)
    page = (
        select(*REVIEW_COLUMNS)
        .where(mine, counted_rows)
        .order_by(*by_name)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    excluded = (
        select(*REVIEW_COLUMNS)
        .where(window, excluded_rows)
        .order_by(*by_name)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    # The review reads the aggregate and the page in one statement: part 0 is the aggregate
    # (category, apprentice, total, counted, new), part 1 the page's rows (REVIEW_COLUMNS).
    agg = aggregate.subquery()
    listed = page.subquery()
    no_counts = (cast(null(), Integer),) * 3
    review = union_all(
        select(
            literal(0, Integer).label("part"),
            *(
                agg.c.category
                if column.key == "category"
                else agg.c.apprentice
                if column.key == "apprentice"
                else cast(null(), column.type).label(column.key)
                for column in REVIEW_COLUMNS
            ),
            *agg.c[2:],
        ),
        select(literal(1, Integer).label("part"), *(listed.c[column.key] for column in REVIEW_COLUMNS), *no_counts),
    )
    order = review.selected_columns
    review = review.order_by(order.part, order.birth_name, order.first_names, order.id)
    statements = _review_statements_cache[shape] = _ReviewStatements(aggregate, page, excluded, review)
    return statements


def review_declaration(company: Company, tariff: TariffYear, page: int = 1, per_page: int = REVIEW_PER_PAGE) -> Review:
    """Counts, excluded total and amount from one SQL aggregate and one page of counted
    employees (by name), read together: one query whatever the headcount (two with a
    per-company entry fee, or a page past the last one). The employees not counted are
    listed on demand (excluded_employees)."""
    ref_date = tariff.reference_date
    since = _year_before(ref_date)
    statements = _review_statements(tariff)
    params = {"company_id": company.id, "ref_date": ref_date, "since": since, "min_days": tariff.min_contract_days}
    page = max(1, page)
    counts, new_employees, excluded_total, listed = {}, 0, 0, []
    for row in db.session.execute(statements.review, {**params, "limit": per_page, "offset": (page - 1) * per_page}):
        if row[0]:
            listed.append(row[1:-3])
            continue
        category, apprentice, (total, n, new) = row.category, row.apprentice, row[-3:]
        n, new = int(n or 0), int(new or 0)
        if n:
            code = billing_category(SimpleNamespace(category=category, apprentice=apprentice), tariff)
            counts[code] = counts.get(code, 0) + n
        new_employees += new
        excluded_total += total - n
    new_company = (
        tariff.entry_fee_mode == ENTRY_FEE_PER_COMPANY
        and bool(tariff.entry_fee)
        and is_new_company(company, tariff.year)
    )
    amount = compute_amount(tariff, counts, new_employees, new_company=new_company)
    headcount = sum(counts.values())
    pages = max(1, -(-headcount // per_page))
    if page > pages:  # past the last page (the register shrank): read the last one
        page = pages
        listed = db.session.execute(statements.page, {**params, "limit": per_page, "offset": (page - 1) * per_page})
    counted = [Counted(e, billing_category(e, tariff), e.entry_date > since) for e in map(ReviewEmployee, listed)]
    return Review(tariff, counts, new_employees, new_company, amount, counted, excluded_total, page, pages)


@dataclass
class ExcludedPage:
    rows: list[Excluded]
    total: int
    page: int
    pages: int


def excluded_employees(
    company: Company, tariff: TariffYear, page: int = 1, per_page: int = EXCLUDED_PER_PAGE
) -> ExcludedPage:
    """One page (by name) of the register rows that do not count, with the reason, and their
    total: the review's "Salariés non comptés", loaded when the user opens it."""
    ref_date = tariff.reference_date
    statements = _review_statements(tariff)
    params = {
        "company_id": company.id,
        "ref_date": ref_date,
        "since": _year_before(ref_date),
        "min_days": tariff.min_contract_days,
    }
    total = sum(t - int(n or 0) for _c, _a, t, n, _new in db.session.execute(statements.aggregate, params))
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    rows = db.session.execute(statements.excluded, {**params, "limit": per_page, "offset": (page - 1) * per_page})
    return ExcludedPage(
        [Excluded(e, exclusion_reason(e, tariff, ref_date) or "") for e in map(ReviewEmployee, rows)],
        total,
        page,
        pages,
    )


def current_declaration(company: Company, year: int) -> Declaration | None:
    """The confirmed version of `year`. Its snapshot (every counted employee: ~0.5 MB for
    5,000) loads only when read: the review page never needs it."""
    return db.session.execute(
        select(Declaration)
        .options(defer(Declaration.snapshot))
        .where(
            Declaration.company_id == company.id, Declaration.year == year, Declaration.status == DECLARATION_CONFIRMED
        )
        .order_by(Declaration.version.desc())
        .limit(1)
    ).scalar_one_or_none()


PAST_SHOWN = 50


_PAST_DECLARATIONS = (
    select(Declaration)
    .options(defer(Declaration.snapshot))
    .where(Declaration.company_id == bindparam("company_id", type_=Integer))
    .order_by(Declaration.year.desc(), Declaration.version.desc())
    .limit(bindparam("limit", type_=Integer))
)


_OPEN_TARIFF = aliased(TariffYear)
# The open campaign's tariff, each of the company's declarations joined to it (newest first).
_CAMPAIGN_AND_PAST = (
    select(TariffYear, Declaration)
    .outerjoin(Declaration, Declaration.company_id == bindparam("company_id", type_=Integer))
    .options(defer(Declaration.snapshot))
    .where(
        TariffYear.id
        == select(_OPEN_TARIFF.id)
        .where(
            _OPEN_TARIFF.campaign_opens_on <= bindparam("on", type_=Date),
            _OPEN_TARIFF.campaign_closes_on >= bindparam("on", type_=Date),
        )
        .order_by(_OPEN_TARIFF.year.desc())
        .limit(1)
        .scalar_subquery()
    )
    .order_by(Declaration.year.desc(), Declaration.version.desc())
    .limit(bindparam("limit", type_=Integer))
)


def campaign_and_past(company: Company, limit: int = PAST_SHOWN) -> tuple[TariffYear | None, list[Declaration]]:
    """(open_campaign(), past_declarations(company)) in one statement while a campaign is
    open (the review page: one round trip less); two outside it."""
    rows = db.session.execute(_CAMPAIGN_AND_PAST, {"company_id": company.id, "on": today(), "limit": limit}).all()
    if not rows:
        return None, past_declarations(company, limit)
    return rows[0][0], [declaration for _tariff, declaration in rows if declaration is not None]


def past_declarations(company: Company, limit: int = PAST_SHOWN) -> list[Declaration]:
    """The company's declarations, newest year and version first (snapshots not loaded)."""
    return list(db.session.execute(_PAST_DECLARATIONS, {"company_id": company.id, "limit": limit}).scalars())


def _snapshot(preview: Preview) -> dict:
    return {
        "reference_date": preview.tariff.reference_date.isoformat(),
        "employees": [
            {
                "id": row.employee.id,
                "name": row.employee.display_name,
                "category": row.category,
                "contract": row.employee.contract_nature,
                "entry_date": row.employee.entry_date.isoformat(),
                "new": row.new,
            }
            for row in preview.counted
        ],
        "counts": preview.counts,
        "new_employees": preview.new_employees,
        "new_company": preview.new_company,
        "lines": [line.as_dict() for line in preview.amount.lines],
        "vat_rate": str(preview.amount.vat_rate),
    }


def confirm_declaration(
    company: Company,
    tariff: TariffYear,
    actor,
    *,
    attested: bool,
    actor_role: str | None = None,
    on: date | None = None,
) -> tuple[Declaration, Invoice | None]:
    """Lock the declaration as a snapshot and issue its invoice (then commit and call
    `publish_invoices([invoice.id])` for the PDF and the mail); a later confirmation of the same
    year is a correction: a new version, and a complement or a credit note for the difference.

    Must run in a write transaction (POST requests; `services.core.database.write_intent()` elsewhere):
    the invoice number is taken under a row lock and released only by the commit."""
    on = on or today()
    if not attested:
        raise BillingError("Cochez la case pour attester l'exactitude de votre déclaration.")
    if not tariff.campaign_open(on):
        raise BillingError("La campagne de déclaration est fermée.")
    previous = current_declaration(company, tariff.year)
    preview = preview_declaration(company, tariff)
    if previous is not None:
        # The per-company entry fee belongs to the first version only.
        preview.new_company = bool(previous.snapshot and previous.snapshot.get("new_company"))
        preview.amount = compute_amount(tariff, preview.counts, preview.new_employees, new_company=preview.new_company)
    amount = preview.amount
    declaration = Declaration(
        company_id=company.id,
        year=tariff.year,
        version=(previous.version + 1) if previous else 1,
        status=DECLARATION_CONFIRMED,
        confirmed_at=datetime.now(PARIS),
        confirmed_by_id=getattr(actor, "id", None),
        confirmed_by_role=actor_role,
        attestation=ATTESTATION_TEXT,
        snapshot=_snapshot(preview),
        headcount=preview.headcount,
        total_ht=amount.total_ht,
        total_vat=amount.total_vat,
        total_ttc=amount.total_ttc,
    )
    if previous is not None:
        previous.status = DECLARATION_SUPERSEDED
    db.session.add(declaration)
    db.session.flush()

    invoice = None
    if previous is None:
        if amount.lines:
            invoice = _issue(company, tariff, declaration, INVOICE, amount.lines, amount, on)
    else:
        invoice = _issue_correction(company, tariff, previous, declaration, amount, on)
    audit.record(
        "declaration.confirmed",
        actor=actor,
        company=company,
        target=declaration,
        year=tariff.year,
        version=declaration.version,
        headcount=declaration.headcount,
        counts=preview.counts,
        total_ttc=str(declaration.total_ttc),
        invoice=invoice.number if invoice else None,
    )
    return declaration, invoice


def _issue_correction(
    company, tariff, previous: Declaration, declaration: Declaration, amount: Amount, on: date
) -> Invoice | None:
    """The difference between two versions: a complement (more to pay) or a credit note."""
    old = {(d["code"], d["unit_price"]): Line.from_dict(d) for d in (previous.snapshot or {}).get("lines", [])}
    new = {(line.code, str(line.unit_price)): line for line in amount.lines}
    delta: list[Line] = []
    for key in list(new) + [k for k in old if k not in new]:
        quantity = (new[key].quantity if key in new else 0) - (old[key].quantity if key in old else 0)
        total = (new[key].total_ht if key in new else ZERO) - (old[key].total_ht if key in old else ZERO)
        if quantity or total:
            label = (new.get(key) or old[key]).label
            delta.append(Line(key[0], label, quantity, Decimal(key[1]), total))
    diff = Amount(
        delta,
        amount.vat_rate,
        amount.total_ht - previous.total_ht,
        amount.total_vat - previous.total_vat,
        amount.total_ttc - previous.total_ttc,
    )
    if diff.total_ttc == 0 and diff.total_ht == 0:
        return None
    corrected = db.session.execute(
        select(Invoice)
        .where(Invoice.company_id == company.id, Invoice.year == tariff.year, Invoice.kind == INVOICE)
        .order_by(Invoice.id)
        .limit(1)
    ).scalar_one_or_none()
    if diff.total_ttc > 0:
        return _issue(company, tariff, declaration, COMPLEMENT, delta, diff, on, corrects=corrected)
    # A credit note shows positive amounts: it is the sign of the document that subtracts.
    negated = [Line(d.code, d.label, -d.quantity, d.unit_price, -d.total_ht) for d in delta]
    return _issue(
        company,
        tariff,
        declaration,
        CREDIT_NOTE,
        negated,
        Amount(negated, diff.vat_rate, -diff.total_ht, -diff.total_vat, -diff.total_ttc),
        on,
        corrects=corrected,
    )


def next_invoice_number(year: int) -> str:
    """The next number of `year`'s single sequence, `2027-000123`, with no gap and no duplicate.

    The sequence row is locked (SELECT ... FOR UPDATE on PostgreSQL; the write transaction
    itself on SQLite) until the caller's transaction ends, so numbers are handed out one
    transaction at a time and a rolled-back invoice gives its number back."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(InvoiceSequence).values(year=year, last_number=0).on_conflict_do_nothing())
    last = db.session.execute(
        select(InvoiceSequence.last_number).where(InvoiceSequence.year == year).with_for_update()
    ).scalar_one()
    db.session.execute(update(InvoiceSequence).where(InvoiceSequence.year == year).values(last_number=last + 1))
    return f"{year}-{last + 1:06d}"


def _address(company: Company) -> str:
    parts = [company.address or "", " ".join(p for p in (company.postal_code, company.city) if p)]
    return "\n".join(p for p in parts if p)


def unbilled_fees(company: Company) -> list[PendingFee]:
    """Fees waiting for the company's next invoice (no-show fees recorded by the back office)."""
    return list(
        db.session.execute(
            select(PendingFee)
            .where(PendingFee.company_id == company.id, PendingFee.invoice_id.is_(None))
            .order_by(PendingFee.id)
        ).scalars()
    )


def _with_fees(kind: str, lines: list[Line], amount: Amount, fees: list[PendingFee]) -> tuple[list[Line], Amount]:
    """Add the pending fees as extra lines of an invoice or a complement (never a credit note);
    the declaration's own totals stay as they are, so corrections keep comparing like with like."""
    if not fees or kind == CREDIT_NOTE:
        return lines, amount
    extra = [_line(fee.code, fee.label, 1, fee.amount) for fee in fees]
    if kind == INVOICE:
        return lines + extra, _totals(lines + extra, amount.vat_rate)
    extra_ht = sum((line.total_ht for line in extra), ZERO)
    extra_vat = money(extra_ht * amount.vat_rate / Decimal(100))
    return lines + extra, Amount(
        lines + extra,
        amount.vat_rate,
        amount.total_ht + extra_ht,
        amount.total_vat + extra_vat,
        amount.total_ttc + extra_ht + extra_vat,
    )


def _issue(
    company, tariff, declaration, kind, lines: list[Line], amount: Amount, on: date, *, corrects: Invoice | None = None
) -> Invoice:
    fees = unbilled_fees(company) if kind != CREDIT_NOTE else []
    lines, amount = _with_fees(kind, lines, amount, fees)
    invoice = Invoice(
        number=next_invoice_number(on.year),
        kind=kind,
        company_id=company.id,
        declaration_id=declaration.id,
        corrects_id=corrects.id if corrects else None,
        year=tariff.year,
        issue_date=on,
        due_date=on + timedelta(days=tariff.payment_due_days),
        buyer_name=company.name,
        buyer_code=company.code,
        buyer_address=_address(company),
        vat_rate=amount.vat_rate,
        total_ht=amount.total_ht,
        total_vat=amount.total_vat,
        total_ttc=amount.total_ttc,
    )
    invoice.lines = [
        InvoiceLine(
            position=i,
            code=line.code,
            label=line.label,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_ht=line.total_ht,
        )
        for i, line in enumerate(lines)
    ]
    invoice.corrects = corrects
    invoice.declaration = declaration
    db.session.add(invoice)
    db.session.flush()
    for fee in fees:
        fee.invoice_id = invoice.id
    audit.record(
        "invoice.issued",
        company=company,
        target=invoice,
        number=invoice.number,
        kind=kind,
        total_ttc=str(invoice.total_ttc),
    )
    return invoice


def invoice_render_data(invoice: Invoice) -> SimpleNamespace:
    """Everything the PDF shows, as plain data, so that it can be rendered after the commit
    (outside the write transaction that holds the numbering lock)."""
    declaration = invoice.declaration
    reference = (declaration.snapshot or {}).get("reference_date") if declaration else None
    return SimpleNamespace(
        id=invoice.id,
        number=invoice.number,
        kind=invoice.kind,
        year=invoice.year,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        buyer_name=invoice.buyer_name,
        buyer_code=invoice.buyer_code,
        buyer_address=invoice.buyer_address,
        vat_rate=invoice.vat_rate,
        total_ht=invoice.total_ht,
        total_vat=invoice.total_vat,
        total_ttc=invoice.total_ttc,
        reference_date=date.fromisoformat(reference) if reference else None,
        version=declaration.version if declaration else None,
        corrects_number=invoice.corrects.number if invoice.corrects else None,
        corrects_issue_date=invoice.corrects.issue_date if invoice.corrects else None,
        lines=[
            SimpleNamespace(
                label=line.label, quantity=line.quantity, unit_price=line.unit_price, total_ht=line.total_ht
            )
            for line in invoice.lines
        ],
    )


def attach_invoice_pdf(invoice: Invoice, pdf: bytes) -> Document:
    """Store the rendered PDF in the document space and mail it to the company (idempotent)."""
    if invoice.document_id is not None:
        return db.session.get(Document, invoice.document_id)
    doc_kind = DOC_CREDIT_NOTE if invoice.kind == CREDIT_NOTE else DOC_INVOICE
    document = Document(
        company_id=invoice.company_id,
        kind=doc_kind,
        title=f"{invoice.kind_label} {invoice.number}",
        year=invoice.year,
        content=pdf,
        content_type="application/pdf",
        filename=f"{doc_kind}-{invoice.number}.pdf",
        size=len(pdf),
    )
    db.session.add(document)
    db.session.flush()
    invoice.document_id = document.id
    _mail_invoice(invoice.company, invoice, document)
    return document


def publish_invoices(invoice_ids: list[int]) -> list[Document]:
    """Render, store and mail the PDFs of freshly committed invoices.

    Commits: the rendering (~0.3 s) runs between two short transactions, never inside one (on
    SQLite a write transaction locks the whole database). Routes, the CLI and tests call it
    right after committing `confirm_declaration`; `flask billing invoice publish` repairs any
    invoice left without its PDF (a crash between the two commits)."""
    from services.invoice_pdf import render_invoice_pdf

    documents = []
    for invoice_id in invoice_ids:
        invoice = db.session.get(Invoice, invoice_id)
        if invoice is None or invoice.document_id is not None:
            continue
        data = invoice_render_data(invoice)
        db.session.commit()
        pdf = render_invoice_pdf(data)
        invoice = db.session.get(Invoice, invoice_id)
        documents.append(attach_invoice_pdf(invoice, pdf))
        db.session.commit()
    return documents


def unpublished_invoice_ids() -> list[int]:
    return list(
        db.session.execute(select(Invoice.id).where(Invoice.document_id.is_(None)).order_by(Invoice.id)).scalars()
    )


def invoice_recipients(company: Company) -> list[str]:
    """The company's address and its employers' (direct or via the parent member), deduplicated."""
    ids = [company.id] + ([company.parent_id] if company.parent_id else [])
    emails = db.session.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.company_id.in_(ids),
            Membership.role == ROLE_EMPLOYER,
            Membership.revoked_at.is_(None),
            User.active.is_(True),
        )
        .order_by(User.email)
    ).scalars()
    seen: list[str] = []
    for address in [company.email, *emails]:
        if address and address.lower() not in seen:
            seen.append(address.lower())
    return seen


def _mail_invoice(company: Company, invoice: Invoice, document: Document) -> None:
    from services.core.outbox import queue_mail

    recipients = invoice_recipients(company)
    if not recipients:
        return
    cfg = current_app.config
    queue_mail(
        recipients,
        f"{invoice.kind_label} n° {invoice.number} – cotisation {invoice.year}",
        "invoice",
        reply_to=cfg["SERVICE_BILLING_EMAIL"],
        attachments=[(document.filename, document.content_type, document.content)],
        invoice=invoice,
        company=company,
        amount=format_eur(invoice.total_ttc),
        due_date=invoice.due_date.strftime("%d/%m/%Y"),
        iban=cfg["SERVICE_IBAN"],
        bic=cfg["SERVICE_BIC"],
        billing_email=cfg["SERVICE_BILLING_EMAIL"],
        documents_path=f"/entreprises/{company.code}/documents",
    )


# --------------------------------------------------------------------------- payments


def invoice_by_number(number: str) -> Invoice | None:
    return db.session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()


def record_payment(
    invoice: Invoice, amount, paid_on: date, method: str, reference: str | None = None, actor=None
) -> Payment:
    """Record a payment the service received; the invoice's status follows from its payments."""
    try:
        value = money(amount)
    except (InvalidOperation, ValueError, TypeError):
        raise BillingError("Montant invalide.") from None
    if value <= 0:
        raise BillingError("Le montant doit être positif.")
    if invoice.kind == CREDIT_NOTE:
        raise BillingError("Un avoir ne se paie pas.")
    if method not in PAYMENT_METHODS:
        raise BillingError(f"Mode de paiement inconnu ({', '.join(PAYMENT_METHODS)}).")
    if value > invoice.amount_due:
        raise BillingError(f"Le montant dépasse le reste à payer ({format_eur(invoice.amount_due)}).")
    if reference and ("\r" in reference or "\n" in reference or len(reference) > 100):
        raise BillingError("Référence invalide.")
    payment = Payment(
        invoice=invoice,
        paid_on=paid_on,
        amount=value,
        method=method,
        reference=reference,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        "payment.recorded",
        actor=actor,
        company=invoice.company,
        target=payment,
        invoice=invoice.number,
        amount=str(value),
        method=method,
    )
    return payment


_COMPANY_INVOICES = (
    select(Invoice)
    .where(Invoice.company_id == bindparam("company_id", type_=Integer))
    .options(joinedload(Invoice.payments))
    .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
)


def company_invoices(company: Company) -> list[Invoice]:
    """The company's invoices and credit notes, newest first, with payments (one query, its
    statement built once)."""
    return list(db.session.execute(_COMPANY_INVOICES, {"company_id": company.id}).unique().scalars())


def billing_status(company_ids: list[int], on: date | None = None) -> dict[int, dict]:
    """For "Mes entreprises": per company, whether the open campaign still awaits a declaration
    and how much is left to pay. Three queries whatever the number of companies."""
    on = on or today()
    status = {cid: {"declaration_due": False, "amount_due": ZERO} for cid in company_ids}
    if not company_ids:
        return status
    open_tariff = open_campaign(on)
    if open_tariff is not None:
        declared = set(
            db.session.execute(
                select(Declaration.company_id).where(
                    Declaration.company_id.in_(company_ids), Declaration.year == open_tariff.year
                )
            ).scalars()
        )
        for cid in company_ids:
            status[cid]["declaration_due"] = cid not in declared
    paid = (
        select(Payment.invoice_id, func.coalesce(func.sum(Payment.amount), 0).label("paid"))
        .group_by(Payment.invoice_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Invoice.company_id, Invoice.total_ttc, func.coalesce(paid.c.paid, 0))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.company_id.in_(company_ids), Invoice.kind != CREDIT_NOTE)
    ).all()
    for cid, total, paid_amount in rows:
        status[cid]["amount_due"] += max(money(total) - money(paid_amount), ZERO)
    return status


# --------------------------------------------------------------------------- register fixes
# Thin operations used while reviewing a declaration. They keep the employee history
# consistent (an EmployeeChange and an audit row each); the employee service supersedes them.


def _change(employee: Employee, kind: str, changes: dict, actor, actor_role: str | None) -> None:
    db.session.add(
        EmployeeChange(
            employee=employee,
            company_id=employee.company_id,
            actor_id=getattr(actor, "id", None),
            actor_role=actor_role,
            kind=kind,
            changes=changes,
        )
    )


def add_forgotten_hire(company: Company, data: dict, actor, actor_role: str | None = None) -> Employee:
    """Declare an employee missing from the register (nom, prénoms, sexe, dates, contrat...)."""
    if data.get("contract_nature", "01") not in CONTRACT_NATURES or data.get("category", "SI") not in CATEGORIES:
        raise BillingError("Valeur invalide.")
    employee = Employee(
        company_id=company.id,
        birth_name=data["birth_name"].strip(),
        first_names=data["first_names"].strip(),
        sex=data["sex"],
        birth_date=data["birth_date"],
        entry_date=data["entry_date"],
        contract_nature=data.get("contract_nature", "01"),
        job_title=data["job_title"].strip(),
        category=data.get("category", "SI"),
        apprentice=bool(data.get("apprentice")),
        risks=[],
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(employee)
    db.session.flush()
    _change(
        employee,
        "embauche",
        {
            "entry_date": [None, employee.entry_date.isoformat()],
            "category": [None, employee.category],
            "source": "declaration",
        },
        actor,
        actor_role,
    )
    audit.record("employee.created", actor=actor, company=company, target=employee, source="declaration")
    return employee


def record_departure(
    employee: Employee, exit_date: date, actor, actor_role: str | None = None, reason: str | None = None
) -> Employee:
    if exit_date < employee.entry_date:
        raise BillingError("La date de sortie ne peut pas précéder la date d'entrée.")
    old = employee.exit_date
    employee.exit_date = exit_date
    employee.exit_reason = reason
    _change(
        employee, "depart", {"exit_date": [old.isoformat() if old else None, exit_date.isoformat()]}, actor, actor_role
    )
    db.session.flush()
    audit.record(
        "employee.departure",
        actor=actor,
        company=employee.company,
        target=employee,
        exit_date=exit_date.isoformat(),
        source="declaration",
    )
    return employee


def correct_category(employee: Employee, category: str, actor, actor_role: str | None = None) -> Employee:
    if category not in CATEGORIES:
        raise BillingError("Catégorie inconnue.")
    refusal = category_refusal(employee, category)  # the register decides (services.employees.follow_up)
    if refusal:
        raise BillingError(refusal)
    old = employee.category
    if old == category:
        return employee
    employee.category = category
    _change(employee, "modification", {"category": [old, category]}, actor, actor_role)
    db.session.flush()
    audit.record(
        "employee.updated",
        actor=actor,
        company=employee.company,
        target=employee,
        fields=["category"],
        source="declaration",
    )
    return employee
