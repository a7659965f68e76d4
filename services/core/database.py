"""Database plumbing: SQLite pragmas on every connection and write transactions that start
with BEGIN IMMEDIATE (so concurrent writers queue on busy_timeout instead of failing)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
_busy_timeout_ms = 15000


def set_write_intent(value: bool):
    """Mark the transactions that this request (or task) opens as writes; returns a token."""
    return _write_intent.set(value)


def reset_write_intent(token) -> None:
    _write_intent.reset(token)


@contextmanager
def write_intent():
    """Open the next transaction as a write (BEGIN IMMEDIATE on SQLite)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def configure(busy_timeout_ms: int) -> None:
    global _busy_timeout_ms
    _busy_timeout_ms = busy_timeout_ms


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record):
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN itself.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(_busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def ping() -> None:
    """One round trip to the database (the readiness probe); raises when it is unreachable."""
    from sqlalchemy import text

    from extensions import db

    db.session.execute(text("SELECT 1"))
