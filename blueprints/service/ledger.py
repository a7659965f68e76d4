"""Back office: a member's account (manual invoice or credit note with a reason, refund,
payment allocated to invoices, adhesion date) and the aged receivables."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from blueprints.base_form import PortailForm
from blueprints.htmx import render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.billing import AMOUNT, FrenchIntegerField, FrenchSelectField
from blueprints.service.forms import REQUIRED, FrenchDateField, single_line
from extensions import db
from models.billing import PAYMENT_METHODS
from services import billing as billing_service
from services import scope
from services.billing import adhesion, ledger, manual
from services.billing.common import BillingError


def _amount_field(label: str) -> StringField:
    return StringField(
        label, validators=[InputRequired(REQUIRED), Length(max=15, message="Montant trop long."), single_line, AMOUNT]
    )


def _methods():
    return [SelectChoice(k, v) for k, v in PAYMENT_METHODS.items()]


def _not_future(form, field):
    from wtforms import ValidationError

    if field.data and field.data > billing_service.today():
        raise ValidationError("La date ne peut pas être dans le futur.")


class AdhesionForm(PortailForm):
    adhesion_date = FrenchDateField("Date d'adhésion", validators=[Optional()], format="%Y-%m-%d")


class ManualInvoiceForm(PortailForm):
    label = StringField("Libellé", validators=[InputRequired(REQUIRED), Length(max=200), single_line])
    quantity = FrenchIntegerField(
        "Quantité", validators=[InputRequired(REQUIRED), NumberRange(1, 10_000, "Entre 1 et 10 000.")], default=1
    )
    unit_price = _amount_field("Prix unitaire (€ HT)")
    reason = StringField("Motif", validators=[InputRequired(REQUIRED), Length(max=300), single_line])
    FIELDS = {"Libellé": "label", "Quantité": "quantity", "Prix unitaire HT": "unit_price", "Motif": "reason"}


class CreditNoteForm(PortailForm):
    invoice_id = FrenchSelectField("Facture corrigée", coerce=str)
    amount_ht = _amount_field("Montant de l'avoir (€ HT)")
    reason = StringField("Motif", validators=[InputRequired(REQUIRED), Length(max=300), single_line])
    FIELDS = {"Montant HT": "amount_ht", "Montant": "amount_ht", "Motif": "reason", "Libellé": "reason"}


class RefundForm(PortailForm):
    credit_note_id = FrenchSelectField("Avoir remboursé", coerce=str)
    amount = _amount_field("Montant remboursé (€)")
    refunded_on = FrenchDateField(
        "Date du remboursement", validators=[InputRequired(REQUIRED), _not_future], format="%Y-%m-%d"
    )
    method = FrenchSelectField("Mode", choices=_methods(), default="virement")
    reference = StringField("Référence", validators=[Optional(), Length(max=100), single_line])
    FIELDS = {"Montant": "amount"}


class AllocationForm(PortailForm):
    invoice_ids = SelectMultipleField("Factures réglées", coerce=str, validate_choice=False)
    amount = _amount_field("Montant reçu (€)")
    paid_on = FrenchDateField("Date du paiement", validators=[InputRequired(REQUIRED), _not_future], format="%Y-%m-%d")
    method = FrenchSelectField("Mode de paiement", choices=_methods(), default="virement")
    reference = StringField("Référence du paiement", validators=[Optional(), Length(max=100), single_line])
    FIELDS = {"Montant": "amount", "Choisissez": "invoice_ids"}


def _place(form, exc: BillingError) -> None:
    """Put the service's French message next to its field (else on the first one)."""
    message = str(exc)
    key, sep, text = message.partition(" : ")
    name = form.FIELDS.get(key) if sep else None
    if name is None:
        name = next((v for k, v in form.FIELDS.items() if message.startswith(k)), None)
        text = message
    field = getattr(form, name or next(iter(form.FIELDS.values())))
    field.errors = [*field.errors, text[:1].upper() + text[1:]]


def _forms(company, account, **given):
    forms = {
        "adhesion_form": given.get("adhesion_form") or AdhesionForm(prefix="adhesion", formdata=None),
        "invoice_form": given.get("invoice_form") or ManualInvoiceForm(prefix="facture", formdata=None),
        "credit_form": given.get("credit_form") or CreditNoteForm(prefix="avoir", formdata=None),
        "refund_form": given.get("refund_form") or RefundForm(prefix="remboursement", formdata=None),
        "allocation_form": given.get("allocation_form") or AllocationForm(prefix="paiement", formdata=None),
    }
    if forms["adhesion_form"].adhesion_date.data is None and "adhesion_form" not in given:
        forms["adhesion_form"].adhesion_date.data = company.adhesion_date
    invoices = [i for i in account.invoices if not i.is_credit_note]
    forms["credit_form"].invoice_id.choices = [
        SelectChoice(str(i.id), f"{i.number} – {i.total_ttc} € TTC") for i in invoices
    ]
    forms["refund_form"].credit_note_id.choices = [
        SelectChoice(str(i.id), f"{i.number} – crédit restant {i.credit_remaining} €")
        for i in account.invoices
        if i.credit_remaining > 0
    ]
    forms["allocation_form"].invoice_ids.choices = [
        SelectChoice(str(i.id), f"{i.number} – reste {i.amount_due} €") for i in account.open_invoices
    ]
    if forms["refund_form"].refunded_on.data is None:
        forms["refund_form"].refunded_on.data = billing_service.today()
    if forms["allocation_form"].paid_on.data is None:
        forms["allocation_form"].paid_on.data = billing_service.today()
    return forms


