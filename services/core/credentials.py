"""Keyed hashes for credentials that must be compared but never stored (n° télédéclarant)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app

# Unambiguous characters for numbers a person types from a letter (no 0/O, 1/I/L).
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _key() -> bytes:
    cfg = current_app.config
    return (cfg.get("CREDENTIAL_HASH_KEY") or cfg["SECRET_KEY"]).encode()


def normalise_teledeclarant(value: str) -> str:
    """Spaces, dashes and case do not matter when a person types the number."""
    return "".join(c for c in value if not c.isspace() and c not in "-.").upper()


def hash_teledeclarant(code: str, number: str) -> str:
    """HMAC-SHA256 of the code and the number, so equal numbers of two companies differ."""
    message = f"{code}\x00{normalise_teledeclarant(number)}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def check_teledeclarant(code: str, number: str, stored_hash: str | None) -> bool:
    """Constant-time check; computes the hash even when nothing is stored (no timing signal)."""
    candidate = hash_teledeclarant(code, number)
    return hmac.compare_digest(candidate, stored_hash or "0" * 64) and stored_hash is not None


def generate_teledeclarant() -> str:
    """A new n° télédéclarant: 12 characters in groups of four (about 59 bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))
