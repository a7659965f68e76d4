"""What the back office shows from other features: dashboard counts and member-page sections.

Features plug in with `register(provider)` (dashboard) and `register_member_section(provider)`
(a member's page), usually from their blueprint's `__init__.py`. The back office renders what
providers give and nothing otherwise, so it never imports unfinished features."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from extensions import db


@dataclass(frozen=True)
class Link:
    """Where a row or a count leads: an endpoint and its values; the template builds the URL
    (services know no request, so they never build one)."""

    endpoint: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DashboardItem:
    """A count of things waiting for the staff, with the list it links to (endpoint or None;
    the dashboard links only to endpoints this deployment has)."""

    key: str
    label: str
    count: int
    endpoint: str | None = None
    values: dict = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class SectionRow:
    label: str
    value: str = ""
    link: Link | None = None


@dataclass(frozen=True)
class MemberSection:
    """A section of a member's page (declarations, invoices, messages...)."""

    key: str
    title: str
    rows: list[SectionRow]
    empty_text: str = "Rien à afficher."
    more: Link | None = None
    order: int = 100


DashboardProvider = Callable[[], "list[DashboardItem] | DashboardItem | None"]
MemberSectionProvider = Callable[[object], "MemberSection | None"]

_DASHBOARD: dict[str, DashboardProvider] = {}
_MEMBER_SECTIONS: dict[str, MemberSectionProvider] = {}


def register(provider: DashboardProvider, key: str | None = None) -> DashboardProvider:
    """Add a dashboard provider (a callable returning items). Usable as a decorator."""
    _DASHBOARD[key or f"{provider.__module__}.{provider.__qualname__}"] = provider
    return provider


def register_member_section(provider: MemberSectionProvider, key: str | None = None) -> MemberSectionProvider:
    """Add a member-page provider: called with the company, returns a MemberSection or None."""
    _MEMBER_SECTIONS[key or f"{provider.__module__}.{provider.__qualname__}"] = provider
    return provider


def dashboard_items() -> list[DashboardItem]:
    items: list[DashboardItem] = []
    for provider in list(_DASHBOARD.values()):
        result = provider()
        if result is None:
            continue
        items.extend(result if isinstance(result, list) else [result])
    return sorted(items, key=lambda item: (item.order, item.label))


def member_sections(company) -> list[MemberSection]:
    sections = [s for s in (p(company) for p in list(_MEMBER_SECTIONS.values())) if s is not None]
    return sorted(sections, key=lambda s: (s.order, s.title))


# --------------------------------------------------------------------------- built-in providers


def optional_model(module: str, name: str):
    """The model class when the feature that defines it is installed, else None. The one
    place where the back office looks for other features' models."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _count(model, *conditions) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


@register
def planning_waiting() -> list[DashboardItem]:
    """Appointment requests waiting for an answer and visits the employer has not confirmed."""
    from models.planning import AppointmentRequest, Visit

    return [
        DashboardItem(
            "requests",
            "Demandes de rendez-vous en attente",
            _count(AppointmentRequest, AppointmentRequest.status == "en_attente"),
            endpoint="service.requests",
            order=10,
        ),
        DashboardItem(
            "unconfirmed_visits",
            "Visites proposées non confirmées",
            _count(Visit, Visit.status == "proposee"),
            endpoint="service.visits",
            values={"statut": "proposee"},
            order=20,
        ),
    ]


@register
def contact_messages_waiting() -> DashboardItem | None:
    """New contact messages, once the support feature provides its model."""
    message = optional_model("models.support", "ContactMessage")
    if message is None or not hasattr(message, "status"):
        return None
    return DashboardItem(
        "messages",
        "Messages de contact nouveaux",
        _count(message, message.status == "nouveau"),
        endpoint="service.messages",
        values={"statut": "nouveau"},
        order=30,
    )
