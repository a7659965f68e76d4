"""API: employees (read; NIR only with employees:nir) and the feed of their declarations."""

from __future__ import annotations

from blueprints.api import schemas
from blueprints.api.core import decode_cursor, load_or_404, operation, page_of
from models.employees import Employee
from services.integration import resources as api_resources


@operation(
    "/employees",
    "GET",
    summary="Lister les salariés",
    tag="Salariés",
    scope="employees:read",
    query=schemas.CompanyListQuery,
    response=schemas.EmployeeSchema,
    paginated=True,
)
def list_employees(client, args, data):
    """Les salariés par identifiant croissant, éventuellement d'un adhérent (et de ses établissements)."""
    rows = api_resources.list_employees(decode_cursor(args.get("cursor")), args["limit"], args.get("company"))
    return page_of(rows, args["limit"])


@operation(
    "/employees/<int:employee_id>",
    "GET",
    summary="Lire un salarié",
    tag="Salariés",
    scope="employees:read",
    response=schemas.EmployeeSchema,
    etag=True,
    errors=(404,),
)
def get_employee(client, args, data, employee_id):
    """Un salarié ; `nir` n'est rempli que pour un client qui a le droit employees:nir."""
    return load_or_404(api_resources.load, Employee, employee_id, what="Ce salarié n'existe pas.")


@operation(
    "/employee-changes",
    "GET",
    summary="Flux des déclarations de salariés",
    tag="Salariés",
    scope="employees:read",
    query=schemas.CompanyListQuery,
    response=schemas.EmployeeChangeSchema,
    paginated=True,
)
def employee_changes(client, args, data):
    """Toutes les déclarations (embauche, modification, départ, annulation, import) après le
    curseur, dans l'ordre. Gardez le dernier `next_cursor` (toujours rempli, même en fin de
    flux) : interroger avec lui ne manque ni ne répète aucune déclaration."""
    after = decode_cursor(args.get("cursor"))
    rows = api_resources.change_feed(after, args["limit"], args.get("company"))
    page = page_of(rows, args["limit"])
    if page.next_cursor is None:
        # The end of the feed: hand back where to resume, so polling never starts over.
        from blueprints.api.core import encode_cursor

        page.next_cursor = encode_cursor(rows[-1].id) if rows else (args.get("cursor") or None)
    return page
