"""Back office: correct a visit's outcome or change its type, with the reason (audited)."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from blueprints.base_form import PortailForm
from blueprints.htmx import hx_redirect
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.operations import _visit_page
from extensions import db
from models.base import utcnow
from models.planning import VISIT_TYPES
from services import scope
from services.staff import operations as ops
from services.staff import visit_corrections as corrections

REASON_HINT = "Obligatoire ; il est conservé dans le journal d'audit."


class CorrectOutcomeForm(PortailForm):
    outcome = SelectField(
        "Résultat corrigé",
        choices=[SelectChoice("", "—"), *(SelectChoice(k, v) for k, v in ops.OUTCOMES.items())],
        validate_choice=False,
    )
    bill_fee = BooleanField("Facturer l'absence")
    reason = TextAreaField(
        "Motif de la correction du résultat", validators=[Length(max=500, message="500 caractères au plus.")]
    )


class VisitTypeForm(PortailForm):
    visit_type = SelectField(
        "Nouveau type de visite", choices=[SelectChoice(k, v) for k, v in VISIT_TYPES.items()], validate_choice=False
    )
    reason = TextAreaField(
        "Motif du changement de type", validators=[Length(max=500, message="500 caractères au plus.")]
    )


def forms_for(visit, correct_form=None, type_form=None) -> dict:
    if correct_form is None:
        correct_form = CorrectOutcomeForm(formdata=None, prefix="correction")
    if type_form is None:
        type_form = VisitTypeForm(formdata=None, prefix="type")
        type_form.visit_type.data = visit.visit_type
    return {"correct_form": correct_form, "type_form": type_form, "reason_hint": REASON_HINT}


def _refused(visit_id: int, form, exc, **forms):
    db.session.rollback()
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    message = str(exc) if isinstance(exc, ops.OperationError) else "La visite vient d'être modifiée : réessayez."
    field = getattr(exc, "field", None)
    target = getattr(form, field) if field and hasattr(form, field) else form.reason
    target.errors = [*target.errors, message]
    return _visit_page(visit, status=422, **forms)


@bp.post("/visites/<int:visit_id>/corriger-resultat")
@staff_required()
def visit_correct_outcome(visit_id: int):
    """Replace a wrong outcome; a fee added by mistake is withdrawn (credit note once invoiced)."""
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    form = CorrectOutcomeForm(prefix="correction")
    if not form.validate_on_submit():
        return _visit_page(visit, status=422, correct_form=form)
    try:
        credit_note = corrections.correct_outcome(
            visit, form.outcome.data, form.reason.data, current_user, utcnow(), bill_fee=form.bill_fee.data
        )
        db.session.commit()
    except (ops.OperationError, IntegrityError) as exc:
        return _refused(visit_id, form, exc, correct_form=form)
    message = f"Résultat corrigé : {ops.OUTCOMES[form.outcome.data]}."
    if credit_note is not None:
        message += f" L'absence facturée est annulée par l'avoir n° {credit_note.number}."
    flash(message, "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit_id))


@bp.post("/visites/<int:visit_id>/type")
@staff_required()
def visit_change_type(visit_id: int):
    """Change the visit type (the slot's professional must be allowed to hold it)."""
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    form = VisitTypeForm(prefix="type")
    if not form.validate_on_submit():
        return _visit_page(visit, status=422, type_form=form)
    try:
        corrections.change_visit_type(visit, form.visit_type.data, form.reason.data, current_user)
        db.session.commit()
    except (ops.OperationError, IntegrityError) as exc:
        return _refused(visit_id, form, exc, type_form=form)
    flash(f"Type de visite modifié : {VISIT_TYPES[form.visit_type.data]}.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit_id))
