"""Forms of the member space: adding a company to one's account."""

from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from blueprints.base_form import PortailForm


def _single_line(form, field):
    if field.data and ("\r" in field.data or "\n" in field.data):
        raise ValidationError("Ce champ ne doit tenir que sur une ligne.")


class AddCompanyForm(PortailForm):
    """ "Connexion à votre espace": code adhérent and n° télédéclarant of another company."""

    code = StringField(
        "Code adhérent",
        validators=[
            DataRequired("Saisissez le code adhérent."),
            Length(max=9, message="9 caractères au plus."),
            _single_line,
        ],
        render_kw={"maxlength": 9, "autocomplete": "off", "spellcheck": "false"},
    )
    number = StringField(
        "N° télédéclarant",
        validators=[
            DataRequired("Saisissez le n° télédéclarant."),
            Length(max=40, message="40 caractères au plus."),
            _single_line,
        ],
        render_kw={"maxlength": 40, "autocomplete": "off", "spellcheck": "false"},
    )
    accountant = BooleanField("Je suis tiers déclarant de l'entreprise")
