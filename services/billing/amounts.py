"""Amounts: invoice lines from counts and a grid, totals, the preview of a declaration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from models.billing import (
    BANDS_FLAT,
    ENTRY_FEE_PER_COMPANY,
    ENTRY_FEE_PER_NEW_EMPLOYEE,
    MODE_PER_CATEGORY,
    TariffYear,
)
from models.companies import Company
from services.billing.common import APPRENTICE, LINE_LABELS, ZERO, TariffError, money
from services.billing.headcount import Counted, Excluded, _year_before, classify, count_by_category


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


def is_new_company(company: Company, year: int, reference_date: date | None = None) -> bool:
    """Whether the year's declaration bills the per-company entry fee. The company's adhesion
    date (imported with the members, edited by staff) decides: it joined within the year up to
    the reference date, or after it. Without an adhesion date the fee is not billed: the members
    registered before the portal opened are not new (staff set the date of a new member)."""
    if company.adhesion_date is None:
        return False
    return company.adhesion_date > _year_before(reference_date or date(year, 1, 1))


def preview_declaration(company: Company, tariff: TariffYear) -> Preview:
    """The declaration as the register makes it now: who counts, the counts, the amount."""
    counted, excluded = classify(company, tariff)
    counts = count_by_category(counted)
    new_employees = sum(1 for row in counted if row.new)
    new_company = (
        tariff.entry_fee_mode == ENTRY_FEE_PER_COMPANY
        and bool(tariff.entry_fee)
        and is_new_company(company, tariff.year, tariff.reference_date)
    )
    amount = compute_amount(tariff, counts, new_employees, new_company=new_company)
    return Preview(tariff, counted, excluded, counts, new_employees, new_company, amount)
