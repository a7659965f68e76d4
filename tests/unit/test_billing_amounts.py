"""Amounts of the cotisation: table-driven checks over several real grids (exact decimals)."""

from datetime import date
from decimal import Decimal

import pytest

from models.billing import TariffYear
from services.billing import TariffError, compute_amount, money, set_tariff
from services.core.french import format_eur

D = Decimal


def grid(**fields) -> TariffYear:
    """An unsaved grid; compute_amount needs no database."""
    base = dict(
        mode="per_category",
        price_si=D("94.80"),
        price_sia=D("138.00"),
        price_sir=D("162.60"),
        price_apprentice=None,
        size_bands=None,
        size_band_method="progressive",
        entry_fee=None,
        entry_fee_mode="per_company",
        entry_fee_cap=None,
        minimum_amount=None,
        vat_rate=D("20.00"),
    )
    base.update(fields)
    return TariffYear(**base)


BANDS = [
    {"from": 1, "to": 10, "price": "110.00"},
    {"from": 11, "to": 50, "price": "98.50"},
    {"from": 51, "to": None, "price": "90.25"},
]

CASES = [
    # (name, grid fields, counts, new employees, new company, expected lines, HT, TVA, TTC)
    (
        "categories",
        {},
        {"SI": 8, "SIR": 2},
        0,
        False,
        [("SI", 8, "94.80", "758.40"), ("SIR", 2, "162.60", "325.20")],
        "1083.60",
        "216.72",
        "1300.32",
    ),
    (
        "categories with SIA",
        {},
        {"SI": 3, "SIA": 1, "SIR": 1},
        0,
        False,
        [("SI", 3, "94.80", "284.40"), ("SIA", 1, "138.00", "138.00"), ("SIR", 1, "162.60", "162.60")],
        "585.00",
        "117.00",
        "702.00",
    ),
    (
        "apprentice line",
        {"price_apprentice": D("47.40")},
        {"SI": 2, "APP": 1},
        0,
        False,
        [("SI", 2, "94.80", "189.60"), ("APP", 1, "47.40", "47.40")],
        "237.00",
        "47.40",
        "284.40",
    ),
    (
        "minimum tops up",
        {"minimum_amount": D("150.00")},
        {"SI": 1},
        0,
        False,
        [("SI", 1, "94.80", "94.80"), ("MINIMUM", 1, "55.20", "55.20")],
        "150.00",
        "30.00",
        "180.00",
    ),
    (
        "minimum not reached",
        {"minimum_amount": D("150.00")},
        {"SI": 2},
        0,
        False,
        [("SI", 2, "94.80", "189.60")],
        "189.60",
        "37.92",
        "227.52",
    ),
    (
        "entry fee per company",
        {"entry_fee": D("45.00")},
        {"SI": 1},
        0,
        True,
        [("SI", 1, "94.80", "94.80"), ("ENTRY", 1, "45.00", "45.00")],
        "139.80",
        "27.96",
        "167.76",
    ),
    (
        "entry fee per company, old member",
        {"entry_fee": D("45.00")},
        {"SI": 1},
        0,
        False,
        [("SI", 1, "94.80", "94.80")],
        "94.80",
        "18.96",
        "113.76",
    ),
    (
        "entry fee per new employee",
        {"entry_fee": D("15.50"), "entry_fee_mode": "per_new_employee", "entry_fee_cap": D("100.00")},
        {"SI": 5},
        3,
        False,
        [("SI", 5, "94.80", "474.00"), ("ENTRY", 3, "15.50", "46.50")],
        "520.50",
        "104.10",
        "624.60",
    ),
    (
        "entry fee per new employee, capped",
        {"entry_fee": D("15.50"), "entry_fee_mode": "per_new_employee", "entry_fee_cap": D("100.00")},
        {"SI": 9},
        9,
        False,
        [("SI", 9, "94.80", "853.20"), ("ENTRY", 1, "100.00", "100.00")],
        "953.20",
        "190.64",
        "1143.84",
    ),
    (
        "progressive bands",
        {"mode": "size_bands", "size_bands": BANDS},
        {"SI": 50, "SIR": 5},
        0,
        False,
        [("BAND1", 10, "110.00", "1100.00"), ("BAND2", 40, "98.50", "3940.00"), ("BAND3", 5, "90.25", "451.25")],
        "5491.25",
        "1098.25",
        "6589.50",
    ),
    (
        "flat bands",
        {"mode": "size_bands", "size_bands": BANDS, "size_band_method": "flat"},
        {"SI": 12},
        0,
        False,
        [("BAND2", 12, "98.50", "1182.00")],
        "1182.00",
        "236.40",
        "1418.40",
    ),
    (
        "half-up rounding",
        {"price_si": D("33.335"), "vat_rate": D("5.50")},
        {"SI": 1},
        0,
        False,
        [("SI", 1, "33.34", "33.34")],
        "33.34",
        "1.83",
        "35.17",
    ),
    ("nobody counted", {"minimum_amount": D("150.00")}, {}, 0, False, [], "0.00", "0.00", "0.00"),
]


