"""Markers read by the URL-map tests: everything is private unless marked public."""

from __future__ import annotations


def public(view):
    """Mark a view as reachable without login (the URL-map test checks every other one)."""
    view.is_public = True
    return view


def is_public(view) -> bool:
    return getattr(view, "is_public", False)


def accepts_any_body(view):
    """Let a view read a body that is not a form (JSON, ...): every other unsafe request must
    be `application/x-www-form-urlencoded` or `multipart/form-data` (see blueprints/input_guard.py)."""
    view.accepts_any_body = True
    return view
