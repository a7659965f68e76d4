"""NIR validation, masking, encryption, keyed hash and key rotation."""

from datetime import date

import pytest
from flask import current_app

from extensions import db
from services.core import crypto
from services.core.crypto import NirError, NirKeyMissing
from tests.factories import make_company, make_employee

NIR = "295109912611193"  # F, born 10/1995


@pytest.mark.parametrize(
    ("value", "sex", "birth", "ok"),
    [
        (NIR, "F", date(1995, 10, 3), True),
        ("2 95 10 99 126 111 93", "F", date(1995, 10, 3), True),
        ("253072B07300470", "F", date(1953, 7, 1), True),  # Corsica
        ("253072b07300470", "F", date(1953, 7, 1), True),
        (NIR, "M", date(1995, 10, 3), False),  # sex
        (NIR, "F", date(1996, 10, 3), False),  # year
        (NIR, "F", date(1995, 11, 3), False),  # month
        ("295109912611194", "F", date(1995, 10, 3), False),  # key
        ("29510991261119", "F", date(1995, 10, 3), False),  # length
        ("ABCDEFGHIJKLMNO", "F", date(1995, 10, 3), False),
    ],
)
def test_validate_nir(value, sex, birth, ok):
    if ok:
        assert len(crypto.validate_nir(value, sex, birth)) == 15
    else:
        with pytest.raises(NirError) as exc:
            crypto.validate_nir(value, sex, birth)
        assert "99126" not in str(exc.value)


def test_special_months_are_accepted():
    # Month 20-42 or 50+ when the birth month is unknown: build a valid key for month 30.
    body = "2953099126111"
    nir = body + f"{97 - int(body) % 97:02d}"
    assert crypto.validate_nir(nir, "F", date(1995, 4, 1)) == nir


def test_mask_nir():
    assert crypto.mask_nir(NIR) == "2 95 10 ** *** *** 93"
    assert crypto.mask_nir(None) == ""
    assert crypto.format_nir(NIR) == "2 95 10 99 126 111 93"


def test_encrypt_round_trip_and_hash():
    token = crypto.encrypt_nir(NIR)
    assert NIR not in token
    assert crypto.decrypt_nir(token) == NIR
    assert crypto.nir_hash(NIR) == crypto.nir_hash("2 95 10 99 126 111 93")
    assert len(crypto.nir_hash(NIR)) == 64 and NIR not in crypto.nir_hash(NIR)


def test_hash_is_keyed(app):
    before = crypto.nir_hash(NIR)
    app.config["NIR_HASH_KEY"] = "another-key"
    try:
        assert crypto.nir_hash(NIR) != before
    finally:
        app.config["NIR_HASH_KEY"] = None


def test_production_refuses_to_encrypt_without_key(app):
    app.config.update(NIR_DERIVE_KEY_FROM_SECRET=False, NIR_ENCRYPTION_KEYS=None)
    try:
        with pytest.raises(NirKeyMissing):
            crypto.encrypt_nir(NIR)
    finally:
        app.config["NIR_DERIVE_KEY_FROM_SECRET"] = True


def test_rotation_re_encrypts_with_the_newest_key(app, runner):
    old, new = crypto.generate_key(), crypto.generate_key()
    app.config["NIR_ENCRYPTION_KEYS"] = old
    try:
        company = make_company()
        employee = make_employee(company, sex="F", birth_date=date(1995, 10, 3), nir_encrypted=crypto.encrypt_nir(NIR))
        db.session.commit()
        app.config["NIR_ENCRYPTION_KEYS"] = f"{new},{old}"
        result = runner.invoke(args=["employees", "rotate-nir-key"])
        assert result.exit_code == 0, result.output
        assert "1" in result.output
        db.session.expire_all()
        app.config["NIR_ENCRYPTION_KEYS"] = new
        assert crypto.decrypt_nir(db.session.get(type(employee), employee.id).nir_encrypted) == NIR
    finally:
        current_app.config["NIR_ENCRYPTION_KEYS"] = None