@pytest.mark.parametrize(
    "name,fields,counts,new_employees,new_company,lines,ht,tva,ttc", CASES, ids=[c[0] for c in CASES]
)
def test_billing_amount_for_real_grids(name, fields, counts, new_employees, new_company, lines, ht, tva, ttc):
    amount = compute_amount(grid(**fields), counts, new_employees, new_company=new_company)
    got = [(line.code, line.quantity, str(line.unit_price), str(line.total_ht)) for line in amount.lines]
    assert got == lines
    assert (str(amount.total_ht), str(amount.total_vat), str(amount.total_ttc)) == (ht, tva, ttc)
    assert all(isinstance(v, Decimal) for v in (amount.total_ht, amount.total_vat, amount.total_ttc))


def test_billing_money_is_exact():
    assert money("0.005") == D("0.01")
    assert money(0.1 + 0.2) == D("0.30")
    assert format_eur(D("1300.32")) == "1\u00a0300,32\u00a0€"
    assert format_eur(D("-94.8")) == "-94,80\u00a0€"


@pytest.mark.parametrize(
    "data,message",
    [
        ({"mode": "weekly"}, "mode"),
        ({"prices": {"SI": "abc", "SIA": "1", "SIR": "1"}}, "prices.SI"),
        ({"prices": {"SI": "-1", "SIA": "1", "SIR": "1"}}, "négatif"),
        ({"reference_date": "2027-03-01"}, "reference_date"),
        ({"campaign": {"opens_on": "2027-02-01", "closes_on": "2027-01-01"}}, "clôture"),
        ({"mode": "size_bands", "size_bands": [{"from": 2, "to": None, "price": "1"}]}, "commencer"),
        ({"mode": "size_bands", "size_bands": [{"from": 1, "to": 5, "price": "1"}]}, "ouverte"),
        ({"entry_fee": {"amount": "10", "mode": "per_visit"}}, "entry_fee.mode"),
        ({"counting": {"exclude_interim": "yes"}}, "exclude_interim"),
    ],
)
def test_billing_tariff_validation(data, message):
    base = {
        "mode": "per_category",
        "prices": {"SI": "94.80", "SIA": "138", "SIR": "162.60"},
        "reference_date": "2027-01-01",
        "campaign": {"opens_on": "2027-01-05", "closes_on": "2027-02-28"},
    }
    base.update(data)
    with pytest.raises(TariffError, match=message):
        set_tariff(2027, base)


def test_billing_tariff_accepts_31_december_and_replaces_the_grid():
    data = {
        "prices": {"SI": "94.80", "SIA": "138", "SIR": "162.60"},
        "reference_date": "2026-12-31",
        "campaign": {"opens_on": "2027-01-05", "closes_on": "2027-02-28"},
    }
    first = set_tariff(2027, data)
    data["prices"]["SI"] = "96.00"
    second = set_tariff(2027, data)
    assert first.id == second.id and second.price_si == D("96.00")
    assert second.reference_date == date(2026, 12, 31)
