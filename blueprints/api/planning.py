"""API: slots (create, remove free ones), visits (read, record the outcome with its PDF) and
appointment requests (read, answer)."""

from __future__ import annotations

import base64
import binascii

from sqlalchemy.exc import IntegrityError

from blueprints.api import schemas
from blueprints.api.core import Created, check_if_match, decode_cursor, load_or_404, operation, page_of
from blueprints.api.problems import ApiProblem
from models.base import utcnow
from models.planning import AppointmentRequest, Slot, Visit
from services.integration import resources as api_resources
from services.planning.common import PlanningError, SlotTaken
from services.planning.slot_series import SeriesError, remove_free_slots
from services.staff import operations as service_ops


def _refused(exc: Exception, kind: str = "operation-refusee"):
    field = getattr(exc, "field", None)
    return ApiProblem(getattr(exc, "kind", kind), str(exc), errors={field: [str(exc)]} if field else None)


@operation(
    "/slots",
    "GET",
    summary="Lister les créneaux",
    tag="Créneaux",
    scope="slots:write",
    query=schemas.SlotQuery,
    response=schemas.SlotSchema,
    paginated=True,
)
def list_slots(client, args, data):
    """Les créneaux par identifiant croissant, éventuellement à partir d'un instant."""
    rows = api_resources.list_slots(decode_cursor(args.get("cursor")), args["limit"], args.get("starts_after"))
    return page_of(rows, args["limit"])


@operation(
    "/slots",
    "POST",
    summary="Créer un créneau",
    tag="Créneaux",
    scope="slots:write",
    body=schemas.SlotIn,
    response=schemas.SlotSchema,
    status=201,
    idempotent=True,
    errors=(409, 422),
)
def create_slot(client, args, data):
    """Ouvre un créneau d'un professionnel dans un centre (créés au premier usage, par leur
    nom) ; les employeurs le voient aussitôt dans « Créneaux proposés »."""
    try:
        return Created(api_resources.create_slot(data))
    except api_resources.ApiOperationError as exc:
        raise _refused(exc) from None


@operation(
    "/slots/<int:slot_id>",
    "DELETE",
    summary="Supprimer un créneau libre",
    tag="Créneaux",
    scope="slots:write",
    errors=(404, 409),
    status=204,
)
def delete_slot(client, args, data, slot_id):
    """Supprime un créneau à venir que personne n'a réservé ; un créneau réservé ou passé reste (409)."""
    load_or_404(api_resources.load, Slot, slot_id, what="Ce créneau n'existe pas.")
    try:
        remove_free_slots([slot_id], None)
    except SeriesError as exc:
        raise ApiProblem("conflit", str(exc)) from None
    return None


@operation(
    "/visits",
    "GET",
    summary="Lister les visites",
    tag="Visites",
    scope="visits:read",
    query=schemas.VisitQuery,
    response=schemas.VisitSchema,
    paginated=True,
)
def list_visits(client, args, data):
    """Les visites par identifiant croissant, par adhérent et par état."""
    rows = api_resources.list_visits(
        decode_cursor(args.get("cursor")), args["limit"], args.get("company"), args.get("status")
    )
    return page_of(rows, args["limit"])


@operation(
    "/visits/<int:visit_id>",
    "GET",
    summary="Lire une visite",
    tag="Visites",
    scope="visits:read",
    response=schemas.VisitSchema,
    etag=True,
    errors=(404,),
)
def get_visit(client, args, data, visit_id):
    """Une visite, avec son ETag."""
    return load_or_404(api_resources.load, Visit, visit_id, what="Cette visite n'existe pas.")


def _pdf(encoded: str | None) -> bytes | None:
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(
            "validation", "Le PDF doit être encodé en base64.", errors={"document_pdf_base64": ["Base64 invalide."]}
        ) from None


