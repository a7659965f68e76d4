"""Password hashing (argon2id) and the password policy of SECURITY.md (CNIL 2022-100)."""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
# A fixed hash to verify against when the account does not exist (equal timing).
_DUMMY_SECRET = "dummy-password-for-timing"  # noqa: S105 - not a credential


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return _cached_hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


@lru_cache(maxsize=4)
def _cached_hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher().hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches. Always does the same work, even without a hash."""
    hasher = _hasher()
    if not stored_hash:
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(hasher), normalise(password) + "x")
        return False
    try:
        return hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


_dummy_cache: dict[tuple, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _dummy_cache:
        _dummy_cache[key] = hasher.hash(_DUMMY_SECRET)
    return _dummy_cache[key]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    words = _COMMON_FILE.read_text(encoding="utf-8").split()
    return frozenset(w.strip().lower() for w in words if w.strip())


def password_problems(password: str, *, email: str = "", names: tuple[str, ...] = ()) -> list[str]:
    """French messages for every rule the password breaks (empty list: acceptable)."""
    problems = []
    pw = normalise(password or "")
    if len(pw) < MIN_LENGTH:
        problems.append(f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères.")
    if len(pw) > MAX_LENGTH:
        problems.append(f"Le mot de passe doit contenir au plus {MAX_LENGTH} caractères.")
    lowered = pw.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!.") in common_passwords():
        problems.append("Ce mot de passe est trop courant : choisissez-en un autre.")
    local = (email or "").split("@")[0].lower()
    if local and len(local) >= 3 and local in lowered:
        problems.append("Le mot de passe ne doit pas contenir votre adresse e-mail.")
    for name in names:
        if name and len(name) >= 3 and name.lower() in lowered:
            problems.append("Le mot de passe ne doit pas contenir votre nom ou votre prénom.")
            break
    if any(unicodedata.category(c) == "Cc" for c in pw):
        problems.append("Le mot de passe contient des caractères non autorisés.")
    return problems


def generate_temporary_secret(length: int = 14) -> str:
    """A random temporary password or reset code (readable, no ambiguous characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))
