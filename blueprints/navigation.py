"""The member space's rubriques, registered by each blueprint; the layout and the member
home read them, filtered by the rights of the active membership."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rubrique:
    key: str
    label: str
    endpoint: str  # takes `code` as its only URL argument
    description: str
    right: str | None  # from services.companies.access.RIGHTS; None: everyone with access
    order: int
    icon: str = ""
    # What the description says to a role without the planning right (no promise of requests).
    description_without_planning: str = ""


_RUBRIQUES: dict[str, Rubrique] = {}


def register(rubrique: Rubrique) -> None:
    _RUBRIQUES[rubrique.key] = rubrique


def rubriques() -> list[Rubrique]:
    return sorted(_RUBRIQUES.values(), key=lambda r: r.order)


def visible_rubriques(membership) -> list[Rubrique]:
    from dataclasses import replace

    from services.companies.access import has_right

    visible = [r for r in rubriques() if r.right is None or has_right(membership, r.right)]
    if has_right(membership, "planning"):
        return visible
    return [
        replace(r, description=r.description_without_planning) if r.description_without_planning else r for r in visible
    ]


def safe_next_path(value: str | None) -> str | None:
    """A same-site path to go back to after login, or None. Refuses `//x`, `/\\x`, `\\\\x`,
    schemes, control characters and leading spaces."""
    if not value:
        return None
    value = value.rstrip("?")
    if value != value.strip() or any(ord(c) < 32 or c == "\\" for c in value):
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def page_arg(name: str = "page", *, source=None, most: int = 100_000) -> int:
    """The page number of a list from the query string (or `source`, e.g. request.values):
    1 when absent or not a number, at most `most` (a stale or forged link never errs)."""
    from flask import request

    value = str((request.args if source is None else source).get(name, "") or "").strip()
    if not value.isdecimal():
        return 1
    return max(1, min(int(value[:9]), most))
