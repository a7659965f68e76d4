"""The one input guard every form goes through: `PortailForm`, the base of every form class
(tests/web/test_input_robustness.py walks them all).

Right after the posted values are read, and before any validator or route sees them:
- control characters are refused (tab, CR and LF only in multi-line fields, i.e. text areas);
- every value has a maximum length: the field's own `Length(max=...)`, else a default per kind
  of field (`DEFAULT_MAX`);
- numbers stay in a range the database stores (no NaN, infinity or 10,000-digit numbers);
- dates stay in a plausible range (`DATE_MIN`..`DATE_MAX`) before any arithmetic: an
  out-of-range date is emptied for the other validators, so `9999-12-31 + 14 years` is never
  computed.
The French message goes beside the field (the field's errors), the page answers 422 as for any
invalid input, and what was typed is kept in the field (control characters removed).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, StopValidation

from services.core.input_limits import DATE_MAX, DATE_MIN

INTEGER_LIMIT = 2**31 - 1  # a PostgreSQL integer
DECIMAL_LIMIT = Decimal(10) ** 12
MAX_VALUES = 200  # values of one multi-valued field (checkboxes, multiple select)

# Defaults when the field declares no Length(max=...).
DEFAULT_MAX = {"multiline": 5000, "password": 1024, "line": 255}

_SINGLE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MSG_LINE = "Ce champ doit tenir sur une seule ligne, sans retour à la ligne ni caractère de contrôle."
MSG_CONTROL = "Ce champ contient un caractère de contrôle non autorisé."
MSG_DATE = f"Saisissez une date comprise entre le {DATE_MIN:%d/%m/%Y} et le {DATE_MAX:%d/%m/%Y}."
MSG_NUMBER = "Saisissez un nombre d'une taille raisonnable."
MSG_TOO_MANY = "Trop de valeurs envoyées pour ce champ."


def is_multiline(field) -> bool:
    return isinstance(field, TextAreaField) or bool(getattr(field, "multiline", False))


def max_length(field) -> int:
    """The field's declared maximum length, else the default for its kind."""
    declared = [v.max for v in field.validators if isinstance(v, Length) and v.max is not None and v.max >= 0]
    if declared:
        return min(declared)
    if is_multiline(field):
        return DEFAULT_MAX["multiline"]
    if isinstance(field, PasswordField):
        return DEFAULT_MAX["password"]
    return DEFAULT_MAX["line"]


def text_problem(field, value: str) -> str | None:
    """The French message for a posted value this field cannot take, or None."""
    if is_multiline(field):
        if _MULTILINE_CONTROL.search(value):
            return MSG_CONTROL
    elif _SINGLE_LINE_CONTROL.search(value):
        return MSG_LINE
    limit = max_length(field)
    if len(value) > limit:
        return _length_message(field, limit, len(value))
    return None


def _length_message(field, limit: int, length: int) -> str:
    """The field's own Length message when it has one (its wording stays), else ours."""
    for validator in field.validators:
        if isinstance(validator, Length) and validator.max == limit and validator.message:
            try:
                return str(validator.message) % {"max": limit, "min": validator.min, "length": length}
            except (TypeError, ValueError, KeyError):
                return str(validator.message)
    return f"{limit} caractères au plus."


def _clean(field, value: str) -> str:
    pattern = _MULTILINE_CONTROL if is_multiline(field) else _SINGLE_LINE_CONTROL
    return pattern.sub("", value)


def value_problem(field) -> str | None:
    """Range checks on the converted value (dates, numbers)."""
    data = field.data
    if isinstance(field, (DateField, DateTimeField)) and isinstance(data, (date, datetime)):
        day = data.date() if isinstance(data, datetime) else data
        if not DATE_MIN <= day <= DATE_MAX:
            return MSG_DATE
    if isinstance(field, IntegerField) and isinstance(data, int) and abs(data) > INTEGER_LIMIT:
        return _range_message(field)
    if isinstance(field, DecimalField) and isinstance(data, Decimal) and not _decimal_ok(data):
        return _range_message(field)
    if isinstance(field, FloatField) and isinstance(data, float) and not _float_ok(data):
        return _range_message(field)
    return None


def _range_message(field) -> str:
    """The field's own NumberRange message when it has one, else ours."""
    for validator in field.validators:
        if isinstance(validator, NumberRange) and validator.message:
            try:
                return str(validator.message) % {"min": validator.min, "max": validator.max}
            except (TypeError, ValueError, KeyError):
                return str(validator.message)
    return MSG_NUMBER


def _decimal_ok(value: Decimal) -> bool:
    return value.is_finite() and abs(value) < DECIMAL_LIMIT


def _float_ok(value: float) -> bool:
    return math.isfinite(value) and abs(value) < float(DECIMAL_LIMIT)


def _stop_if_blocked(form, field):
    """First validator of every field: a value the guard refused goes no further."""
    if getattr(field, "guard_blocked", False):
        raise StopValidation()


class PortailForm(FlaskForm):
    """Base of every form of the portal: see the module docstring."""

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data, extra_filters, **kwargs)
        for field in self._fields.values():
            guard_field(field)


def guard_field(field) -> None:
    """Apply the guard to one processed field (values, lengths, ranges)."""
    if not getattr(field, "guard_installed", False):
        field.validators = [_stop_if_blocked, *field.validators]
        field.guard_installed = True
    field.guard_blocked = False
    if isinstance(field, HiddenField):
        # Nobody types in a hidden field (next, csrf_token...): cleaned, never refused with a
        # message nobody would see; the route's own checks (safe_next_path, CSRF) still apply.
        if isinstance(field.data, str):
            field.data = _clean(field, field.data)[: max_length(field)]
        return
    raw = [v for v in (field.raw_data or []) if isinstance(v, str)]
    problem = MSG_TOO_MANY if len(field.raw_data or []) > MAX_VALUES else None
    for value in raw:
        problem = problem or text_problem(field, value)
    if problem is None:
        problem = value_problem(field)
        if problem is not None:
            field.data = None  # never reaches date or number arithmetic
    elif isinstance(field.data, str) and not isinstance(field, FileField):
        field.data = _clean(field, field.data)  # what was typed stays in the field
    elif not isinstance(field.data, (str, list)) and not isinstance(field, FileField):
        field.data = None
    if problem is not None:
        field.guard_blocked = True
        field.process_errors = [*field.process_errors, problem]
