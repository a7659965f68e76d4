"""Back-office billing: tariff grids and campaigns, declarations received, invoices, payments, reminders."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from blueprints.base_form import PortailForm
from blueprints.htmx import hx_redirect, render
from blueprints.navigation import page_arg
from blueprints.service import bp
from blueprints.service.access import is_admin, staff_required
from blueprints.service.forms import REQUIRED, FrenchDateField, single_line
from blueprints.service.routes import _csv_cell
from extensions import db
from models.base import utcnow
from models.billing import (
    BANDS_FLAT,
    BANDS_PROGRESSIVE,
    ENTRY_FEE_PER_COMPANY,
    ENTRY_FEE_PER_NEW_EMPLOYEE,
    MODE_PER_CATEGORY,
    MODE_SIZE_BANDS,
    PAYMENT_METHODS,
)
from services import billing as billing_service
from services import scope
from services.billing import (
    BillingError,
    TariffError,
    signals,  # noqa: F401  (registers the dashboard, member-page and attention providers)
)
from services.billing import admin as billing_admin

STATUS_BADGES = {
    "payee": ("Payée", "badge--ok"),
    "partielle": ("Partiellement payée", "badge--todo"),
    "a_payer": ("À payer", "badge--info"),
    "en_retard": ("En retard", "badge--late"),
    "avoir": ("Avoir", "badge--info"),
}
AMOUNT = Regexp(r"^\s*\d{1,9}([.,]\d{1,2})?\s*$", message="Montant invalide (exemple : 94,80).")
RATE = Regexp(r"^\s*\d{1,3}([.,]\d{1,2})?\s*$", message="Taux invalide (exemple : 20,00).")


class FrenchSelectField(SelectField):
    def pre_validate(self, form):
        if self.data not in {choice[0] for choice in self.iter_choices()} and self.validate_choice:
            raise ValidationError("Choisissez une valeur de la liste.")


class FrenchIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Saisissez un nombre entier.") from None


def _money_field(label: str, *, required: bool = False) -> StringField:
    first = InputRequired(REQUIRED) if required else Optional()
    return StringField(label, validators=[first, Length(max=15, message="Montant trop long."), single_line, AMOUNT])


class TariffForm(PortailForm):
    """Every field of a year's grid; the rules themselves are those of services.billing.set_tariff."""

    year = FrenchIntegerField(
        "Année",
        validators=[InputRequired(REQUIRED), NumberRange(2000, 2100, "Année entre 2000 et 2100.")],
    )
    mode = FrenchSelectField(
        "Mode de tarification",
        choices=[
            SelectChoice(MODE_PER_CATEGORY, "Prix par salarié selon la catégorie de suivi"),
            SelectChoice(MODE_SIZE_BANDS, "Prix par tranche d'effectif"),
        ],
    )
    price_si = _money_field("Prix par salarié SI (€ HT)")
    price_sia = _money_field("Prix par salarié SIA (€ HT)")
    price_sir = _money_field("Prix par salarié SIR (€ HT)")
    price_apprentice = _money_field("Prix par apprenti (€ HT, vide : selon sa catégorie)")
    size_bands = TextAreaField(
        "Tranches d'effectif (une par ligne : « 1-10 : 110,00 », la dernière ouverte : « 11- : 98,00 »)",
        validators=[Optional(), Length(max=2000, message="Texte trop long.")],
    )
    size_band_method = FrenchSelectField(
        "Calcul par tranches",
        choices=[
            SelectChoice(BANDS_PROGRESSIVE, "Progressif : chaque tranche facture les salariés qu'elle contient"),
            SelectChoice(BANDS_FLAT, "Forfaitaire : tout l'effectif au prix de sa tranche"),
        ],
    )
    entry_fee = _money_field("Droit d'entrée (€ HT)")
    entry_fee_mode = FrenchSelectField(
        "Droit d'entrée appliqué",
        choices=[
            SelectChoice(ENTRY_FEE_PER_COMPANY, "Une fois par nouvelle entreprise adhérente"),
            SelectChoice(ENTRY_FEE_PER_NEW_EMPLOYEE, "Par salarié embauché dans les 12 derniers mois"),
        ],
    )
    entry_fee_cap = _money_field("Plafond du droit d'entrée (€ HT)")
    minimum_amount = _money_field("Cotisation minimale (€ HT)")
    vat_rate = StringField(
        "Taux de TVA (%)", validators=[InputRequired(REQUIRED), Length(max=6), single_line, RATE], default="20,00"
    )
    reference_date = FrenchSelectField(
        "Date de référence de l'effectif",
        choices=[
            SelectChoice("01-01", "1er janvier de l'année"),
            SelectChoice("12-31", "31 décembre de l'année précédente"),
        ],
    )
    min_contract_days = FrenchIntegerField(
        "Ne compter que les contrats de plus de (jours)",
        validators=[Optional(), NumberRange(0, 3650, "Nombre de jours entre 0 et 3650.")],
        default=0,
    )
    exclude_interim = BooleanField("Exclure les intérimaires", default=True)
    include_suspended = BooleanField("Compter les contrats suspendus", default=True)
    include_apprentices = BooleanField("Compter les apprentis", default=True)
    count_interns = BooleanField("Compter les stagiaires (nature de contrat 29)", default=False)
    count_officers = BooleanField("Compter les mandataires sociaux (nature de contrat 80)", default=False)
    campaign_opens_on = FrenchDateField(
        "Ouverture de la campagne", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d"
    )
    campaign_closes_on = FrenchDateField(
        "Clôture de la campagne", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d"
    )
    payment_due_days = FrenchIntegerField(
        "Délai de paiement (jours)",
        validators=[InputRequired(REQUIRED), NumberRange(0, 365, "Délai entre 0 et 365 jours.")],
        default=30,
    )

    # Field of each key of services.billing.set_tariff's French messages ("prices.SI : ...").
    ERROR_FIELDS = {
        "prices.SI": "price_si",
        "prices.SIA": "price_sia",
        "prices.SIR": "price_sir",
        "prices.apprenti": "price_apprentice",
        "size_bands": "size_bands",
        "size_band_method": "size_band_method",
        "entry_fee.amount": "entry_fee",
        "entry_fee.mode": "entry_fee_mode",
        "entry_fee.cap": "entry_fee_cap",
        "minimum": "minimum_amount",
        "vat_rate": "vat_rate",
        "reference_date": "reference_date",
        "counting.min_contract_days": "min_contract_days",
        "campaign": "campaign_closes_on",
        "campaign.opens_on": "campaign_opens_on",
        "campaign.closes_on": "campaign_closes_on",
        "payment_due_days": "payment_due_days",
    }

    def validate_size_bands(self, field):
        if any(c in (field.data or "") for c in "\x00"):
            raise ValidationError("Caractère invalide.")

    def to_data(self) -> dict:
        """The form as the JSON format of docs/BILLING.md (the one set_tariff reads)."""

        def amount(f):
            value = (f.data or "").strip().replace(" ", "").replace(",", ".")
            return value or None

        year = self.year.data
        month_day = self.reference_date.data
        reference = f"{year}-01-01" if month_day == "01-01" else f"{year - 1}-12-31"
        bands = billing_admin.parse_size_bands(self.size_bands.data) if self.mode.data == MODE_SIZE_BANDS else None
        return {
            "mode": self.mode.data,
            "prices": {
                "SI": amount(self.price_si),
                "SIA": amount(self.price_sia),
                "SIR": amount(self.price_sir),
                "apprenti": amount(self.price_apprentice),
            },
            "size_bands": bands,
            "size_band_method": self.size_band_method.data,
            "entry_fee": {
                "amount": amount(self.entry_fee),
                "mode": self.entry_fee_mode.data,
                "cap": amount(self.entry_fee_cap),
            },
            "minimum": amount(self.minimum_amount),
            "vat_rate": amount(self.vat_rate),
            "reference_date": reference,
            "counting": {
                "min_contract_days": self.min_contract_days.data or 0,
                "exclude_interim": bool(self.exclude_interim.data),
                "include_suspended": bool(self.include_suspended.data),
                "include_apprentices": bool(self.include_apprentices.data),
                "excluded_natures": [
                    code for code, f in (("29", self.count_interns), ("80", self.count_officers)) if not f.data
                ],
            },
            "campaign": {
                "opens_on": self.campaign_opens_on.data.isoformat(),
                "closes_on": self.campaign_closes_on.data.isoformat(),
            },
            "payment_due_days": self.payment_due_days.data,
        }

    def fill_from(self, tariff) -> None:
        text = billing_admin.decimal_text
        self.year.data = tariff.year
        self.mode.data = tariff.mode
        self.price_si.data = text(tariff.price_si)
        self.price_sia.data = text(tariff.price_sia)
        self.price_sir.data = text(tariff.price_sir)
        self.price_apprentice.data = text(tariff.price_apprentice)
        self.size_bands.data = billing_admin.format_size_bands(tariff.size_bands)
        self.size_band_method.data = tariff.size_band_method
        self.entry_fee.data = text(tariff.entry_fee)
        self.entry_fee_mode.data = tariff.entry_fee_mode
        self.entry_fee_cap.data = text(tariff.entry_fee_cap)
        self.minimum_amount.data = text(tariff.minimum_amount)
        self.vat_rate.data = text(tariff.vat_rate)
        self.reference_date.data = "01-01" if tariff.reference_date.month == 1 else "12-31"
        self.min_contract_days.data = tariff.min_contract_days
        self.exclude_interim.data = tariff.exclude_interim
        self.include_suspended.data = tariff.include_suspended
        self.include_apprentices.data = tariff.include_apprentices
        self.count_interns.data = "29" not in (tariff.excluded_natures or [])
        self.count_officers.data = "80" not in (tariff.excluded_natures or [])
        self.campaign_opens_on.data = tariff.campaign_opens_on
        self.campaign_closes_on.data = tariff.campaign_closes_on
        self.payment_due_days.data = tariff.payment_due_days

    def place_error(self, exc: TariffError) -> str | None:
        """Put set_tariff's message next to its field; returns it when no field matches."""
        message = str(exc)
        key, sep, text = message.partition(" : ")
        name = self.ERROR_FIELDS.get(key) or self.ERROR_FIELDS.get(key.split("[")[0].split(".")[0])
        if not sep or name is None:
            return message
        if key.startswith("size_bands["):
            text = f"tranche {int(key[11 : key.index(']')]) + 1}, {text}"
        field = getattr(self, name)
        field.errors = [*field.errors, text[:1].upper() + text[1:]]
        return None


