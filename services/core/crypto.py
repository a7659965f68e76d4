"""The NIR: validation, masking, encryption at rest (MultiFernet, rotatable) and keyed hash.

The NIR never goes into a URL, a log, an audit detail or an e-mail: only the masked form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnum_nir


class NirKeyMissing(RuntimeError):
    """No NIR encryption key is configured (production requires NIR_ENCRYPTION_KEYS)."""


class NirError(ValueError):
    """An invalid NIR; the message is French and never repeats the number."""


# --------------------------------------------------------------------------- validation


def normalize_nir(value: str | None) -> str:
    """Upper case, spaces, dots and dashes removed ("2 95 10 99 126 111 93" -> "295109912611193")."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


# A temporary registration number (numéro d'inscription d'attente, NIA / NTT) starts with 7 or 8;
# DSN carries it until the definitive NIR is known. Its key is computed like the NIR's.
TEMPORARY_NIR_FIRST_DIGITS = ("7", "8")


def validate_nir(value: str, sex: str | None, birth_date: date | None) -> str:
    """The compact NIR when valid and consistent with sex (1 = M, 2 = F) and birth year/month."""
    nir = normalize_nir(value)
    if len(nir) != 15:
        raise NirError("Le numéro de sécurité sociale comporte 15 caractères (clé comprise).")
    try:
        stdnum_nir.validate(nir)
    except StdnumError:
        raise NirError("Le numéro de sécurité sociale n'est pas valide : vérifiez sa saisie et sa clé.") from None
    if nir[0] in TEMPORARY_NIR_FIRST_DIGITS:
        return nir  # a temporary number (NIA/NTT, used in DSN): sex and birth digits are not meaningful
    if sex in ("M", "F"):
        expected = "1" if sex == "M" else "2"
        if nir[0] != expected:
            raise NirError("Le premier chiffre du numéro de sécurité sociale ne correspond pas au sexe indiqué.")
    if birth_date is not None:
        if nir[1:3] != f"{birth_date.year % 100:02d}":
            raise NirError(
                "L'année de naissance du numéro de sécurité sociale ne correspond pas à la date de naissance."
            )
        month = int(nir[3:5])
        # 20-42 and 50-99 are used when the month of birth is unknown: accepted as they are.
        if not (20 <= month <= 42 or month >= 50) and month != birth_date.month:
            raise NirError(
                "Le mois de naissance du numéro de sécurité sociale ne correspond pas à la date de naissance."
            )
    return nir


def mask_nir(nir: str | None) -> str:
    """ "2 95 10 ** *** *** 93": sex, year and month of birth and the key, the rest hidden."""
    if not nir:
        return ""
    nir = normalize_nir(nir)
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} ** *** *** {nir[13:15]}"


def format_nir(nir: str) -> str:
    """The full NIR in groups: "2 95 10 99 126 111 93"."""
    nir = normalize_nir(nir)
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:15]}"


# --------------------------------------------------------------------------- keys


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def _encryption_keys(config=None) -> list[bytes]:
    config = config if config is not None else current_app.config
    raw = config.get("NIR_ENCRYPTION_KEYS")
    if raw:
        return [k.strip().encode() for k in raw.split(",") if k.strip()]
    if config.get("NIR_DERIVE_KEY_FROM_SECRET") and config.get("SECRET_KEY"):
        return [base64.urlsafe_b64encode(_derive(config["SECRET_KEY"], b"portail-nir-encryption"))]
    raise NirKeyMissing("NIR_ENCRYPTION_KEYS is not set: refusing to store a NIR.")


def _fernet(config=None) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _encryption_keys(config)])


def _hash_key(config=None) -> bytes:
    config = config if config is not None else current_app.config
    if config.get("NIR_HASH_KEY"):
        return config["NIR_HASH_KEY"].encode()
    return _derive(config["SECRET_KEY"], b"portail-nir-hash")


def generate_key() -> str:
    return Fernet.generate_key().decode()


# --------------------------------------------------------------------------- operations


def encrypt_nir(nir: str) -> str:
    return _fernet().encrypt(normalize_nir(nir).encode()).decode()


def decrypt_nir(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise NirKeyMissing("This NIR was encrypted with a key that is no longer configured.") from None


def seal(data: bytes) -> str:
    """Encrypt and sign `data` (e.g. a DSN checked but not yet applied, carried by the form)."""
    return _fernet().encrypt(data).decode()


def unseal(token: str, max_age_seconds: int) -> bytes | None:
    """The data `seal` produced, or None when forged, from another key or older than the limit."""
    try:
        return _fernet().decrypt(token.encode(), ttl=max_age_seconds)
    except (InvalidToken, ValueError):
        return None


def nir_hash(nir: str) -> str:
    """HMAC-SHA256 of the compact NIR (64 hex characters), for duplicate detection."""
    return hmac.new(_hash_key(), normalize_nir(nir).encode(), hashlib.sha256).hexdigest()


def rotate_nir_keys(batch_size: int = 500) -> int:
    """Re-encrypt every stored NIR with the newest key; returns how many were rewritten.
    The caller commits."""
    from sqlalchemy import select

    from extensions import db
    from models.employees import Employee

    fernet = _fernet()
    rotated = 0
    last_id = 0
    while True:
        rows = (
            db.session.execute(
                select(Employee)
                .where(Employee.nir_encrypted.is_not(None), Employee.id > last_id)
                .order_by(Employee.id)
                .limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not rows:
            return rotated
        for employee in rows:
            employee.nir_encrypted = fernet.rotate(employee.nir_encrypted.encode()).decode()
            rotated += 1
            last_id = employee.id
        db.session.flush()
