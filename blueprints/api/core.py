"""The API's plumbing: bearer authentication, scopes, rate limit, audit of every call, JSON
bodies, cursor pagination, Idempotency-Key, ETag/If-Match, problem details, and the registry
of operations from which the OpenAPI document is generated (blueprints/api/spec.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import json
import re
from dataclasses import dataclass, field
from functools import wraps

from flask import current_app, g, request
from marshmallow import EXCLUDE, RAISE, ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from blueprints.api import bp
from blueprints.api.problems import ApiProblem, problem_response, status_problem
from blueprints.login_session import client_ip
from extensions import csrf, db, limiter
from models.integration import ApiIdempotencyKey
from services.core import database
from services.integration import clients as api_clients
from services.integration import webhooks as api_webhooks  # noqa: F401 - importing it registers its flush listener

# The API authenticates each call by its bearer token and sends no cookie: CSRF does not apply.
csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.openapi", "api.reference"}


@dataclass
class Operation:
    """One documented operation: what the OpenAPI document says about a view."""

    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    scope: str | None
    query: type | None = None
    body: type | None = None
    response: type | None = None
    status: int = 200
    paginated: bool = False
    etag: bool = False
    if_match: bool = False
    idempotent: bool = False
    errors: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []


@dataclass
class Page:
    """A page of a list: its items and the cursor of the next page (None at the end)."""

    items: list
    next_cursor: str | None


@dataclass
class Created:
    """What a view returns when it created the resource (201 instead of the usual status)."""

    obj: object


# --------------------------------------------------------------------------- cursors


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The last id seen (0 for the first page); a cursor we did not write is a 400."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "v1" or not number.isdigit() or len(number) > 18:
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem("requete-invalide", "Curseur invalide : reprenez le « next_cursor » d'une réponse.") from None


def page_of(rows: list, limit: int, key=lambda row: row.id) -> Page:
    """Rows fetched with LIMIT limit + 1, in ascending key order -> a page and its cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(key(rows[-1])) if more and rows else None)


# --------------------------------------------------------------------------- hooks


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600/minute")


# One bucket per token (its hash), in Flask-Limiter's storage: Redis when REDIS_URL is set
# (every worker and server counts together), else memory (per process).
limiter.limit(
    _rate_limit,
    key_func=lambda: api_clients.rate_key(request.headers.get("Authorization")),
    exempt_when=lambda: request.endpoint in PUBLIC_ENDPOINTS,  # the document and its page
)(bp)


@bp.before_request
def authenticate():
    # Every API call writes (its audit row): open the transaction as a write on SQLite.
    g._api_write_token = database.set_write_intent(True)
    if request.endpoint in PUBLIC_ENDPOINTS:
        g.api_client = None
        return None
    client = api_clients.authenticate(request.headers.get("Authorization"))
    if client is None:
        return problem_response(ApiProblem("authentification-requise"))
    g.api_client = client
    return None


@bp.after_request
def audit_call(response):
    client = g.get("api_client")
    if client is not None:
        try:
            db.session.rollback()  # whatever the view left uncommitted is not ours to keep
            api_clients.record_call(client, request.method, request.endpoint, response.status_code, client_ip())
            db.session.commit()
        except Exception:  # pragma: no cover - the audit must not turn an answer into a 500
            db.session.rollback()
            current_app.logger.exception("API call audit failed")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.teardown_request
def _reset_write_intent(_exc):
    token = g.pop("_api_write_token", None)
    if token is not None:
        database.reset_write_intent(token)


@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem):
    db.session.rollback()
    return problem_response(exc)


@bp.errorhandler(HTTPException)
def _http_problem(exc: HTTPException):
    db.session.rollback()
    return status_problem(exc.code or 500)


# --------------------------------------------------------------------------- bodies


def _load_query(schema_class):
    try:
        return schema_class(unknown=EXCLUDE).load(request.args.to_dict())
    except ValidationError as exc:
        raise ApiProblem("validation", "Paramètres de requête invalides.", errors=exc.messages) from None


def _load_body(schema_class):
    if not request.is_json:
        raise ApiProblem("type-de-contenu")
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiProblem("requete-invalide", "Le corps n'est pas un JSON valide.")
    if not isinstance(payload, dict):
        raise ApiProblem("validation", "Le corps doit être un objet JSON.")
    try:
        return schema_class(unknown=RAISE).load(payload)
    except ValidationError as exc:
        raise ApiProblem("validation", "Certains champs sont invalides.", errors=exc.messages) from None


