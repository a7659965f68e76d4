"""Planning forms: booking a slot, asking for another date, requesting an appointment."""

from __future__ import annotations

from wtforms import DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional, ValidationError

from blueprints.base_form import PortailForm
from models.base import utcnow
from models.planning import ABSENCE_TYPES, REQUEST_REASONS, VISIT_TYPES
from services.employees.follow_up_law import long_leave_refusal, reprise_refusal


def _no_line_break(form, field):
    if field.data and ("\r" in field.data or "\n" in field.data):
        raise ValidationError("Ce champ ne doit tenir que sur une ligne.")


def choices(pairs) -> list[SelectChoice]:
    """SelectField choices from (value, label) pairs (tuples are deprecated in WTForms)."""
    return [SelectChoice(value, label) for value, label in pairs]


def _choice(keys, message="Choisissez une valeur de la liste."):
    return AnyOf(list(keys), message=message)


def _coerce_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FrenchDateField(DateField):
    """A date input whose errors are in French and whose year stays plausible."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Date invalide.") from None
        if self.data is not None and not 1900 <= self.data.year <= 2100:
            self.data = None
            raise ValueError("Date invalide.")


class BookSlotForm(PortailForm):
    employee_id = SelectField("Salarié", coerce=_coerce_int, validate_choice=False)
    visit_type = SelectField(
        "Type de visite",
        choices=choices([("", "Type suggéré pour ce salarié"), *VISIT_TYPES.items()]),
        validate_choice=False,
        validators=[Optional(), _choice(VISIT_TYPES)],
    )

    def validate_employee_id(self, field):
        _check_employee_choice(field)


def _check_employee_choice(field):
    allowed = {choice.value for choice in field.choices if choice.value != ""}
    if field.data is None or field.data not in allowed:
        raise ValidationError("Choisissez un salarié de la liste.")


class AnotherDateForm(PortailForm):
    reason = TextAreaField(
        "Motif de la demande d'une autre date",
        validators=[DataRequired("Indiquez le motif."), Length(max=1000, message="1 000 caractères au plus.")],
        render_kw={"maxlength": 1000},
    )


class RequestForm(PortailForm):
    employee_id = SelectField("Salarié", coerce=_coerce_int, validate_choice=False)
    reason = SelectField(
        "Motif",
        choices=choices([("", "Choisissez un motif"), *REQUEST_REASONS.items()]),
        validate_choice=False,
        validators=[DataRequired("Choisissez un motif."), _choice(REQUEST_REASONS, "Choisissez un motif de la liste.")],
    )
    absence_type = SelectField(
        "Type d'absence (visite de reprise)",
        choices=choices([("", "—"), *ABSENCE_TYPES.items()]),
        validate_choice=False,
        validators=[Optional(), _choice(ABSENCE_TYPES)],
    )
    absence_start = FrenchDateField("Début de l'absence", validators=[Optional()])
    absence_end = FrenchDateField("Date de reprise du travail", validators=[Optional()])
    motivation = TextAreaField(
        "Motivation de la demande (à la demande de l'employeur)",
        validators=[Optional(), Length(max=2000, message="2 000 caractères au plus.")],
        render_kw={"maxlength": 2000},
    )
    wished_from = FrenchDateField("Dates souhaitées : à partir du", validators=[Optional()])
    wished_to = FrenchDateField("Jusqu'au", validators=[Optional()])
    comment = TextAreaField(
        "Commentaire",
        validators=[Optional(), Length(max=2000, message="2 000 caractères au plus.")],
        render_kw={"maxlength": 2000},
    )

    def validate_employee_id(self, field):
        _check_employee_choice(field)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        reason = self.reason.data
        if reason == "reprise":
            if not self.absence_type.data:
                self.absence_type.errors.append("Indiquez le type d'absence.")
                ok = False
            if not self.absence_start.data:
                self.absence_start.errors.append("Indiquez le début de l'absence.")
                ok = False
            if not self.absence_end.data:
                self.absence_end.errors.append("Indiquez la date de reprise.")
                ok = False
        if reason == "reprise" and ok and self.absence_type.data and self.absence_start.data and self.absence_end.data:
            refusal = reprise_refusal(self.absence_type.data, self.absence_start.data, self.absence_end.data)
            if refusal:
                self.absence_end.errors.append(refusal)
                ok = False
        if reason in ("pre_reprise", "rendez_vous_liaison"):
            today = utcnow().date()
            refusal = long_leave_refusal(reason, self.absence_start.data, self.absence_end.data, today)
            if refusal:
                target = self.absence_end if self.absence_start.data else self.absence_start
                target.errors.append(refusal)
                ok = False
        if reason == "a_la_demande" and not (self.motivation.data or "").strip():
            self.motivation.errors.append("La motivation est obligatoire pour une visite à la demande de l'employeur.")
            ok = False
        if self.absence_start.data and self.absence_end.data and self.absence_end.data < self.absence_start.data:
            self.absence_end.errors.append("La fin de l'absence doit suivre son début.")
            ok = False
        if self.wished_from.data and self.wished_to.data and self.wished_to.data < self.wished_from.data:
            self.wished_to.errors.append("Cette date doit suivre la date de début.")
            ok = False
        return ok