class PaymentForm(PortailForm):
    paid_on = FrenchDateField("Date du paiement", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    amount = StringField(
        "Montant (€)",
        validators=[InputRequired(REQUIRED), Length(max=15, message="Montant trop long."), single_line, AMOUNT],
    )
    method = FrenchSelectField(
        "Mode de paiement",
        choices=[SelectChoice(k, v) for k, v in PAYMENT_METHODS.items()],
        default="virement",
    )
    reference = StringField(
        "Référence du paiement",
        validators=[Optional(), Length(max=100, message="100 caractères au plus."), single_line],
    )

    def validate_paid_on(self, field):
        if field.data and field.data > billing_service.today():
            raise ValidationError("La date du paiement ne peut pas être dans le futur.")
        if field.data and field.data.year < 2000:
            raise ValidationError("Saisissez une date valide (jj/mm/aaaa).")


class ActionForm(PortailForm):
    """A button that changes something (send reminders): CSRF only."""


# --------------------------------------------------------------------------- helpers


def _year_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdecimal() and len(value) == 4 else None


# --------------------------------------------------------------------------- tariffs


@bp.get("/tarifs")
@staff_required()
def billing_tariffs():
    """The yearly tariff grids and their campaign dates."""
    tariffs = billing_admin.list_tariffs()
    return render("service/billing/tariffs.html", tariffs=tariffs, today=billing_service.today(), admin=is_admin())


def _tariff_page(form, *, tariff=None, status=200, error=None, frozen=False):
    return render(
        "service/billing/tariff.html",
        "service/billing/_tariff_form.html",
        status=status,
        form=form,
        tariff=tariff,
        error=error,
        frozen=frozen,
        frozen_message=billing_admin.frozen_message(tariff.year) if tariff else "",
        admin=is_admin(),
        bracket_year=tariff.year if tariff else form.year.data,
        bracket=billing_service.national_bracket(tariff.year if tariff else form.year.data or 0),
    )


@bp.get("/tarifs/nouveau")
@staff_required(role="admin")
def billing_tariff_new():
    """The form for a new year's grid."""
    form = TariffForm(formdata=None)
    form.year.data = billing_service.today().year + 1
    return _tariff_page(form)


@bp.post("/tarifs/nouveau")
@staff_required(role="admin")
def billing_tariff_create():
    """Create a year's grid."""
    form = TariffForm()
    valid = form.validate_on_submit()
    if valid and billing_service.tariff_for_year(form.year.data) is not None:
        form.year.errors = [*form.year.errors, "Une grille existe déjà pour cette année : modifiez-la."]
        valid = False
    return _save_tariff(form, None, valid)


@bp.get("/tarifs/<int:year>")
@staff_required()
def billing_tariff(year: int):
    """A year's grid (read for agents, form for admins)."""
    tariff = billing_service.tariff_for_year(year)
    if tariff is None:
        abort(404)
    form = TariffForm(formdata=None)
    form.fill_from(tariff)
    return _tariff_page(form, tariff=tariff, frozen=billing_admin.has_sent_declarations(year))


@bp.post("/tarifs/<int:year>")
@staff_required(role="admin")
def billing_tariff_update(year: int):
    """Change a year's grid and campaign, unless declarations of that year are confirmed."""
    tariff = billing_service.tariff_for_year(year)
    if tariff is None:
        abort(404)
    form = TariffForm()
    form.year.data = year  # the year comes from the URL, never from the form
    form.year.raw_data = [str(year)]
    return _save_tariff(form, tariff, form.validate_on_submit())


def _save_tariff(form: TariffForm, tariff, valid: bool):
    frozen = tariff is not None and billing_admin.has_sent_declarations(tariff.year)
    if frozen:
        return _tariff_page(
            form, tariff=tariff, status=409, error=billing_admin.frozen_message(tariff.year), frozen=True
        )
    if not valid:
        return _tariff_page(form, tariff=tariff, status=422, frozen=frozen)
    try:
        saved = billing_admin.save_tariff(form.year.data, form.to_data(), current_user)
    except TariffError as exc:
        db.session.rollback()
        error = form.place_error(exc)
        return _tariff_page(form, tariff=tariff, status=422, error=error, frozen=frozen)
    db.session.commit()
    flash(f"Grille {saved.year} enregistrée.", "success")
    return hx_redirect(url_for("service.billing_tariff", year=saved.year))


# --------------------------------------------------------------------------- declarations


def _campaign_year() -> int:
    """The open campaign's year, else the most recent grid's, else this year."""
    open_tariff, _ = billing_service.campaign_state()
    if open_tariff is not None:
        return open_tariff.year
    tariffs = billing_admin.list_tariffs()
    return tariffs[0].year if tariffs else billing_service.today().year


@bp.get("/declarations")
@staff_required()
def billing_declarations():
    """Declarations received for a campaign and the members that have not declared yet."""
    year = _year_arg("annee") or _campaign_year()
    query = billing_admin.clean_query(request.args.get("q"))
    received = billing_admin.declarations_received(year, query, page_arg("page"))
    missing = billing_admin.not_declared(year, query, page_arg("page_nd"))
    return render(
        "service/billing/declarations.html",
        "service/billing/_declarations.html",
        year=year,
        q=query,
        received=received,
        missing=missing,
        years=[t.year for t in billing_admin.list_tariffs()],
    )


@bp.get("/declarations/non-declares.csv")
@staff_required()
def billing_not_declared_csv():
    """The members without a confirmed declaration for the year, as CSV (";", UTF-8 with BOM)."""
    year = _year_arg("annee") or _campaign_year()
    query = billing_admin.clean_query(request.args.get("q"))
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Code adhérent", "Raison sociale", "Ville", "Adresse e-mail"])
    for code, name, city, email in billing_admin.not_declared_rows(year, query):
        writer.writerow([_csv_cell(code), _csv_cell(name), _csv_cell(city), _csv_cell(email)])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="non-declares-{year}.csv"'
    return response


# --------------------------------------------------------------------------- invoices


def _invoice_filters() -> dict:
    status = request.args.get("statut", "")
    code = billing_admin.clean_query(request.args.get("code"))[:9]
    filters = {
        "statut": status if status in billing_admin.INVOICE_STATUSES else "",
        "annee": _year_arg("annee"),
        "code": code,
    }
    return {k: v for k, v in filters.items() if v}


@bp.get("/factures")
@staff_required()
def billing_invoices():
    """Invoices filtered by status, year and member code."""
    filters = _invoice_filters()
    results = billing_admin.search_invoices(
        status=filters.get("statut", ""),
        year=filters.get("annee"),
        code=filters.get("code", ""),
        page=page_arg(),
    )
    return render(
        "service/billing/invoices.html",
        "service/billing/_invoices.html",
        results=results,
        filters=filters,
        statuses=billing_admin.INVOICE_STATUSES,
        years=billing_admin.invoice_years(),
        badges=STATUS_BADGES,
        today=billing_service.today(),
        overdue=billing_admin.count_overdue(),
        action_form=ActionForm(),
    )


def _invoice_page(invoice, form=None, *, status=200):
    last = billing_admin.last_reminders([invoice.id]).get(invoice.id)
    if form is None:
        form = PaymentForm(formdata=None)
        form.paid_on.data = billing_service.today()
        form.amount.data = billing_admin.decimal_text(invoice.amount_due)
    return render(
        "service/billing/invoice.html",
        "service/billing/_payment_form.html",
        status=status,
        invoice=invoice,
        form=form,
        badges=STATUS_BADGES,
        today=billing_service.today(),
        last_reminder=last,
        next_reminder=billing_admin.next_reminder_allowed(last),
        now=utcnow(),
        action_form=ActionForm(),
    )


@bp.get("/factures/<int:invoice_id>")
@staff_required()
def billing_invoice(invoice_id: int):
    """An invoice: lines, payments, the payment form and the reminder."""
    return _invoice_page(scope.invoice(scope.EVERY_COMPANY, invoice_id))


@bp.post("/factures/<int:invoice_id>/paiements")
@staff_required()
def billing_payment(invoice_id: int):
    """Record a payment received on an invoice."""
    invoice = scope.invoice(scope.EVERY_COMPANY, invoice_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _invoice_page(invoice, form, status=422)
    amount = form.amount.data.strip().replace(",", ".")
    try:
        billing_service.record_payment(
            invoice,
            amount,
            form.paid_on.data,
            form.method.data,
            (form.reference.data or "").strip() or None,
            current_user,
        )
    except BillingError as exc:
        db.session.rollback()
        invoice = scope.invoice(scope.EVERY_COMPANY, invoice_id)
        form.amount.errors = [*form.amount.errors, str(exc)]
        return _invoice_page(invoice, form, status=422)
    db.session.commit()
    flash(f"Paiement de {billing_service.format_eur(amount)} enregistré sur la facture {invoice.number}.", "success")
    return hx_redirect(url_for("service.billing_invoice", invoice_id=invoice.id))


@bp.post("/factures/<int:invoice_id>/relance")
@staff_required()
def billing_remind(invoice_id: int):
    """Queue the reminder mail of an overdue invoice (once per 7 days)."""
    invoice = scope.invoice(scope.EVERY_COMPANY, invoice_id)
    if not ActionForm().validate_on_submit():
        flash("La page a expiré : validez à nouveau.", "error")
    else:
        try:
            billing_admin.send_reminder(invoice, current_user)
        except BillingError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"Relance de la facture {invoice.number} envoyée.", "success")
    return redirect(url_for("service.billing_invoice", invoice_id=invoice_id), code=303)


@bp.post("/factures/relances")
@staff_required()
def billing_remind_all():
    """Remind every overdue invoice not reminded in the last 7 days."""
    if not ActionForm().validate_on_submit():
        flash("La page a expiré : validez à nouveau.", "error")
    else:
        run = billing_admin.send_overdue_reminders(current_user)
        db.session.commit()
        flash(_run_message(run), "success")
    return redirect(url_for("service.billing_invoices", statut="en_retard"), code=303)


def _run_message(run) -> str:
    parts = [f"{run.sent} relance{'s' if run.sent > 1 else ''} envoyée{'s' if run.sent > 1 else ''}"]
    if run.skipped_recent:
        parts.append(
            f"{run.skipped_recent} déjà relancée{'s' if run.skipped_recent > 1 else ''} depuis moins de 7 jours"
        )
    if run.skipped_no_address:
        parts.append(f"{run.skipped_no_address} sans adresse e-mail")
    return " ; ".join(parts) + "."
