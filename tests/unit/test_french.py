"""Dates written out in French (services/core/french.py), as the letters and the planning show them."""

from datetime import date, datetime

from services.core import french


def test_long_date():
    assert french.long_date(date(2027, 1, 4)) == "4 janvier 2027"
    assert french.long_date(date(2027, 8, 15), weekday=True) == "dimanche 15 août 2027"
    assert french.long_date(datetime(2026, 12, 1, 9, 30), weekday=True) == "mardi 1er décembre 2026"


def test_every_month_and_day_has_its_word():
    assert len(french.MONTHS) == 12 and len(french.DAYS) == 7
    assert [french.long_date(date(2027, m, 1)).split()[1] for m in (2, 12)] == ["février", "décembre"]


def test_elision_before_a_vowel():
    assert french.of("AIST22") == "d'AIST22" and french.of("Élan Paie") == "d'Élan Paie"
    assert french.of("Breizh Paie") == "de Breizh Paie"
    assert french.as_role("Employeur") == "en tant qu'employeur"
    assert french.as_role("Tiers déclarant") == "en tant que tiers déclarant"
