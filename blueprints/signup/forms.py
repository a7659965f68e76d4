"""Forms of the account creation: company credentials, then the new user's details."""

from __future__ import annotations

import phonenumbers
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from blueprints.auth.forms import no_line_breaks, real_email, strip
from blueprints.base_form import PortailForm


def _max(n: int) -> Length:
    return Length(max=n, message=f"{n} caractères au plus.")


class CompanyCredentialsForm(PortailForm):
    code = StringField(
        "Code adhérent",
        filters=[strip],
        validators=[DataRequired("Saisissez votre code adhérent."), _max(20), no_line_breaks],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    number = StringField(
        "N° télédéclarant",
        filters=[strip],
        validators=[DataRequired("Saisissez votre n° télédéclarant."), _max(40), no_line_breaks],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class SignupForm(PortailForm):
    last_name = StringField(
        "Nom", filters=[strip], validators=[DataRequired("Saisissez votre nom."), _max(100), no_line_breaks]
    )
    first_name = StringField(
        "Prénom", filters=[strip], validators=[DataRequired("Saisissez votre prénom."), _max(100), no_line_breaks]
    )
    job_title = StringField(
        "Fonction", filters=[strip], validators=[DataRequired("Saisissez votre fonction."), _max(100), no_line_breaks]
    )
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[DataRequired("Saisissez votre adresse e-mail."), _max(254), no_line_breaks, real_email],
    )
    email_confirm = EmailField(
        "Confirmer adresse e-mail",
        filters=[strip],
        validators=[DataRequired("Confirmez votre adresse e-mail."), _max(254), no_line_breaks, real_email],
    )
    mobile = StringField("N° mobile", filters=[strip], validators=[Optional(), _max(30), no_line_breaks])
    is_accountant = BooleanField("Je suis tiers déclarant de l'entreprise")

    def validate_email_confirm(self, field):
        if self.email.data and field.data and field.data != self.email.data:
            raise ValidationError("Les deux adresses e-mail ne sont pas identiques.")

    def validate_mobile(self, field):
        """A French or international mobile number, kept in E.164 (+33612345678)."""
        if not field.data:
            field.data = None
            return
        message = "Saisissez un numéro de mobile français (06 12 34 56 78) ou international (+44 7400 123456)."
        try:
            number = phonenumbers.parse(field.data, "FR")
        except phonenumbers.NumberParseException:
            raise ValidationError(message) from None
        kind = phonenumbers.number_type(number)
        mobile_kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        if not phonenumbers.is_valid_number(number) or kind not in mobile_kinds:
            raise ValidationError(message)
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def account_data(self) -> dict:
        return {
            "last_name": self.last_name.data,
            "first_name": self.first_name.data,
            "job_title": self.job_title.data,
            "email": self.email.data,
            "mobile": self.mobile.data,
        }
