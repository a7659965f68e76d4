"""Configuration classes, fed by environment variables (and a .env file when present)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'portail.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL")
    PORTAL_BASE_URL = _env("PORTAL_BASE_URL", "http://localhost:5000").rstrip("/")

    # The service's identity: configuration, not code.
    SERVICE_NAME = _env("SERVICE_NAME", "AIST22 Santé au Travail")
    SERVICE_SHORT_NAME = _env("SERVICE_SHORT_NAME", "AIST22")
    SERVICE_LOGO = _env("SERVICE_LOGO", "img/logo.svg")
    SERVICE_ADDRESS = _env("SERVICE_ADDRESS", "10 rue de la Santé\n22000 Saint-Brieuc")
    SERVICE_SIRET = _env("SERVICE_SIRET", "00000000000000")
    SERVICE_VAT_NUMBER = _env("SERVICE_VAT_NUMBER", "FR00000000000")
    SERVICE_PHONE = _env("SERVICE_PHONE", "02 96 00 00 00")
    SERVICE_DOMAIN = _env("SERVICE_DOMAIN", "aist22.fr")
    SERVICE_SUPPORT_EMAIL = _env("SERVICE_SUPPORT_EMAIL", f"portailadh@{SERVICE_DOMAIN}")
    SERVICE_BILLING_EMAIL = _env("SERVICE_BILLING_EMAIL", f"cotisations@{SERVICE_DOMAIN}")
    SERVICE_PLANNING_EMAIL = _env("SERVICE_PLANNING_EMAIL", f"rendez-vous@{SERVICE_DOMAIN}")
    SERVICE_STAFF_EMAIL = _env("SERVICE_STAFF_EMAIL", f"salaries@{SERVICE_DOMAIN}")
    SERVICE_IBAN = _env("SERVICE_IBAN", "FR76 0000 0000 0000 0000 0000 000")
    SERVICE_BIC = _env("SERVICE_BIC", "AGRIFRPP000")
    # National average cost of the "ensemble socle" per employee, € HT, by year (arrêté of
    # 25/09/2025 for 2026): a grid's per-employee prices must lie within 80-120 % of it
    # (L4622-6 Code du travail). Add each year when its arrêté is published.
    NATIONAL_AVERAGE_COST = {2025: "115.50", 2026: "116.00"}
    # SEPA creditor identifier (ICS) given by the Banque de France; the default is a well-formed
    # placeholder for development and tests (FR + key + ZZZ + 6 digits).
    SEPA_CREDITOR_ID = _env("SEPA_CREDITOR_ID", "FR72ZZZ123456")

    # Mail: every message goes through the outbox table; the worker hands it to Flask-Mail.
    MAIL_SERVER = _env("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", f"noreply@{SERVICE_DOMAIN}")
    # "smtp" hands messages to MAIL_SERVER; "console" prints them (demo and development).
    MAIL_TRANSPORT = _env("MAIL_TRANSPORT", "smtp")
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 12)

    # Sessions and security.
    SESSION_COOKIE_NAME = "portail_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_int("SESSION_ABSOLUTE_HOURS", 12))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the server-side session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)  # number of trusted proxies in front
    HSTS = False
    # Key for the keyed hashes of credentials (n° télédéclarant). Defaults to SECRET_KEY.
    CREDENTIAL_HASH_KEY = _env("CREDENTIAL_HASH_KEY")
    # NIR encryption: Fernet keys, comma separated, newest first (rotation: prepend a new key,
    # run `flask employees rotate-nir-key`, then drop the old one). Required in production;
    # development and testing derive a deterministic key from SECRET_KEY when it is unset.
    NIR_ENCRYPTION_KEYS = _env("NIR_ENCRYPTION_KEYS")
    NIR_DERIVE_KEY_FROM_SECRET = False
    # Key of the NIR keyed hash (duplicate detection). Defaults to a key derived from SECRET_KEY.
    NIR_HASH_KEY = _env("NIR_HASH_KEY")
    # Argon2id cost (OWASP: m=19 MiB, t=2, p=1 at least).
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 1)

    RATELIMIT_STORAGE_URI = _env("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True

    DEV_MAILBOX = False  # the development-only mailbox page
    # Planning: cancel/move allowed until this many hours before a visit; past it, the no-show
    # rule applies (the fee is text shown to the employer, e.g. "80 € HT").
    VISIT_CANCEL_NOTICE_HOURS = _int("VISIT_CANCEL_NOTICE_HOURS", 48)
    NO_SHOW_FEE = _env("NO_SHOW_FEE", "80 € HT")
    # The amount (HT) the back office adds to the next invoice for a non-excused absence.
    NO_SHOW_FEE_AMOUNT = _env("NO_SHOW_FEE_AMOUNT", "80.00")
    SQLITE_BUSY_TIMEOUT_MS = 15000
    # Integration API: calls per client (Flask-Limiter syntax; Redis storage when REDIS_URL is
    # set), and how old a declaration must be before the change feed serves it (PostgreSQL).
    API_RATE_LIMIT = _env("API_RATE_LIMIT", "600/minute")
    API_FEED_SETTLE_SECONDS = _int("API_FEED_SETTLE_SECONDS", 5)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False
    MAIL_TRANSPORT = _env("MAIL_TRANSPORT", "console")
    DEV_MAILBOX = True
    NIR_DERIVE_KEY_FROM_SECRET = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PORTAL_BASE_URL = "http://portail.test"
    MAIL_TRANSPORT = "smtp"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 2525
    RATELIMIT_STORAGE_URI = "memory://"
    # Cheap hashes keep the suite fast; the algorithm (argon2id) is the production one.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    DEV_MAILBOX = True
    NIR_DERIVE_KEY_FROM_SECRET = True
    # The change feed serves declarations at once (a test of the delay sets it back).
    API_FEED_SETTLE_SECONDS = 0


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def select_config(name: str | None = None) -> type[Config]:
    """Pick the config class from an explicit name or PORTAIL_ENV (default: development)."""
    name = name or _env("PORTAIL_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"Unknown PORTAIL_ENV {name!r}; use one of {sorted(CONFIGS)}") from None


def ensure_secret_key(config: dict, instance_path: str) -> None:
    """Refuse production without SECRET_KEY; create a persistent one for development."""
    if config.get("SECRET_KEY"):
        if config.get("ENV_NAME") == "production" and len(config["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY must be at least 32 characters in production.")
        return
    if config.get("ENV_NAME") == "production":
        raise RuntimeError("SECRET_KEY is required in production (set it in the environment).")
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    config["SECRET_KEY"] = path.read_text().strip()
