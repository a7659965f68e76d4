"""The OpenAPI 3.1 document of /api/v1, generated from the registered operations and their
marshmallow schemas (apispec), so the document cannot drift from the code."""

from __future__ import annotations

import re
from collections import defaultdict

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from blueprints.api.core import OPERATIONS, Operation, openapi_path
from blueprints.api.problems import PROBLEM_TYPES
from models.integration import SCOPES

API_VERSION = "1.0.0"
TAGS = ["Adhérents", "Salariés", "Créneaux", "Visites", "Demandes", "Facturation", "Webhooks"]
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
PROBLEM_STATUSES = {
    400: "Requête illisible (JSON invalide, curseur invalide, en-tête invalide)",
    401: "Jeton absent, invalide ou révoqué",
    403: "Le client n'a pas le droit nécessaire",
    404: "Ressource introuvable",
    409: "Conflit avec l'état actuel",
    412: "If-Match ne correspond plus à la version actuelle",
    413: "Envoi trop volumineux",
    415: "Le corps doit être du JSON",
    422: "Données invalides ou opération refusée",
    429: "Trop de requêtes pour ce client",
}


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


def _problem(status: int) -> dict:
    return {
        "description": PROBLEM_STATUSES.get(status, "Problème"),
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _operation(op: Operation) -> dict:
    parameters = []
    for converter, name in _PARAM.findall(op.rule):
        schema = {"type": "integer", "minimum": 1} if converter == "int" else {"type": "string", "maxLength": 9}
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    if op.query:
        parameters.append({"in": "query", "schema": op.query})
    if op.idempotent:
        parameters.append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "description": "Une clé unique par opération : la répéter renvoie la première réponse "
                "sans refaire l'opération.",
                "schema": {"type": "string", "maxLength": 200},
            }
        )
    if op.if_match:
        parameters.append(
            {
                "in": "header",
                "name": "If-Match",
                "required": False,
                "description": "L'ETag lu : la modification est refusée (412) si la ressource a changé depuis.",
                "schema": {"type": "string"},
            }
        )
    responses: dict = {}
    headers = {"ETag": {"description": "Version de la ressource", "schema": {"type": "string"}}} if op.etag else {}
    if op.status == 204 or op.response is None:
        responses["204"] = {"description": "Fait"}
    else:
        if op.paginated:
            content_schema = {
                "type": "object",
                "required": ["data", "next_cursor"],
                "properties": {
                    "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{_schema_name(op.response)}"}},
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": "À renvoyer dans `cursor` pour la page suivante.",
                    },
                },
            }
        else:
            content_schema = op.response
        ok = {"description": "Réussite", "content": {"application/json": {"schema": content_schema}}}
        if headers:
            ok["headers"] = headers
        responses[str(op.status)] = ok
        if op.endpoint == "api.put_member":
            responses["201"] = {**ok, "description": "Adhérent créé"}
            responses["200"] = {**ok, "description": "Adhérent mis à jour"}
    statuses = {400, 401, 429, *op.errors}
    if op.scope:
        statuses.add(403)
    if op.body:
        statuses |= {413, 415, 422}
    if op.query:
        statuses.add(422)
    if _PARAM.search(op.rule):
        statuses.add(404)
    for status in sorted(statuses):
        responses[str(status)] = _problem(status)
    result = {
        "operationId": op.endpoint.removeprefix("api."),
        "summary": op.summary,
        "description": op.description.strip() + (f"\n\nDroit nécessaire : `{op.scope}`." if op.scope else ""),
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}],
    }
    if op.body:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    return result


def build_spec(server_url: str, service_name: str) -> dict:
    spec = APISpec(
        title=f"API d'intégration – Portail adhérents {service_name}",
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": (
                "API JSON pour le logiciel métier du service : adhérents, salariés et déclarations, "
                "créneaux, visites, demandes de rendez-vous, facturation, webhooks. "
                "Authentification par jeton (`Authorization: Bearer …`), droits par client, "
                "pagination par curseur, erreurs au format RFC 9457."
            ),
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        servers=[{"url": server_url}],
        tags=[{"name": t} for t in TAGS],
    )
    spec.components.security_scheme(
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "Jeton d'un client d'intégration. Droits : " + ", ".join(SCOPES),
        },
    )
    spec.components.schema(
        "Problem",
        {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri", "description": "Un de : " + ", ".join(PROBLEM_TYPES)},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string", "description": "Explication en français"},
                "errors": {"type": "object", "description": "Par champ, la liste des erreurs"},
            },
        },
    )
    for op in OPERATIONS:
        if op.response is not None and _schema_name(op.response) not in spec.components.schemas:
            spec.components.schema(_schema_name(op.response), schema=op.response)
    by_path: dict[str, dict] = defaultdict(dict)
    for op in OPERATIONS:
        by_path[openapi_path(op.rule)][op.method.lower()] = _operation(op)
    for path in sorted(by_path):
        spec.path(path=path.removeprefix("/api/v1"), operations=by_path[path])
    return spec.to_dict()