def etag_of(body) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def check_if_match(current_body) -> None:
    """Refuse an update sent with an If-Match that is not the current version's ETag (412)."""
    wanted = request.headers.get("If-Match")
    if not wanted or wanted.strip() == "*":
        return
    tags = [t.strip().removeprefix("W/") for t in wanted.split(",")]
    if etag_of(current_body) not in tags:
        raise ApiProblem(
            "version-perimee",
            "La ressource a changé depuis votre lecture : relisez-la puis renvoyez la modification.",
        )


# --------------------------------------------------------------------------- operations

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(rule: str) -> str:
    return bp.url_prefix + _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def _json_response(body, status: int, etag: bool):
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, default=str), status=status, mimetype="application/json"
    )
    if etag:
        response.headers["ETag"] = etag_of(body)
    return response


def _dump(op: Operation, result):
    if isinstance(result, Page):
        schema = op.response(many=True)
        return {"data": schema.dump(result.items), "next_cursor": result.next_cursor}
    return op.response().dump(result)


def _request_hash() -> str:
    raw = request.method.encode() + b" " + request.full_path.encode() + b"\n" + request.get_data()
    return hashlib.sha256(raw).hexdigest()


def _replay(row: ApiIdempotencyKey):
    response = current_app.response_class(row.response_body, status=row.status_code, mimetype="application/json")
    for name, value in (row.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise ApiProblem("requete-invalide", "L'en-tête Idempotency-Key doit faire de 1 à 200 caractères imprimables.")
    return key


def operation(rule: str, method: str, *, summary: str, tag: str, scope: str | None, description: str = "", **meta):
    """Register an API view: its route, its scope, how to read and answer it, its documentation.
    The view's docstring is the French text of the reference page (what integrators read),
    the one departure from English docstrings in the code.

    The view receives `client`, `args` (query), `data` (body) and the path values; it returns a
    model object (dumped with `response`), a Page, or None (204). This wrapper commits."""

    def decorator(view):
        op = Operation(
            rule,
            method,
            f"api.{view.__name__}",
            summary,
            description or inspect.cleandoc(view.__doc__ or ""),
            tag,
            scope,
            **meta,
        )

        @wraps(view)
        def wrapped(**path):
            client = g.api_client
            if op.scope and not client.allows(op.scope):
                raise ApiProblem("droit-manquant", f"Ce client n'a pas le droit « {op.scope} ».")
            args = _load_query(op.query) if op.query else {}
            key = _idempotency_key() if op.idempotent else None
            request_hash = _request_hash() if key else None
            if key:
                stored = api_clients.stored_answer(client.id, key)
                if stored is not None:
                    if stored.request_hash != request_hash:
                        raise ApiProblem("cle-idempotence-reutilisee", "Cette clé a déjà servi pour une autre requête.")
                    return _replay(stored)
            data = _load_body(op.body) if op.body else {}
            result = view(client=client, args=args, data=data, **path)
            if result is None:
                db.session.commit()
                return current_app.response_class(status=204)
            status = op.status
            if isinstance(result, Created):
                status, result = 201, result.obj
            body = _dump(op, result)
            if key:
                api_clients.store_answer(
                    client.id,
                    key,
                    request_hash,
                    status,
                    json.dumps(body, ensure_ascii=False, default=str),
                    {"ETag": etag_of(body)} if op.etag else None,
                )
            try:
                db.session.commit()
            except IntegrityError:
                # The same key sent twice at once: the other request won; answer as it did.
                db.session.rollback()
                stored = api_clients.stored_answer(client.id, key) if key else None
                if stored is None:
                    raise ApiProblem("conflit", "Une modification concurrente a eu lieu : réessayez.") from None
                return _replay(stored)
            return _json_response(body, status, op.etag)

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[method])
        OPERATIONS.append(op)
        return wrapped

    return decorator


def load_or_404(loader, *args, what: str = "Cette ressource n'existe pas."):
    """Call a service loader; None becomes a 404 problem."""
    obj = loader(*args)
    if obj is None:
        raise ApiProblem("introuvable", what)
    return obj
