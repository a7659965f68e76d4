"""Marshmallow schemas of the API: what each resource reads and answers. The OpenAPI document
is generated from them (apispec's MarshmallowPlugin), so the document and the code agree."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, ValidationError, fields, validate, validates

from models.billing import INVOICE_KIND_LABELS, PAYMENT_METHODS
from models.employees import CATEGORIES
from models.integration import WEBHOOK_EVENTS
from models.planning import PROFESSIONAL_KINDS, REQUEST_STATUSES, VISIT_STATUSES, VISIT_TYPES
from services.staff.operations import DOCUMENT_KINDS, OUTCOMES

# French messages for the validation errors the API answers (RFC 9457 `errors`).
fields.Field.default_error_messages.update(
    {
        "required": "Ce champ est obligatoire.",
        "null": "Ce champ ne peut pas être nul.",
        "validator_failed": "Valeur invalide.",
    }
)
fields.String.default_error_messages.update({"invalid": "Texte attendu.", "invalid_utf8": "Texte UTF-8 attendu."})
fields.Number.default_error_messages.update({"invalid": "Nombre attendu.", "too_large": "Nombre trop grand."})
fields.Integer.default_error_messages.update({"invalid": "Nombre entier attendu."})
fields.Decimal.default_error_messages.update({"special": "Montant invalide."})
fields.Boolean.default_error_messages.update({"invalid": "Vrai ou faux attendu."})
fields.DateTime.default_error_messages.update(
    {
        "invalid": "Date et heure ISO 8601 attendues.",
        "invalid_awareness": "Date et heure avec fuseau attendues.",
        "format": "Date invalide.",
    }
)
fields.Date.default_error_messages.update({"invalid": "Date AAAA-MM-JJ attendue.", "format": "Date invalide."})
fields.List.default_error_messages.update({"invalid": "Liste attendue."})
fields.Nested.default_error_messages.update({"type": "Objet attendu."})
Schema._default_error_messages = {"type": "Objet JSON attendu.", "unknown": "Champ inconnu."}


def money(**kwargs):
    """An amount in euros, as decimal text ("139.20"), never a float."""
    metadata = {"type": "string", "format": "decimal", "example": "139.20", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, places=2, metadata=metadata, **kwargs)


def one_line(value: str) -> None:
    if any(c in value for c in "\r\n\x00"):
        raise ValidationError("Ce champ doit tenir sur une seule ligne.")


def text(max_length: int, **kwargs):
    return fields.String(
        validate=[validate.Length(max=max_length, error=f"{max_length} caractères au plus."), one_line], **kwargs
    )


def choice(values, **kwargs):
    values = list(values)
    return fields.String(
        validate=validate.OneOf(values, error="Valeur inconnue : " + ", ".join(values) + "."), **kwargs
    )


class ListQuery(Schema):
    cursor = fields.String(
        validate=validate.Length(max=40), metadata={"description": "Le `next_cursor` de la page précédente."}
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200, error="Entre 1 et 200."),
        metadata={"description": "Nombre d'éléments par page (1 à 200)."},
    )


class CompanyListQuery(ListQuery):
    company = fields.String(
        validate=validate.Regexp(r"^\d{5}$", error="Code adhérent à 5 chiffres."),
        metadata={"description": "Code d'un adhérent : lui et ses établissements."},
    )


# --------------------------------------------------------------------------- members


class MemberSchema(Schema):
    code = fields.String(dump_only=True, metadata={"example": "00010"})
    parent_code = fields.Function(lambda c: c.parent.code if c.parent_id else None, dump_only=True, allow_none=True)
    name = fields.String(
        validate=[validate.Length(min=1, max=200, error="De 1 à 200 caractères."), one_line],
        metadata={"description": "Raison sociale (obligatoire pour un nouvel adhérent)"},
    )
    siret = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{14}$", error="Le SIRET a 14 chiffres."))
    naf = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{4}[A-Z]$", error="Code NAF du type 6201Z."))
    address = text(300, allow_none=True)
    postal_code = fields.String(
        allow_none=True, validate=validate.Regexp(r"^\d{5}$", error="Code postal à 5 chiffres.")
    )
    city = text(100, allow_none=True)
    phone = text(30, allow_none=True)
    email = fields.Email(
        allow_none=True, validate=validate.Length(max=254), error_messages={"invalid": "Adresse e-mail invalide."}
    )
    active = fields.Boolean()
    updated_at = fields.DateTime(dump_only=True)

    @validates("siret")
    def _siret(self, value, **_kwargs):
        from stdnum.fr import siret

        if value is not None and not siret.is_valid(value):
            raise ValidationError("Ce SIRET n'est pas valide (clé de contrôle).")


# --------------------------------------------------------------------------- employees


class EmployeeSchema(Schema):
    id = fields.Integer()
    company_code = fields.Function(lambda e: e.company.code)
    birth_name = fields.String()
    usage_name = fields.String(allow_none=True)
    first_names = fields.String()
    sex = fields.String()
    birth_date = fields.Date()
    nir = fields.Method(
        "get_nir",
        allow_none=True,
        metadata={"type": "string", "description": "Seulement avec le droit employees:nir ; sinon null."},
    )
    entry_date = fields.Date()
    contract_nature = fields.String(metadata={"description": "Code DSN S21.G00.40.007"})
    contract_end_date = fields.Date(allow_none=True)
    apprentice = fields.Boolean()
    job_title = fields.String()
    pcs_ese = fields.String(allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    risks = fields.List(fields.String())
    night_work = fields.Boolean()
    rqth = fields.Boolean()
    exit_date = fields.Date(allow_none=True)
    exit_reason = fields.String(allow_none=True)
    updated_at = fields.DateTime()

    def get_nir(self, employee):
        client = g.get("api_client")
        if employee.nir_encrypted and client is not None and client.allows("employees:nir"):
            from services.core.crypto import decrypt_nir

            return decrypt_nir(employee.nir_encrypted)
        return None


class EmployeeChangeSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "embauche, modification, depart, annulation_depart, import"})
    employee_id = fields.Integer()
    company_code = fields.Function(lambda c: c.employee.company.code)
    actor_role = fields.String(allow_none=True)
    fields_changed = fields.Function(
        lambda c: sorted((c.changes or {}).keys()), metadata={"description": "Les champs déclarés ou modifiés."}
    )
    created_at = fields.DateTime()


# --------------------------------------------------------------------------- planning


class CentreIn(Schema):
    name = text(120, required=True)
    address = text(300)


class ProfessionalIn(Schema):
    name = text(120, required=True)
    kind = choice(PROFESSIONAL_KINDS, required=True)


class SlotIn(Schema):
    starts_at = fields.AwareDateTime(required=True, metadata={"example": "2027-03-01T09:00:00+01:00"})
    duration_minutes = fields.Integer(
        load_default=30, validate=validate.Range(min=5, max=240, error="Entre 5 et 240 minutes.")
    )
    centre = fields.Nested(CentreIn, required=True)
    professional = fields.Nested(ProfessionalIn, required=True)
    reserved_company_code = fields.String(
        allow_none=True, validate=validate.Regexp(r"^\d{5}(?:-\d{1,3})?$", error="Code adhérent invalide.")
    )


class SlotSchema(Schema):
    id = fields.Integer()
    starts_at = fields.DateTime()
    duration_minutes = fields.Integer()
    centre = fields.Function(lambda s: s.centre.name)
    professional = fields.Function(lambda s: s.professional.name)
    professional_kind = fields.Function(lambda s: s.professional.kind)
    reserved_company_id = fields.Integer(allow_none=True)


class SlotQuery(ListQuery):
    starts_after = fields.AwareDateTime(
        metadata={"description": "Seulement les créneaux qui commencent à partir de cet instant."}
    )


class VisitSchema(Schema):
    id = fields.Integer()
    company_code = fields.Function(lambda v: v.company.code)
    employee_id = fields.Integer()
    slot_id = fields.Integer(allow_none=True)
    starts_at = fields.DateTime()
    visit_type = fields.String(metadata={"enum": list(VISIT_TYPES)})
    status = fields.String(metadata={"enum": list(VISIT_STATUSES)})
    request_id = fields.Integer(allow_none=True)
    outcome_recorded_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class VisitQuery(CompanyListQuery):
    status = choice(VISIT_STATUSES)


class OutcomeIn(Schema):
    outcome = choice(OUTCOMES, required=True)
    document_kind = choice(DOCUMENT_KINDS, load_default="attestation")
    document_pdf_base64 = fields.String(
        allow_none=True,
        validate=validate.Length(max=7_100_000, error="Le fichier dépasse 5 Mo."),
        metadata={
            "description": "L'attestation (ou l'avis) en PDF, encodé en base64 ; seulement pour une visite réalisée."
        },
    )


class RequestSchema(Schema):
    id = fields.Integer()
    company_code = fields.Function(lambda r: r.company.code)
    employee_id = fields.Integer()
    reason = fields.String()
    details = fields.String(allow_none=True)
    absence_type = fields.String(allow_none=True)
    absence_start = fields.Date(allow_none=True)
    absence_end = fields.Date(allow_none=True)
    wished_from = fields.Date(allow_none=True)
    wished_to = fields.Date(allow_none=True)
    comment = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(REQUEST_STATUSES)})
    service_answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RequestQuery(CompanyListQuery):
    status = choice(REQUEST_STATUSES)


class AnswerIn(Schema):
    action = choice(
        ("placer", "refuser"), required=True, metadata={"description": "placer (sur un créneau) ou refuser"}
    )
    slot_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**62))
    visit_type = choice(VISIT_TYPES, allow_none=True)
    message = fields.String(allow_none=True, validate=validate.Length(max=2000, error="2000 caractères au plus."))


# --------------------------------------------------------------------------- billing


class InvoiceLineSchema(Schema):
    code = fields.String()
    label = fields.String()
    quantity = fields.Integer()
    unit_price = money()
    total_ht = money()


class PaymentSchema(Schema):
    id = fields.Integer()
    invoice_number = fields.Function(lambda p: p.invoice.number)
    paid_on = fields.Date()
    amount = money()
    method = fields.String(metadata={"enum": list(PAYMENT_METHODS)})
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class InvoicePaymentSchema(Schema):
    id = fields.Integer()
    paid_on = fields.Date()
    amount = money()
    method = fields.String()
    reference = fields.String(allow_none=True)


class InvoiceSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String(metadata={"enum": list(INVOICE_KIND_LABELS)})
    company_code = fields.String(attribute="buyer_code")
    year = fields.Integer()
    issue_date = fields.Date()
    due_date = fields.Date()
    corrects_id = fields.Integer(allow_none=True)
    total_ht = money()
    total_vat = money()
    total_ttc = money()
    amount_paid = money()
    amount_due = money()
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    payments = fields.List(fields.Nested(InvoicePaymentSchema))


class InvoiceQuery(CompanyListQuery):
    kind = choice(INVOICE_KIND_LABELS)


class PaymentIn(Schema):
    amount = money(required=True, allow_nan=False)
    paid_on = fields.Date(required=True)
    method = choice(PAYMENT_METHODS, required=True)
    reference = text(100, allow_none=True)


# --------------------------------------------------------------------------- webhooks


class WebhookSchema(Schema):
    url = fields.Url(
        allow_none=True,
        schemes={"https", "http"},
        require_tld=False,
        validate=validate.Length(max=500),
        error_messages={"invalid": "Adresse web (https://…) invalide."},
    )
    events = fields.List(choice(WEBHOOK_EVENTS), load_default=list)


def webhook_of(client) -> dict:
    return {"url": client.webhook_url, "events": list(client.webhook_events or [])}
