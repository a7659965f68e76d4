"""Markers read by the URL-map tests: everything is private unless marked public."""

from __future__ import annotations


def public(view):
    """Mark a view as reachable without login (the URL-map test checks every other one)."""
    view.is_public = True
    return view


def is_public(view) -> bool:
    return getattr(view, "is_public", False)
