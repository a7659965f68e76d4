"""Forms of the declaration review (register fixes, confirmation) and the document filters."""

from __future__ import annotations

from datetime import date, timedelta

from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from blueprints.base_form import PortailForm
from models.billing import DOC_KINDS
from models.employees import CATEGORIES, CATEGORY_LABELS, CONTRACT_NATURES
from services.employees.register import EXIT_REASONS

REQUIRED = "Ce champ est obligatoire."
BAD_DATE = "Date invalide (format JJ/MM/AAAA)."


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def single_line(_form, field):
    if field.data and any(c in field.data for c in "\r\n\x00"):
        raise ValidationError("Ce champ ne peut contenir qu'une seule ligne.")


def plausible_date(_form, field):
    if field.data and not (date(1900, 1, 1) <= field.data <= date.today() + timedelta(days=366)):
        raise ValidationError("Date hors des limites admises.")


class HireForm(PortailForm):
    """A forgotten hire, added to the register during the declaration."""

    birth_name = StringField("Nom de naissance", validators=[DataRequired(REQUIRED), Length(max=100), single_line])
    first_names = StringField("Prénom(s)", validators=[DataRequired(REQUIRED), Length(max=150), single_line])
    sex = SelectField(
        "Sexe", choices=choices([("", "Choisir…"), ("F", "Femme"), ("M", "Homme")]), validators=[DataRequired(REQUIRED)]
    )
    birth_date = DateField("Date de naissance", validators=[InputRequired(REQUIRED), plausible_date], format="%Y-%m-%d")
    entry_date = DateField("Date d'entrée", validators=[InputRequired(REQUIRED), plausible_date], format="%Y-%m-%d")
    contract_nature = SelectField("Nature du contrat", choices=choices(CONTRACT_NATURES.items()), default="01")
    job_title = StringField(
        "Poste (libellé de l'emploi)", validators=[DataRequired(REQUIRED), Length(max=120), single_line]
    )
    category = SelectField(
        "Catégorie de suivi", choices=choices((c, CATEGORY_LABELS[c]) for c in CATEGORIES), default="SI"
    )
    apprentice = BooleanField("Apprenti")

    def validate_entry_date(self, field):
        if field.data and self.birth_date.data and field.data < self.birth_date.data + timedelta(days=365 * 14):
            raise ValidationError("La date d'entrée doit suivre le 14e anniversaire du salarié.")


class DepartureForm(PortailForm):
    exit_date = DateField("Date de sortie", validators=[InputRequired(REQUIRED), plausible_date], format="%Y-%m-%d")
    exit_reason = SelectField("Motif de sortie", choices=choices(EXIT_REASONS.items()), default="autre")


class CategoryForm(PortailForm):
    category = SelectField(
        "Catégorie", choices=choices((c, c) for c in CATEGORIES), validators=[DataRequired(REQUIRED)]
    )


class ConfirmForm(PortailForm):
    attest = BooleanField(
        "J'atteste l'exactitude de cette déclaration",
        validators=[DataRequired("Cochez la case pour attester l'exactitude de votre déclaration.")],
    )


class DocumentFilterForm(PortailForm):
    """GET filters of the document list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    type = SelectField(
        "Type",
        choices=choices([("", "Tous")] + [(k, v) for k, v in DOC_KINDS.items() if k not in ("facture", "avoir")]),
        default="",
    )
    salarie = SelectField("Salarié", choices=choices([("", "Tous")]), default="")
    annee = SelectField("Année", choices=choices([("", "Toutes")]), default="")
