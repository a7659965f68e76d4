"""API: members and their sites (upsert by code adhérent), and the client's webhook subscription."""

from __future__ import annotations

from blueprints.api import schemas
from blueprints.api.core import Created, Page, check_if_match, decode_cursor, load_or_404, operation, page_of
from blueprints.api.problems import ApiProblem
from services.integration import clients as api_clients
from services.integration import resources as api_resources


@operation(
    "/members",
    "GET",
    summary="Lister les adhérents et établissements",
    tag="Adhérents",
    scope="members:read",
    query=schemas.ListQuery,
    response=schemas.MemberSchema,
    paginated=True,
)
def list_members(client, args, data):
    """Les adhérents et leurs établissements, dans l'ordre de création ; un établissement
    porte le code de son adhérent dans `parent_code`."""
    rows = api_resources.list_members(decode_cursor(args.get("cursor")), args["limit"])
    return page_of(rows, args["limit"])


@operation(
    "/members/<member_code>",
    "GET",
    summary="Lire un adhérent ou un établissement",
    tag="Adhérents",
    scope="members:read",
    response=schemas.MemberSchema,
    etag=True,
    errors=(404,),
)
def get_member(client, args, data, member_code):
    """Un adhérent ou un établissement par son code (`00010`, `00010-2`), avec son ETag."""
    return load_or_404(api_resources.member_by_code, member_code, what="Aucun adhérent n'a ce code.")


@operation(
    "/members/<member_code>",
    "PUT",
    summary="Créer ou mettre à jour un adhérent (upsert)",
    tag="Adhérents",
    scope="members:write",
    body=schemas.MemberSchema,
    response=schemas.MemberSchema,
    etag=True,
    if_match=True,
    errors=(404, 409, 412, 422),
)
def put_member(client, args, data, member_code):
    """Crée l'adhérent (ou l'établissement `00010-2`) de ce code, ou met à jour les champs
    envoyés. Un nouvel adhérent reçoit son n° télédéclarant du service par courrier, jamais par
    l'API. Envoyez `If-Match` avec l'ETag lu pour ne pas écraser une modification faite
    entre-temps."""
    current = api_resources.member_by_code(member_code)
    if current is not None:
        check_if_match(schemas.MemberSchema().dump(current))
    try:
        company, created = api_resources.upsert_member(member_code, data)
    except api_resources.ApiOperationError as exc:
        raise ApiProblem(exc.kind, str(exc), errors={exc.field: [str(exc)]} if exc.field else None) from None
    return Created(company) if created else company


@operation(
    "/webhook",
    "GET",
    summary="Lire l'abonnement aux événements",
    tag="Webhooks",
    scope="webhooks:write",
    response=schemas.WebhookSchema,
    etag=True,
)
def get_webhook(client, args, data):
    """L'adresse où le service envoie les événements, et les événements choisis."""
    return schemas.webhook_of(client)


@operation(
    "/webhook",
    "PUT",
    summary="S'abonner aux événements",
    tag="Webhooks",
    scope="webhooks:write",
    body=schemas.WebhookSchema,
    response=schemas.WebhookSchema,
    etag=True,
    if_match=True,
    errors=(412, 422),
)
def put_webhook(client, args, data):
    """Choisit l'adresse et les événements ; chaque envoi est signé (voir « Webhooks »)."""
    check_if_match(schemas.webhook_of(client))
    try:
        api_clients.set_webhook(client, data.get("url"), data.get("events") or [])
    except api_clients.ClientError as exc:
        raise ApiProblem("validation", str(exc), errors={exc.field: [str(exc)]}) from None
    return schemas.webhook_of(client)


__all__ = ["Page"]
