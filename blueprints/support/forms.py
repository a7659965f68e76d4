"""The contact form."""

from __future__ import annotations

import re

from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from blueprints.base_form import PortailForm
from services.support.contact import MAX_MESSAGE, SUBJECTS


class ContactForm(PortailForm):
    subject = SelectField(
        "Objet",
        choices=[SelectChoice("", "Choisissez l'objet de votre message")]
        + [SelectChoice(k, v[0]) for k, v in SUBJECTS.items()],
        validators=[DataRequired(message="Choisissez l'objet de votre message.")],
    )
    body = TextAreaField(
        "Votre message",
        validators=[
            DataRequired(message="Écrivez votre message."),
            Length(max=MAX_MESSAGE, message=f"{MAX_MESSAGE} caractères au maximum."),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    attachment = FileField("Pièce jointe (facultative)")

    def validate_body(self, field):
        if field.data and "\x00" in field.data:
            raise ValidationError("Le message contient des caractères non autorisés.")
        if field.data and not re.search(r"\w", field.data):
            raise ValidationError("Écrivez votre message.")