def _account_page(company, *, status: int = 200, **given):
    account = ledger.member_account(company)
    return render(
        "service/billing/account.html",
        status=status,
        company=company,
        account=account,
        today=billing_service.today(),
        **_forms(company, account, **given),
    )


def _company(code: str):
    company = scope.company_by_code(code)
    if company.is_site:
        raise scope.NotFound
    return company


@bp.get("/adherents/<code>/compte")
@staff_required()
def member_account(code: str):
    """A member's account: entries, amount due, credit, and the staff's operations."""
    return _account_page(_company(code))


def _done(company, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("service.member_account", code=company.code), code=303)


@bp.post("/adherents/<code>/compte/adhesion")
@staff_required()
def member_adhesion(code: str):
    company = _company(code)
    form = AdhesionForm(prefix="adhesion")
    if form.validate_on_submit():
        try:
            adhesion.set_adhesion_date(company, form.adhesion_date.data, current_user)
        except BillingError as exc:
            form.adhesion_date.errors = [*form.adhesion_date.errors, str(exc).partition(" : ")[2] or str(exc)]
        else:
            return _done(company, "Date d'adhésion enregistrée.")
    db.session.rollback()
    return _account_page(company, status=422, adhesion_form=form)


@bp.post("/adherents/<code>/compte/facture")
@staff_required()
def member_manual_invoice(code: str):
    company = _company(code)
    form = ManualInvoiceForm(prefix="facture")
    if form.validate_on_submit():
        try:
            invoice = manual.issue_manual_invoice(
                company,
                label=form.label.data,
                quantity=form.quantity.data,
                unit_price=form.unit_price.data,
                reason=form.reason.data,
                actor=current_user,
            )
        except BillingError as exc:
            _place(form, exc)
        else:
            db.session.commit()
            billing_service.publish_invoices([invoice.id])
            return _done(company, f"Facture {invoice.number} émise.")
    db.session.rollback()
    return _account_page(company, status=422, invoice_form=form)


@bp.post("/adherents/<code>/compte/avoir")
@staff_required()
def member_credit_note(code: str):
    company = _company(code)
    form = CreditNoteForm(prefix="avoir")
    account = ledger.member_account(company)
    _forms(company, account, credit_form=form)
    if form.validate_on_submit():
        invoice = next((i for i in account.invoices if str(i.id) == form.invoice_id.data), None)
        try:
            if invoice is None:
                raise BillingError("Choisissez une facture de la liste.")
            note = manual.issue_manual_credit_note(
                invoice, amount_ht=form.amount_ht.data, reason=form.reason.data, actor=current_user
            )
        except BillingError as exc:
            _place(form, exc)
        else:
            db.session.commit()
            billing_service.publish_invoices([note.id])
            return _done(company, f"Avoir {note.number} émis sur la facture {invoice.number}.")
    db.session.rollback()
    return _account_page(company, status=422, credit_form=form)


@bp.post("/adherents/<code>/compte/remboursement")
@staff_required()
def member_refund(code: str):
    company = _company(code)
    form = RefundForm(prefix="remboursement")
    account = ledger.member_account(company)
    _forms(company, account, refund_form=form)
    if form.validate_on_submit():
        note = next((i for i in account.invoices if str(i.id) == form.credit_note_id.data), None)
        try:
            if note is None:
                raise BillingError("Choisissez un avoir de la liste.")
            ledger.record_refund(
                note,
                form.amount.data.replace(",", "."),
                form.refunded_on.data,
                form.method.data,
                form.reference.data,
                current_user,
            )
        except BillingError as exc:
            _place(form, exc)
        else:
            return _done(company, "Remboursement enregistré.")
    db.session.rollback()
    return _account_page(company, status=422, refund_form=form)


@bp.post("/adherents/<code>/compte/paiement")
@staff_required()
def member_payment(code: str):
    company = _company(code)
    form = AllocationForm(prefix="paiement")
    if form.validate_on_submit():
        try:
            ids = [int(v) for v in form.invoice_ids.data or [] if v.isdigit()]
            ledger.allocate_payment(
                company,
                ids,
                form.amount.data.replace(",", ".").replace(" ", ""),
                form.paid_on.data,
                form.method.data,
                form.reference.data or None,
                current_user,
            )
        except BillingError as exc:
            _place(form, exc)
        else:
            return _done(company, "Paiement enregistré et affecté.")
    db.session.rollback()
    return _account_page(company, status=422, allocation_form=form)


@bp.get("/factures/anciennete")
@staff_required()
def billing_aged_receivables():
    """What members still owe, by age past the due date (0-30, 31-60, 61-90, > 90 days)."""
    return render(
        "service/billing/aged.html",
        aged=ledger.aged_receivables(),
        buckets=ledger.AGE_BUCKETS,
        q=(request.args.get("q") or "")[:20],
    )
