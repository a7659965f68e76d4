"""Back-office forms: second factor, sites, n° télédéclarant letter, staff accounts, audit."""

from __future__ import annotations

from stdnum.fr import siret as siret_check
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from blueprints.base_form import PortailForm
from services.staff.team_and_members import STAFF_ROLES, clean_siret


def single_line(form, field):
    if field.data and any(c in field.data for c in "\r\n\x00"):
        raise ValidationError("Ce champ doit tenir sur une seule ligne.")


REQUIRED = "Ce champ est obligatoire."


class FrenchDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Saisissez une date valide (jj/mm/aaaa).") from None


class CodeForm(PortailForm):
    code = StringField(
        "Code de vérification",
        validators=[DataRequired(REQUIRED), Length(max=20, message="Le code est trop long."), single_line],
    )


class StartEnrolmentForm(PortailForm):
    """Only the CSRF token: starting the enrolment is a POST."""


class SiteForm(PortailForm):
    name = StringField("Nom du site", validators=[DataRequired(REQUIRED), Length(max=200), single_line])
    city = StringField("Ville", validators=[DataRequired(REQUIRED), Length(max=100), single_line])
    address = StringField("Adresse", validators=[Optional(), Length(max=300), single_line])
    postal_code = StringField("Code postal", validators=[Optional(), Length(max=10), single_line])
    siret = StringField("SIRET", validators=[Optional(), Length(max=20), single_line])

    def validate_siret(self, field):
        value = clean_siret(field.data)
        if value and not siret_check.is_valid(value):
            raise ValidationError("Le SIRET n'est pas valide (14 chiffres, clé de contrôle).")


class RenewTeledeclarantForm(PortailForm):
    confirm = BooleanField(
        "Je confirme : l'ancien n° télédéclarant cessera de fonctionner immédiatement",
        validators=[DataRequired("Cochez la case pour confirmer.")],
    )


ROLE_CHOICES = [SelectChoice(value, label) for value, label in STAFF_ROLES.items()]


class StaffCreateForm(PortailForm):
    email = EmailField(
        "Adresse e-mail",
        validators=[
            DataRequired(REQUIRED),
            Length(max=254),
            single_line,
            Email("Saisissez une adresse e-mail valide.", check_deliverability=False),
        ],
    )
    first_name = StringField("Prénom", validators=[DataRequired(REQUIRED), Length(max=100), single_line])
    last_name = StringField("Nom", validators=[DataRequired(REQUIRED), Length(max=100), single_line])
    role = SelectField("Rôle", choices=ROLE_CHOICES, default="agent")


class RoleForm(PortailForm):
    role = SelectField("Rôle", choices=ROLE_CHOICES)


class ActionForm(PortailForm):
    """A button that changes something (deactivate, reactivate, reset): CSRF only."""


class AuditFilterForm(PortailForm):
    class Meta:
        csrf = False  # a GET filter form

    code = StringField("Code adhérent", validators=[Optional(), Length(max=9), single_line])
    email = StringField("E-mail de l'utilisateur", validators=[Optional(), Length(max=254), single_line])
    action = StringField("Action", validators=[Optional(), Length(max=60), single_line])
    start = FrenchDateField("Du", validators=[Optional()], format="%Y-%m-%d")
    end = FrenchDateField("Au", validators=[Optional()], format="%Y-%m-%d")

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError("La date de fin doit suivre la date de début.")


# --------------------------------------------------------------------------- query and form values


def iso_date(value: str | None):
    """A `YYYY-MM-DD` value (what <input type="date"> sends), or None."""
    from datetime import date

    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def small_int(value: str | None) -> int | None:
    """A positive id or page number (at most 9 digits), or None."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None
