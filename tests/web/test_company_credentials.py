"""Checking a code adhérent + n° télédéclarant: neutral error, limits per code and per IP."""

import pytest

from extensions import db
from models.audit import AuditEvent
from services.auth.company_credentials import NEUTRAL_ERROR, CompanyCredentialError, verify_company_credentials
from tests.factories import make_company


def _try(code, number, ip="198.51.100.1"):
    try:
        return verify_company_credentials(code, number, ip=ip)
    finally:
        db.session.commit()


def test_right_pair_returns_the_company():
    company = make_company("00010", teledeclarant="ABCD-EFGH-JKMN")
    db.session.commit()
    assert _try("00010", "abcd efgh jkmn".replace(" ", "-")).id == company.id
    assert _try(" 00010 ", "ABCDEFGHJKMN").id == company.id  # spaces and dashes do not matter


@pytest.mark.parametrize("code,number", [("00010", "WRONG"), ("99999", "ABCD-EFGH-JKMN"), ("abc", "x"), ("", "")])
def test_wrong_pair_gives_the_same_neutral_error(code, number):
    make_company("00010", teledeclarant="ABCD-EFGH-JKMN")
    db.session.commit()
    with pytest.raises(CompanyCredentialError) as info:
        _try(code, number)
    assert info.value.message == NEUTRAL_ERROR
    assert db.session.query(AuditEvent).filter_by(action="teledeclarant.failed").count() == 1


def test_attempts_are_stopped_per_code_even_with_the_right_number():
    make_company("00010", teledeclarant="ABCD-EFGH-JKMN")
    db.session.commit()
    for i in range(10):  # from many IPs: the code-wide growing delay starts after 10 failures
        with pytest.raises(CompanyCredentialError):
            _try("00010", f"WRONG{i}", ip=f"198.51.100.{i}")
    with pytest.raises(CompanyCredentialError) as info:
        _try("00010", "ABCD-EFGH-JKMN", ip="198.51.100.99")
    assert info.value.locked and "Trop de tentatives" in info.value.message


def test_attempts_are_stopped_per_ip_across_codes():
    make_company("00010", teledeclarant="ABCD-EFGH-JKMN")
    db.session.commit()
    for i in range(20):
        with pytest.raises(CompanyCredentialError):
            _try(f"{20000 + i:05d}", "WRONG", ip="203.0.113.5")
    with pytest.raises(CompanyCredentialError) as info:
        _try("00010", "ABCD-EFGH-JKMN", ip="203.0.113.5")
    assert info.value.locked
    assert _try("00010", "ABCD-EFGH-JKMN", ip="203.0.113.6").code == "00010"
