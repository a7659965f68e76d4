"""Forms of Mon compte and Utilisateurs, with French messages and checks."""

from __future__ import annotations

import re

import phonenumbers
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, ValidationError

from blueprints.base_form import PortailForm
from models.companies import ROLE_LABELS, ROLES

NAF_RE = re.compile(r"^\d{2}\.?\d{2}[A-Z]$")
ROLE_CHOICES = [SelectChoice(r, ROLE_LABELS[r]) for r in ROLES]


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_line_breaks(form, field):
    if field.data and re.search(r"[\r\n\x00]", field.data):
        raise ValidationError("Ce champ ne doit tenir que sur une ligne.")


def required(label: str):
    return DataRequired(message=f"Renseignez {label}.")


def length(maximum: int):
    return Length(max=maximum, message=f"{maximum} caractères au maximum.")


EMAIL = Email(message="Saisissez une adresse e-mail valide, par exemple nom@entreprise.fr.", check_deliverability=False)


def normalise_phone(value: str, *, mobile: bool = False) -> str:
    """A French (or international) number in its usual written form; ValueError if invalid."""
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        raise ValueError from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError
    if mobile and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


class CompanyForm(PortailForm):
    address = StringField("Adresse", validators=[required("l'adresse"), length(300), no_line_breaks], filters=[strip])
    postal_code = StringField(
        "Code postal",
        validators=[
            required("le code postal"),
            Regexp(r"^\d{5}$", message="Le code postal compte 5 chiffres, par exemple 22000."),
        ],
        filters=[strip],
    )
    city = StringField("Ville", validators=[required("la ville"), length(100), no_line_breaks], filters=[strip])
    phone = StringField("Téléphone", validators=[Optional(), length(30), no_line_breaks], filters=[strip])
    email = EmailField(
        "Adresse e-mail de l'entreprise", validators=[Optional(), length(254), no_line_breaks, EMAIL], filters=[strip]
    )
    naf = StringField("Code NAF (APE)", validators=[Optional(), length(6), no_line_breaks], filters=[strip])
    invoice_contact_name = StringField(
        "Nom du contact factures", validators=[Optional(), length(150), no_line_breaks], filters=[strip]
    )
    invoice_contact_email = EmailField(
        "E-mail du contact factures", validators=[Optional(), length(254), no_line_breaks, EMAIL], filters=[strip]
    )
    convocation_contact_name = StringField(
        "Nom du contact convocations", validators=[Optional(), length(150), no_line_breaks], filters=[strip]
    )
    convocation_contact_email = EmailField(
        "E-mail du contact convocations", validators=[Optional(), length(254), no_line_breaks, EMAIL], filters=[strip]
    )

    def validate_phone(self, field):
        if field.data:
            try:
                field.data = normalise_phone(field.data)
            except ValueError:
                raise ValidationError("Saisissez un numéro de téléphone valide, par exemple 02 96 00 00 00.") from None

    def validate_naf(self, field):
        if field.data:
            value = field.data.upper().replace(" ", "")
            if not NAF_RE.match(value):
                raise ValidationError("Le code NAF s'écrit 4 chiffres et une lettre, par exemple 62.01Z.")
            field.data = value.replace(".", "")

    def data_for_service(self) -> dict:
        return {
            name: self[name].data
            for name in (
                "address",
                "postal_code",
                "city",
                "phone",
                "email",
                "naf",
                "invoice_contact_name",
                "invoice_contact_email",
                "convocation_contact_name",
                "convocation_contact_email",
            )
        }


class ProfileForm(PortailForm):
    last_name = StringField("Nom", validators=[required("votre nom"), length(100), no_line_breaks], filters=[strip])
    first_name = StringField(
        "Prénom", validators=[required("votre prénom"), length(100), no_line_breaks], filters=[strip]
    )
    job_title = StringField(
        "Fonction", validators=[required("votre fonction"), length(100), no_line_breaks], filters=[strip]
    )
    mobile = StringField("N° mobile", validators=[Optional(), length(30), no_line_breaks], filters=[strip])

    def validate_mobile(self, field):
        if field.data:
            try:
                field.data = normalise_phone(field.data, mobile=True)
            except ValueError:
                raise ValidationError("Saisissez un numéro de mobile valide, par exemple 06 12 34 56 78.") from None


class EmailChangeForm(PortailForm):
    new_email = EmailField(
        "Nouvelle adresse e-mail",
        validators=[required("la nouvelle adresse"), length(254), no_line_breaks, EMAIL],
        filters=[strip],
    )
    password = PasswordField("Mot de passe actuel", validators=[required("votre mot de passe actuel"), length(128)])


class PasswordChangeForm(PortailForm):
    current_password = PasswordField(
        "Mot de passe actuel", validators=[required("votre mot de passe actuel"), length(128)]
    )
    new_password = PasswordField("Nouveau mot de passe", validators=[required("le nouveau mot de passe"), length(128)])
    confirm_password = PasswordField(
        "Confirmer le nouveau mot de passe",
        validators=[
            required("la confirmation"),
            EqualTo("new_password", message="Les deux mots de passe ne sont pas identiques."),
        ],
    )


class InviteForm(PortailForm):
    email = EmailField(
        "Adresse e-mail de la personne",
        validators=[required("l'adresse e-mail"), length(254), no_line_breaks, EMAIL],
        filters=[strip],
    )
    role = SelectField("Rôle de la personne", choices=ROLE_CHOICES, validators=[required("le rôle")])


class RoleForm(PortailForm):
    role = SelectField("Rôle", choices=ROLE_CHOICES, validators=[required("le rôle")])


class InvitationAcceptForm(PortailForm):
    last_name = StringField("Nom", validators=[required("votre nom"), length(100), no_line_breaks], filters=[strip])
    first_name = StringField(
        "Prénom", validators=[required("votre prénom"), length(100), no_line_breaks], filters=[strip]
    )
    job_title = StringField(
        "Fonction", validators=[required("votre fonction"), length(100), no_line_breaks], filters=[strip]
    )
    password = PasswordField("Mot de passe", validators=[required("un mot de passe"), length(128)])
    confirm_password = PasswordField(
        "Confirmer le mot de passe",
        validators=[
            required("la confirmation"),
            EqualTo("password", message="Les deux mots de passe ne sont pas identiques."),
        ],
    )
