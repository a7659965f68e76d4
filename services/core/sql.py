"""The SQL speed machinery, in one place; docs/PERFORMANCE.md says why each trick exists.

- `cached_statement`: a statement built once per process and reused, for the lists and
  counts that run on every request. Building a SELECT and computing its cache key cost as
  much as running it on an indexed table; a reused statement object skips both. Values stay
  bound parameters; the builder's arguments are the statement's *shape* (which filters are
  present), never user values. The key holds the database dialect, for the builders whose
  SQL differs between SQLite and PostgreSQL (and for a process that serves both, as tests do).
- `inline` / `inline_list`: a value written into the SQL text instead of bound. Only for
  constants of the code (statuses), never for user input: the planner must see the value to
  match a partial index (e.g. ix_visits_active_company_start, WHERE status IN (...)).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import bindparam, literal

from extensions import db


def dialect_name() -> str:
    """ "sqlite" or "postgresql": the database the app talks to."""
    return db.engine.dialect.name


def cached_statement(builder):
    """Decorator: one statement per (dialect, shape arguments), built on first use."""
    statements: dict = {}

    @functools.wraps(builder)
    def statement(*shape):
        key = (dialect_name(), shape)
        try:
            return statements[key]
        except KeyError:
            built = statements[key] = builder(*shape)
            return built

    statement.cache_clear = statements.clear
    return statement


def inline(value, type_=None):
    """`value` written into the SQL text (a constant of the code, see the module's doc)."""
    return literal(value, type_, literal_execute=True)


def inline_list(name: str, values: Iterable):
    """`IN (v1, v2, ...)` with the values written into the SQL text (constants of the code)."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)
