"""What needs attention per company ("À traiter" in "Mes entreprises"): a registry of providers
that later features plug into (declaration to make, unpaid invoice, visits to plan...).

A provider is `fn(company_ids) -> {company_id: [French labels]}` and must answer for all the
ids in ONE query, so that the overview keeps a fixed number of queries whatever the count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.employees import presence

Provider = Callable[[list[int]], dict[int, list[str]]]

_PROVIDERS: list[Provider] = []


def register(fn: Provider) -> Provider:
    """Add a provider (usable as a decorator); registering the same function twice is a no-op."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)
    return fn


def unregister(fn: Provider) -> None:
    if fn in _PROVIDERS:
        _PROVIDERS.remove(fn)


def labels_for(company_ids: Iterable[int], *, present_counts: dict[int, int] | None = None) -> dict[int, list[str]]:
    """Every provider's labels merged per company (one query per provider, none without ids).
    `present_counts` ({company_id: present employees}), when the caller already read them for
    every id (the overview's page does), spares the employee count query."""
    ids = list(company_ids)
    merged: dict[int, list[str]] = {}
    if not ids:
        return merged
    for company_id in no_employee_declared(ids, present_counts):
        merged.setdefault(company_id, []).append("Aucun salarié déclaré")
    for provider in list(_PROVIDERS):
        for company_id, labels in (provider(ids) or {}).items():
            merged.setdefault(company_id, []).extend(labels)
    return merged


def no_employee_declared(company_ids: list[int], present_counts: dict[int, int] | None = None) -> list[int]:
    """Companies with no present employee at all (the first label of every company)."""
    if present_counts is None or not all(cid in present_counts for cid in company_ids):
        present_counts = presence.present_employee_counts(company_ids)
    return [cid for cid in company_ids if not present_counts.get(cid)]