@operation(
    "/visits/<int:visit_id>/outcome",
    "POST",
    summary="Enregistrer le résultat d'une visite",
    tag="Visites",
    scope="visits:write",
    body=schemas.OutcomeIn,
    response=schemas.VisitSchema,
    etag=True,
    if_match=True,
    idempotent=True,
    errors=(404, 412, 422),
)
def record_outcome(client, args, data, visit_id):
    """Réalisée (avec l'attestation ou l'avis en PDF, que l'employeur retrouve dans « Mon
    espace documentaire »), absence excusée ou non excusée."""
    visit = load_or_404(api_resources.load, Visit, visit_id, what="Cette visite n'existe pas.")
    check_if_match(schemas.VisitSchema().dump(visit))
    pdf = _pdf(data.get("document_pdf_base64"))
    document = (data["document_kind"], pdf) if pdf is not None else None
    try:
        service_ops.record_outcome(visit, data["outcome"], None, utcnow(), document=document)
    except service_ops.OperationError as exc:
        raise ApiProblem(
            "operation-refusee",
            str(exc),
            errors={"document_pdf_base64": [str(exc)]} if exc.field == "document" else None,
        ) from None
    return visit


@operation(
    "/requests",
    "GET",
    summary="Lister les demandes de rendez-vous",
    tag="Demandes",
    scope="requests:read",
    query=schemas.RequestQuery,
    response=schemas.RequestSchema,
    paginated=True,
)
def list_requests(client, args, data):
    """Les demandes de rendez-vous par identifiant croissant, par adhérent et par état."""
    rows = api_resources.list_requests(
        decode_cursor(args.get("cursor")), args["limit"], args.get("company"), args.get("status")
    )
    return page_of(rows, args["limit"])


@operation(
    "/requests/<int:request_id>",
    "GET",
    summary="Lire une demande",
    tag="Demandes",
    scope="requests:read",
    response=schemas.RequestSchema,
    etag=True,
    errors=(404,),
)
def get_request(client, args, data, request_id):
    """Une demande de rendez-vous, avec son ETag."""
    return load_or_404(api_resources.load, AppointmentRequest, request_id, what="Cette demande n'existe pas.")


@operation(
    "/requests/<int:request_id>/answer",
    "POST",
    summary="Répondre à une demande",
    tag="Demandes",
    scope="requests:write",
    body=schemas.AnswerIn,
    response=schemas.RequestSchema,
    etag=True,
    if_match=True,
    idempotent=True,
    errors=(404, 409, 412, 422),
)
def answer_request(client, args, data, request_id):
    """`placer` : réserve un créneau libre pour le salarié (`slot_id`, `visit_type`), l'employeur
    est prévenu par courriel ; `refuser` : refuse avec un `message` que l'employeur lit."""
    req = load_or_404(api_resources.load, AppointmentRequest, request_id, what="Cette demande n'existe pas.")
    check_if_match(schemas.RequestSchema().dump(req))
    now = utcnow()
    try:
        if data["action"] == "refuser":
            message = (data.get("message") or "").strip()
            if not message:
                raise ApiProblem(
                    "validation", "Expliquez le refus à l'employeur.", errors={"message": ["Ce champ est obligatoire."]}
                )
            service_ops.decline_request(req, message, None, now)
        else:
            if not data.get("slot_id"):
                raise ApiProblem(
                    "validation", "Choisissez le créneau.", errors={"slot_id": ["Ce champ est obligatoire."]}
                )
            slot = load_or_404(api_resources.load, Slot, data["slot_id"], what="Ce créneau n'existe pas.")
            visit_type = data.get("visit_type") or service_ops.REASON_VISIT_TYPES.get(req.reason, "a_la_demande")
            service_ops.place_request(req, slot, visit_type, None, now)
    except SlotTaken as exc:
        raise ApiProblem("conflit", str(exc)) from None
    except IntegrityError:
        raise ApiProblem("conflit", "Ce créneau vient d'être réservé : choisissez-en un autre.") from None
    except (service_ops.OperationError, PlanningError) as exc:
        raise ApiProblem("operation-refusee", str(exc)) from None
    return req
