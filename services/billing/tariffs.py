"""Tariffs of a year (the grid) and the declaration campaign they open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import (
    Date,
    bindparam,
    select,
)

from extensions import db
from models.billing import (
    BANDS_FLAT,
    BANDS_PROGRESSIVE,
    DEFAULT_EXCLUDED_NATURES,
    ENTRY_FEE_PER_COMPANY,
    ENTRY_FEE_PER_NEW_EMPLOYEE,
    MODE_PER_CATEGORY,
    MODE_SIZE_BANDS,
    TariffYear,
)
from models.employees import CONTRACT_NATURES
from services.billing.common import INTERIM, TariffError, format_eur, money, today
from services.core import audit


def _decimal(value, what: str, *, required: bool = False) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise TariffError(f"{what} : valeur obligatoire.")
        return None
    try:
        exact = Decimal(str(value))
        amount = money(exact)
    except (InvalidOperation, ValueError, TypeError):
        raise TariffError(f"{what} : montant invalide ({value!r}).") from None
    if not exact.is_finite():
        raise TariffError(f"{what} : montant invalide ({value!r}).")
    if exact != amount:  # 94.805 is refused, never stored as 94.81
        raise TariffError(f"{what} : deux décimales au plus ({value}).")
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


def _natures(raw) -> list[str]:
    """The DSN contract natures not counted (default: stage 29 and mandat social 80)."""
    if raw is None:
        return list(DEFAULT_EXCLUDED_NATURES)
    if not isinstance(raw, list) or any(code not in CONTRACT_NATURES or code == INTERIM for code in raw):
        raise TariffError(
            "counting.excluded_natures : liste de codes de nature de contrat DSN (l'intérim a son propre réglage)."
        )
    return sorted(set(raw))


@dataclass(frozen=True)
class Bracket:
    """80-120 % of the year's national average cost per employee (L4622-6 Code du travail)."""

    year: int
    average: Decimal
    low: Decimal
    high: Decimal

    def contains(self, price: Decimal) -> bool:
        return self.low <= price <= self.high

    @property
    def text(self) -> str:
        return (
            f"Fourchette légale {self.year} : {format_eur(self.low)} à {format_eur(self.high)} HT par salarié "
            f"(80 à 120 % du coût moyen national de {format_eur(self.average)})."
        )


def national_bracket(year: int) -> Bracket | None:
    """The bracket of `year`, or None when its national average cost is not configured."""
    costs = current_app.config.get("NATIONAL_AVERAGE_COST") or {}
    raw = costs.get(year, costs.get(str(year)))
    if raw is None:
        return None
    average = money(raw)
    return Bracket(year, average, money(average * Decimal("0.8")), money(average * Decimal("1.2")))


def _check_bracket(year: int, values: dict) -> None:
    """Refuse a per-employee base price (SI, or each size band) outside the bracket. The SIA,
    SIR and apprentice prices are priced from the base by each service and are not bounded
    here (see docs/BILLING.md)."""
    bracket = national_bracket(year)
    if bracket is None:
        return
    checked = [("prices.SI", values["price_si"])]
    checked += [(f"size_bands[{i}].price", Decimal(b["price"])) for i, b in enumerate(values["size_bands"] or [])]
    for key, price in checked:
        if price is not None and not bracket.contains(price):
            raise TariffError(f"{key} : {format_eur(price)} est hors de la fourchette. {bracket.text}")


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
        "excluded_natures": _natures(counting.get("excluded_natures")),
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
    _check_bracket(year, values)
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
            "excluded_natures": list(tariff.excluded_natures or []),
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
