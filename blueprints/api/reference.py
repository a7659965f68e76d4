"""The OpenAPI document (/api/v1/openapi.json) and its readable reference page, both public."""

from __future__ import annotations

import re

from flask import current_app, jsonify, render_template, url_for
from markupsafe import Markup, escape

from blueprints.api import bp
from blueprints.api.core import OPERATIONS
from blueprints.api.problems import PROBLEM_TYPES
from blueprints.api.spec import build_spec
from blueprints.security import public
from models.integration import SCOPES, WEBHOOK_EVENTS

_INLINE_CODE = re.compile(r"`([^`]+)`")


@bp.app_template_filter("api_inline_code")
def api_inline_code(text: str | None) -> Markup:
    """The document's Markdown `code` spans as <code>, everything else escaped."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text or ""))))  # noqa: S704 - escaped first


def _spec() -> dict:
    # Built once per process: it depends only on the code and the configured base URL.
    cached = current_app.extensions.get("api_spec")
    if cached is None:
        base = current_app.config["PORTAL_BASE_URL"] + url_for("api.openapi").removesuffix("/openapi.json")
        cached = build_spec(base, current_app.config["SERVICE_SHORT_NAME"])
        current_app.extensions["api_spec"] = cached
    return cached


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document, generated from the code."""
    return jsonify(_spec())


@bp.get("/")
@public
def reference():
    """The API reference, readable without JavaScript."""
    spec = _spec()
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            operations.append({"path": "/api/v1" + path, "method": method.upper(), **op})
    order = {tag: i for i, tag in enumerate(t["name"] for t in spec["tags"])}
    operations.sort(key=lambda o: (order.get(o["tags"][0], 99), o["path"], o["method"]))
    return render_template(
        "api/reference.html",
        spec=spec,
        operations=operations,
        schemas=spec["components"]["schemas"],
        problems=PROBLEM_TYPES,
        scopes=SCOPES,
        events=WEBHOOK_EVENTS,
        count=len(OPERATIONS),
    )
