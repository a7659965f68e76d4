"""Back office: import the bank statement (camt.053 or CSV) and resolve the lines that wait;
export the SEPA direct debit batch (pain.008) and the FEC."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from blueprints.base_form import PortailForm
from blueprints.htmx import render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import REQUIRED, FrenchDateField, single_line
from extensions import db
from services import billing as billing_service
from services.billing import bank, fec, sepa
from services.billing.common import BillingError


class StatementForm(PortailForm):
    fichier = FileField("Relevé bancaire (camt.053 XML ou CSV)")

    def validate_fichier(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError("Choisissez le fichier du relevé.")


class AssignForm(PortailForm):
    invoice_number = StringField("N° de facture", validators=[InputRequired(REQUIRED), Length(max=20), single_line])


def _page(*, status: int = 200, form=None, assign_form=None, assign_line=None):
    return render(
        "service/billing/bank.html",
        status=status,
        form=form or StatementForm(formdata=None),
        assign_form=assign_form,
        assign_line=assign_line,
        lines=bank.unmatched_lines(),
        waiting=bank.count_unmatched(),
        statements=bank.recent_statements(),
    )


@bp.get("/banque")
@staff_required()
def bank_statements():
    """The statements imported and the credits waiting for a person."""
    return _page()


@bp.post("/banque/releves")
@staff_required()
def bank_statement_import():
    form = StatementForm()
    if not form.validate_on_submit():
        return _page(status=422, form=form)
    upload = form.fichier.data
    try:
        result = bank.import_statement(upload.read(bank.MAX_FILE_BYTES + 1), upload.filename, current_user)
    except BillingError as exc:
        db.session.rollback()
        form.fichier.errors = [*form.fichier.errors, str(exc)]
        return _page(status=422, form=form)
    if result.already:
        db.session.rollback()
        flash("Ce relevé a déjà été importé : rien n'a changé.", "info")
    else:
        db.session.commit()
        counts = result.counts
        flash(
            f"Relevé importé : {counts.get('matched', 0)} rapproché(s), {counts.get('unmatched', 0)} à rapprocher, "
            f"{counts.get('rejected', 0)} prélèvement(s) rejeté(s), {counts.get('ignored', 0)} ignoré(s)"
            + (f", {result.skipped} déjà connu(s)" if result.skipped else "")
            + ".",
            "success",
        )
    return redirect(url_for("service.bank_statements"), code=303)


@bp.post("/banque/lignes/<int:line_id>/rapprocher")
@staff_required()
def bank_line_assign(line_id: int):
    form = AssignForm()
    if form.validate_on_submit():
        try:
            bank.assign_line(line_id, form.invoice_number.data, current_user)
        except BillingError as exc:
            form.invoice_number.errors = [*form.invoice_number.errors, str(exc)]
        else:
            db.session.commit()
            flash("Paiement enregistré sur la facture " + form.invoice_number.data.strip() + ".", "success")
            return redirect(url_for("service.bank_statements"), code=303)
    db.session.rollback()
    return _page(status=422, assign_form=form, assign_line=line_id)


@bp.post("/banque/lignes/<int:line_id>/ignorer")
@staff_required()
def bank_line_ignore(line_id: int):
    form = PortailForm()
    if form.validate_on_submit():
        try:
            bank.ignore_line(line_id, current_user)
        except BillingError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("Ligne ignorée.", "success")
    return redirect(url_for("service.bank_statements"), code=303)


# --------------------------------------------------------------------------- SEPA direct debit


class DebitBatchForm(PortailForm):
    collection_date = FrenchDateField("Date du prélèvement", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    invoice_ids = SelectMultipleField("Factures à prélever", coerce=str, validate_choice=False)


def _debits_page(form=None, status: int = 200):
    if form is None:
        form = DebitBatchForm(formdata=None)
        form.collection_date.data = billing_service.today() + timedelta(days=sepa.PRENOTIFICATION_DAYS)
    debits, pending = sepa.due_debits(with_pending=True)
    return render("service/billing/debits.html", status=status, form=form, debits=debits, pending=pending)


@bp.get("/prelevements")
@staff_required()
def sepa_debits():
    """The invoices due of members with a mandate, to export as a pain.008 batch."""
    return _debits_page()


@bp.post("/prelevements")
@staff_required()
def sepa_debits_export():
    form = DebitBatchForm()
    if form.validate_on_submit():
        ids = [int(v) for v in form.invoice_ids.data or [] if v.isdigit()]
        try:
            xml, debits = sepa.export_batch(ids, form.collection_date.data, current_user)
        except BillingError as exc:
            db.session.rollback()
            target = form.collection_date if str(exc).startswith("Date") else form.invoice_ids
            target.errors = [*target.errors, str(exc)]
        else:
            db.session.commit()
            filename = f"prelevements-{form.collection_date.data:%Y%m%d}.xml"
            return Response(
                xml,
                mimetype="application/xml",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
    return _debits_page(form, status=422)


# --------------------------------------------------------------------------- FEC


class FecForm(PortailForm):
    class Meta:
        csrf = False  # a GET that changes nothing

    du = FrenchDateField("Du", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    au = FrenchDateField("Au", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")

    def validate_au(self, field):
        if self.du.data and field.data and field.data < self.du.data:
            raise ValidationError("La date de fin précède la date de début.")
        if self.du.data and field.data and (field.data - self.du.data).days > 731:
            raise ValidationError("Deux ans au plus.")


@bp.get("/comptabilite")
@staff_required()
def accounting_export():
    """The FEC (A47 A-1 LPF) of a date range, for the accounting software."""
    form = FecForm(request.args)
    if "du" not in request.args:
        year = billing_service.today().year
        form = FecForm(formdata=None, du=date(year, 1, 1), au=date(year, 12, 31))
        return render("service/billing/accounting.html", form=form)
    if not form.validate():
        return render("service/billing/accounting.html", form=form, status=422)
    filename, content = fec.fec_file(form.du.data, form.au.data)
    return Response(
        content,
        mimetype="text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Type": "text/plain; charset=iso-8859-15",
        },
    )
