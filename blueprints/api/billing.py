"""API: invoices and credit notes (read), payments (read; record one)."""

from __future__ import annotations

from blueprints.api import schemas
from blueprints.api.core import Created, decode_cursor, load_or_404, operation, page_of
from blueprints.api.problems import ApiProblem
from models.billing import Invoice
from services.integration import resources as api_resources


@operation(
    "/invoices",
    "GET",
    summary="Lister les factures et avoirs",
    tag="Facturation",
    scope="billing:read",
    query=schemas.InvoiceQuery,
    response=schemas.InvoiceSchema,
    paginated=True,
)
def list_invoices(client, args, data):
    """Factures, factures complémentaires et avoirs par identifiant croissant, avec lignes et règlements."""
    rows = api_resources.list_invoices(
        decode_cursor(args.get("cursor")), args["limit"], args.get("company"), args.get("kind")
    )
    return page_of(rows, args["limit"])


@operation(
    "/invoices/<int:invoice_id>",
    "GET",
    summary="Lire une facture ou un avoir",
    tag="Facturation",
    scope="billing:read",
    response=schemas.InvoiceSchema,
    etag=True,
    errors=(404,),
)
def get_invoice(client, args, data, invoice_id):
    """Une facture ou un avoir, avec ses lignes, ses règlements et le reste à payer."""
    return load_or_404(api_resources.load, Invoice, invoice_id, what="Cette facture n'existe pas.")


@operation(
    "/payments",
    "GET",
    summary="Lister les règlements",
    tag="Facturation",
    scope="billing:read",
    query=schemas.CompanyListQuery,
    response=schemas.PaymentSchema,
    paginated=True,
)
def list_payments(client, args, data):
    """Les règlements reçus, par identifiant croissant."""
    rows = api_resources.list_payments(decode_cursor(args.get("cursor")), args["limit"], args.get("company"))
    return page_of(rows, args["limit"])


@operation(
    "/invoices/<int:invoice_id>/payments",
    "POST",
    summary="Enregistrer un règlement",
    tag="Facturation",
    scope="billing:write",
    body=schemas.PaymentIn,
    response=schemas.PaymentSchema,
    status=201,
    idempotent=True,
    errors=(404, 422),
)
def record_payment(client, args, data, invoice_id):
    """Enregistre un règlement reçu pour une facture (jamais plus que le reste à payer).
    Envoyez une `Idempotency-Key` : un appel répété ne l'enregistre jamais deux fois."""
    from services import billing

    invoice = load_or_404(api_resources.load, Invoice, invoice_id, what="Cette facture n'existe pas.")
    try:
        payment = billing.record_payment(
            invoice, data["amount"], data["paid_on"], data["method"], data.get("reference")
        )
    except billing.BillingError as exc:
        raise ApiProblem("operation-refusee", str(exc)) from None
    return Created(payment)
