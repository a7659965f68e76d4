"""Paiement par prélèvement: the employer signs or revokes a SEPA direct debit mandate."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired, Length

from blueprints.base_form import PortailForm
from blueprints.billing import bp
from blueprints.billing.forms import REQUIRED, single_line
from blueprints.htmx import render
from blueprints.scoping import company_view
from extensions import db
from services.billing import sepa


class MandateForm(PortailForm):
    debtor_name = StringField("Titulaire du compte", validators=[InputRequired(REQUIRED), Length(max=70), single_line])
    iban = StringField("IBAN", validators=[InputRequired(REQUIRED), Length(max=42), single_line])
    bic = StringField("BIC (facultatif si votre banque est connue)", validators=[Length(max=14), single_line])
    accept = BooleanField(
        "J'autorise le service à prélever sur ce compte les factures de cotisation et je signe ce mandat."
    )


def _page(company, *, form=None, status: int = 200):
    mandate = sepa.active_mandate(company)
    if form is None:
        form = MandateForm(formdata=None)
        form.debtor_name.data = company.name[:70]
    return render(
        "billing/sepa.html",
        status=status,
        company=company,
        mandate=mandate,
        form=form,
        creditor_id=sepa.creditor()["creditor_id"],
    )


@bp.get("/entreprises/<code>/prelevement")
@company_view(right="invoices")
def sepa_mandate(company):
    """Pay by SEPA direct debit: the mandate in force, or the form to sign one."""
    return _page(company)


@bp.post("/entreprises/<code>/prelevement")
@company_view(right="invoices")
def sepa_mandate_sign(company):
    form = MandateForm()
    if form.validate_on_submit():
        try:
            mandate = sepa.sign_mandate(
                company,
                debtor_name=form.debtor_name.data,
                iban=form.iban.data,
                bic=form.bic.data,
                signer_name=f"{current_user.full_name} ({current_user.email})",
                accepted=bool(form.accept.data),
                actor=current_user,
            )
        except sepa.MandateError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "iban")
            field.errors = [*field.errors, str(exc)]
        else:
            db.session.commit()
            flash(f"Mandat {mandate.reference} signé : vos prochaines factures seront prélevées.", "success")
            return redirect(url_for("billing.sepa_mandate", code=company.code), code=303)
    return _page(company, form=form, status=422)


@bp.post("/entreprises/<code>/prelevement/revoquer")
@company_view(right="invoices")
def sepa_mandate_revoke(company):
    form = PortailForm()
    mandate = sepa.active_mandate(company)
    if form.validate_on_submit() and mandate is not None:
        sepa.revoke_mandate(mandate, current_user)
        db.session.commit()
        flash(f"Mandat {mandate.reference} révoqué : plus aucun prélèvement ne sera émis.", "success")
    return redirect(url_for("billing.sepa_mandate", code=company.code), code=303)
