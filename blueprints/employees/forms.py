"""Forms of "Mes salariés": declaration and change of an employee, departure, CSV and DSN import."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.base_form import PortailForm
from models.employees import CATEGORY_LABELS, CONTRACT_NATURES, POST_RISKS, SEX_LABELS
from services.core.crypto import NirError, validate_nir
from services.employees.follow_up import derive_category
from services.employees.register import EXIT_REASONS

PCS_ESE_RE = re.compile(r"^\d{3}[a-z]$")


def single_line(form, field):
    if field.data and any(c in field.data for c in "\r\n\x00"):
        raise ValidationError("Ce champ doit tenir sur une ligne.")


def no_nul(form, field):
    if field.data and "\x00" in field.data:
        raise ValidationError("Ce champ contient un caractère interdit.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


def _required(message):
    return [DataRequired(message=message)]


class FrenchMessages:
    """WTForms' own messages ("Not a valid choice.") in French, from the catalog WTForms ships:
    the CSV import shows them per line. (Flask-Babel is not installed, so Flask-WTF's i18n is off.)"""

    locales = ("fr_FR", "fr")

    def get_translations(self, form):
        from wtforms.i18n import get_translations

        return get_translations(self.locales)


class EmployeeForm(PortailForm):
    """Déclarer un nouveau salarié / modifier ses informations."""

    class Meta(FrenchMessages):
        pass

    company_id = SelectField("Établissement", coerce=int, validators=[Optional()], validate_choice=False)
    birth_name = StringField(
        "Nom de naissance", validators=[*_required("Indiquez le nom de naissance."), Length(max=100), single_line]
    )
    usage_name = StringField("Nom d'usage", validators=[Optional(), Length(max=100), single_line])
    first_names = StringField(
        "Prénom(s)", validators=[*_required("Indiquez le ou les prénoms."), Length(max=150), single_line]
    )
    sex = SelectField(
        "Sexe",
        choices=choices([("", "Choisissez"), *SEX_LABELS.items()]),
        validators=[InputRequired(message="Indiquez le sexe.")],
    )
    birth_date = DateField("Date de naissance", validators=_required("Indiquez une date de naissance valide."))
    nir = StringField(
        "N° de sécurité sociale",
        validators=[
            Optional(),
            Length(max=25, message="Le numéro de sécurité sociale comporte 15 caractères."),
            single_line,
        ],
    )
    entry_date = DateField("Date d'entrée", validators=_required("Indiquez une date d'entrée valide."))
    contract_nature = SelectField("Nature du contrat", choices=choices(CONTRACT_NATURES.items()), default="01")
    apprentice = BooleanField("Apprenti (contrat d'apprentissage)")
    job_title = StringField("Poste", validators=[*_required("Indiquez le poste."), Length(max=120), single_line])
    pcs_ese = StringField(
        "Code PCS-ESE",
        validators=[
            Optional(),
            Length(max=4, message="Format attendu : 3 chiffres et une lettre, par exemple 684a."),
            single_line,
        ],
    )
    risks = MultiCheckboxField(
        "Risques particuliers du poste (articles R4624-23 et R4624-18)", choices=choices(POST_RISKS.items())
    )
    other_risk_justification = TextAreaField(
        "Autre poste à risque (justification)", validators=[Optional(), Length(max=500), no_nul]
    )
    night_work = BooleanField("Travail de nuit")
    rqth = BooleanField("RQTH / pension d'invalidité")
    category = SelectField(
        "Catégorie de suivi",
        choices=choices([("", "Déterminée d'après vos réponses"), *CATEGORY_LABELS.items()]),
        validators=[Optional()],
    )
    confirm_duplicate = BooleanField("Je confirme qu'il s'agit d'un autre salarié")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.nir_compact: str | None = None

    def validate_birth_date(self, field):
        if field.data and not (date(1900, 1, 1) <= field.data <= date.today()):
            raise ValidationError("La date de naissance doit être passée et postérieure à 1900.")

    def validate_entry_date(self, field):
        if not field.data:
            return
        if field.data > date.today() + timedelta(days=366):
            raise ValidationError("La date d'entrée ne peut pas dépasser d'un an la date du jour.")
        if self.birth_date.data and field.data < self.birth_date.data + timedelta(days=365 * 14):
            raise ValidationError("La date d'entrée doit être postérieure aux 14 ans du salarié.")

    def validate_pcs_ese(self, field):
        if field.data:
            field.data = field.data.strip().lower()
            if not PCS_ESE_RE.match(field.data):
                raise ValidationError("Format attendu : 3 chiffres et une lettre, par exemple 684a.")

    def validate_nir(self, field):
        if not field.data or not field.data.strip():
            return
        try:
            self.nir_compact = validate_nir(field.data, self.sex.data or None, self.birth_date.data)
        except NirError as exc:
            raise ValidationError(str(exc)) from None

    def validate_other_risk_justification(self, field):
        if field.data and len(field.data.strip()) < 5:
            raise ValidationError("Décrivez le risque en quelques mots (5 caractères au moins).")

    def validate_category(self, field):
        if field.data:
            derived, _, explanation = derive_category(
                self.risks.data, self.other_risk_justification.data, self.night_work.data, self.rqth.data
            )
            if field.data != derived:
                raise ValidationError(f"Cette catégorie contredit vos réponses. {explanation}")

    def derived(self):
        return derive_category(
            self.risks.data, self.other_risk_justification.data, self.night_work.data, self.rqth.data
        )

    def data_for_service(self) -> dict:
        data = {
            "birth_name": self.birth_name.data.strip(),
            "usage_name": (self.usage_name.data or "").strip() or None,
            "first_names": self.first_names.data.strip(),
            "sex": self.sex.data,
            "birth_date": self.birth_date.data,
            "entry_date": self.entry_date.data,
            "contract_nature": self.contract_nature.data,
            "apprentice": bool(self.apprentice.data),
            "job_title": self.job_title.data.strip(),
            "pcs_ese": self.pcs_ese.data or None,
            "risks": list(self.risks.data or []),
            "other_risk_justification": (self.other_risk_justification.data or "").strip() or None,
            "night_work": bool(self.night_work.data),
            "rqth": bool(self.rqth.data),
            "category": self.category.data or None,
        }
        if self.nir_compact:
            data["nir"] = self.nir_compact
        if self.company_id.choices and self.company_id.data:
            data["company_id"] = self.company_id.data
        return data


class EmployeeRowForm(EmployeeForm):
    """The compact in-place edit of a list row: the most edited fields, with the same fields and
    rules as EmployeeForm (the other fields are removed, not redefined)."""

    ROW_FIELDS = ("job_title", "contract_nature", "night_work")

    company_id = birth_name = usage_name = first_names = sex = birth_date = nir = None
    entry_date = apprentice = pcs_ese = risks = other_risk_justification = rqth = None
    category = confirm_duplicate = None

    def data_for_service(self) -> dict:
        return {
            "job_title": self.job_title.data.strip(),
            "contract_nature": self.contract_nature.data,
            "night_work": bool(self.night_work.data),
        }


class DepartureForm(PortailForm):
    """Déclarer un départ."""

    exit_date = DateField("Date de sortie", validators=_required("Indiquez une date de sortie valide."))
    exit_reason = SelectField(
        "Motif de sortie",
        choices=choices([("", "Choisissez un motif"), *EXIT_REASONS.items()]),
        validators=[InputRequired(message="Choisissez un motif de sortie.")],
    )

    def validate_exit_reason(self, field):
        if field.data not in EXIT_REASONS:
            raise ValidationError("Choisissez un motif de sortie dans la liste.")


class ImportForm(PortailForm):
    """Importer une liste du personnel (CSV)."""

    file = FileField("Fichier CSV de la liste du personnel")


class DsnUploadForm(PortailForm):
    """Importer une DSN (the file is read, checked and forgotten)."""

    file = FileField("Fichier DSN du mois")


class DsnApplyForm(PortailForm):
    """Appliquer les lignes cochées de la DSN vérifiée (the checked data travels sealed)."""

    # The sealed reconciliation of a whole DSN (tens of KB for a large company): its own length
    # limit, or the input guard (blueprints/base_form.py) would cut it to a line's 255 characters.
    payload = HiddenField(
        validators=[
            InputRequired(message="La vérification du fichier a expiré : envoyez-le à nouveau."),
            Length(max=6 * 1024 * 1024),
        ]
    )
