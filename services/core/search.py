"""Pieces of the searches: LIKE patterns, and "every word in the employee's names"."""

from __future__ import annotations

from sqlalchemy import func, or_

from models.employees import Employee


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern written with `escape="\\"`."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def employee_names_contain(words: str) -> list:
    """WHERE clauses: each word (at most five) is in the birth name, usage name or first names."""
    clauses = []
    for word in words.split()[:5]:
        pattern = f"%{escape_like(word.lower())}%"
        clauses.append(
            or_(
                func.lower(Employee.birth_name).like(pattern, escape="\\"),
                func.lower(Employee.usage_name).like(pattern, escape="\\"),
                func.lower(Employee.first_names).like(pattern, escape="\\"),
            )
        )
    return clauses
