"""htmx glue: one URL answers a whole page or the fragment an htmx request targets."""

from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of a page (not a history restore, not a
    request that targets the whole body)."""
    if not is_htmx() or request.headers.get("HX-History-Restore-Request") == "true":
        return False
    return request.headers.get("HX-Request-Type", "partial") != "full"


def render(page: str, fragment: str | None = None, *, status: int = 200, **context):
    """Render `page` for a normal request and `fragment` for an htmx one (Vary: HX-Request).

    The page template includes the fragment, so both show the same markup."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url: str, status: int = 303):
    """Redirect a normal request; ask htmx to navigate for an htmx one."""
    from flask import redirect

    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        response.vary.add("HX-Request")
        return response
    return redirect(url, code=status)
