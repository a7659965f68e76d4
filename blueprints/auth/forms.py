"""Login, reset and password-choice forms (French messages, bounded lengths, no line breaks)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from blueprints.base_form import PortailForm
from services.auth.passwords import MAX_LENGTH

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_line_breaks(form, field):
    """Refuse CR, LF and other control characters in a single-line field."""
    if field.data and _CONTROL.search(field.data):
        raise ValidationError("Ce champ ne doit pas contenir de retour à la ligne ni de caractère de contrôle.")


def real_email(form, field):
    """A syntactically valid address (no DNS lookup), stored lower-cased."""
    if not field.data:
        return
    try:
        result = validate_email(field.data.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("Saisissez une adresse e-mail valide, par exemple nom@entreprise.fr.") from None
    field.data = result.normalized.lower()


def strip(value):
    return value.strip() if isinstance(value, str) else value


EMAIL_REQUIRED = "Saisissez votre adresse e-mail."


class EmailStepForm(PortailForm):
    email = EmailField(
        "Votre adresse e-mail",
        filters=[strip],
        validators=[
            DataRequired(EMAIL_REQUIRED),
            Length(max=254, message="254 caractères au plus."),
            no_line_breaks,
            real_email,
        ],
    )
    next = HiddenField()


class PasswordStepForm(PortailForm):
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[
            DataRequired(EMAIL_REQUIRED),
            Length(max=254, message="254 caractères au plus."),
            no_line_breaks,
            real_email,
        ],
    )
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired("Saisissez votre mot de passe."),
            Length(max=MAX_LENGTH, message=f"{MAX_LENGTH} caractères au plus."),
        ],
    )
    next = HiddenField()


class ResetForm(PortailForm):
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[
            DataRequired(EMAIL_REQUIRED),
            Length(max=254, message="254 caractères au plus."),
            no_line_breaks,
            real_email,
        ],
    )


class ChoosePasswordForm(PortailForm):
    new_password = PasswordField(
        "Nouveau mot de passe",
        validators=[
            DataRequired("Saisissez un mot de passe."),
            Length(max=MAX_LENGTH * 2, message=f"{MAX_LENGTH} caractères au plus."),
        ],
    )
    confirm = PasswordField(
        "Confirmer le nouveau mot de passe",
        validators=[
            DataRequired("Confirmez le mot de passe."),
            Length(max=MAX_LENGTH * 2, message=f"{MAX_LENGTH} caractères au plus."),
        ],
    )

    def check_rules(self, user) -> bool:
        """Apply the password policy (SECURITY.md) for this user; errors go beside the fields."""
        from services.auth.passwords import password_problems

        ok = True
        problems = password_problems(
            self.new_password.data or "", email=user.email, names=(user.first_name, user.last_name)
        )
        if problems:
            self.new_password.errors = list(self.new_password.errors) + problems
            ok = False
        if (self.confirm.data or "") != (self.new_password.data or ""):
            self.confirm.errors = list(self.confirm.errors) + ["Les deux mots de passe ne sont pas identiques."]
            ok = False
        return ok
