"""The request-level input guard: form routes take form encodings only. Runs before every other
hook (CSRF included) so that no form is ever built from a JSON or other body (Flask-WTF would
read JSON as form data and hand lists or numbers to validators that expect text)."""

from __future__ import annotations

from flask import current_app, request

from blueprints.errors import render_error

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def refuse_non_form_bodies():
    """415 with a short French message for an unsafe request whose body is not a form."""
    if request.method not in UNSAFE_METHODS:
        return None
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        return None  # answered 413 by app.refuse_oversized_bodies, whatever its type
    mimetype = request.mimetype
    if mimetype in FORM_MIMETYPES or (not mimetype and not _has_body()):
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "accepts_any_body", False):
        return None
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if blueprint is not None and getattr(blueprint, "accepts_any_body", False):
        return None  # a whole blueprint that reads JSON (an API) sets `bp.accepts_any_body = True`
    return render_error(415)


def init_app(app) -> None:
    # First of the app-wide before_request hooks, whatever was registered earlier.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_non_form_bodies)
