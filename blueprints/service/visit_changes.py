"""Back-office changes after booking: cancel or move one visit, or a professional's absence."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from blueprints.htmx import hx_redirect, render
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import iso_date, small_int
from blueprints.service.operations import ActionForm
from extensions import db
from models.base import utcnow
from models.planning import Slot
from services import scope
from services.planning.common import PARIS
from services.staff import visit_changes as svc


def _slot_label(slot) -> str:
    local = slot.starts_at.astimezone(PARIS)
    return f"{local:%d/%m/%Y %H:%M} – {slot.centre.name} – {slot.professional.name}"


def _change_page(visit, *, status: int = 200, errors=None, values=None):
    now = utcnow()
    slots = svc.move_choices(visit, now) if visit.status in ("proposee", "confirmee") else []
    return render(
        "service/visits/change.html",
        None,
        status=status,
        visit=visit,
        slots=[(s.id, _slot_label(s)) for s in slots],
        errors=errors or {},
        values=values or {},
        form=ActionForm(formdata=None),
    )


@bp.get("/visites/<int:visit_id>/modifier")
@staff_required()
def visit_change(visit_id: int):
    """Cancel or move one planned visit, with the reason the employer is told."""
    return _change_page(scope.visit(scope.EVERY_COMPANY, visit_id))


@bp.post("/visites/<int:visit_id>/annulation")
@staff_required()
def visit_cancel(visit_id: int):
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    values = {"cancel_reason": request.form.get("cancel_reason", "")}
    if not ActionForm().validate_on_submit():
        return _change_page(
            visit, status=400, errors={"cancel_reason": "La page a expiré : validez à nouveau."}, values=values
        )
    try:
        svc.cancel(visit, values["cancel_reason"], current_user, utcnow())
        db.session.commit()
    except svc.ChangeError as exc:
        db.session.rollback()
        return _change_page(
            scope.visit(scope.EVERY_COMPANY, visit_id), status=422, errors={"cancel_reason": str(exc)}, values=values
        )
    flash("Visite annulée : l'employeur est prévenu et le salarié revient dans la liste des convocations.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit_id))


@bp.post("/visites/<int:visit_id>/deplacement")
@staff_required()
def visit_move(visit_id: int):
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    values = {"move_reason": request.form.get("move_reason", ""), "slot": request.form.get("slot", "")}
    if not ActionForm().validate_on_submit():
        return _change_page(
            visit, status=400, errors={"move_reason": "La page a expiré : validez à nouveau."}, values=values
        )
    slot_id = small_int(values["slot"])
    slot = db.session.get(Slot, slot_id) if slot_id else None
    if slot is None:
        return _change_page(visit, status=422, errors={"slot": "Choisissez un créneau de la liste."}, values=values)
    try:
        svc.move(visit, slot, values["move_reason"], current_user, utcnow())
        db.session.commit()
    except svc.ChangeError as exc:
        db.session.rollback()
        field = "slot" if exc.field == "slot" else "move_reason"
        return _change_page(
            scope.visit(scope.EVERY_COMPANY, visit_id), status=422, errors={field: str(exc)}, values=values
        )
    except IntegrityError:
        db.session.rollback()
        return _change_page(
            scope.visit(scope.EVERY_COMPANY, visit_id),
            status=409,
            errors={"slot": "Ce créneau vient d'être pris. Choisissez-en un autre."},
            values=values,
        )
    flash("Visite déplacée : l'employeur est prévenu.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit_id))


# --------------------------------------------------------------------------- absences


def _absence_page(*, status: int = 200, errors=None, values=None, preview=None):
    return render(
        "service/visits/absence.html",
        None,
        status=status,
        professionals=svc.professional_choices(),
        periods=svc.PERIODS,
        errors=errors or {},
        values=values or {},
        preview=preview,
        form=ActionForm(formdata=None),
    )


def _absence_values(source) -> dict:
    return {
        "professionnel": source.get("professionnel", ""),
        "jour": source.get("jour", ""),
        "periode": source.get("periode", "journee"),
        "motif": source.get("motif", ""),
    }


@bp.get("/absences")
@staff_required()
def absence():
    """A professional's absence: the visits of the day or half-day, then their cancellation."""
    values = _absence_values(request.args)
    if not request.args.get("professionnel"):
        return _absence_page(values=values)
    errors = {}
    professional_id, day = small_int(values["professionnel"]), iso_date(values["jour"])
    if professional_id is None:
        errors["professionnel"] = "Choisissez le professionnel absent."
    if day is None:
        errors["jour"] = "Saisissez une date valide (jj/mm/aaaa)."
    if values["periode"] not in svc.PERIODS:
        errors["periode"] = "Choisissez la période de l'absence."
    if errors:
        return _absence_page(status=422, errors=errors, values=values)
    return _absence_page(values=values, preview=svc.absence_preview(professional_id, day, values["periode"]))


@bp.post("/absences")
@staff_required()
def absence_cancel():
    values = _absence_values(request.form)
    if not ActionForm().validate_on_submit():
        return _absence_page(status=400, errors={"motif": "La page a expiré : validez à nouveau."}, values=values)
    day = iso_date(values["jour"])
    try:
        result = svc.cancel_absence(
            small_int(values["professionnel"]), day, values["periode"], values["motif"], current_user, utcnow()
        )
        db.session.commit()
    except svc.ChangeError as exc:
        db.session.rollback()
        field = {"professional": "professionnel", "day": "jour", "period": "periode"}.get(exc.field, "motif")
        return _absence_page(status=422, errors={field: str(exc)}, values=values)
    count = len(result.cancelled)
    flash(
        f"Absence de {result.professional.name} enregistrée : {count} visite{'s' if count > 1 else ''} "
        f"annulée{'s' if count > 1 else ''}, employeurs prévenus, "
        f"{result.slots_removed} créneau(x) libre(s) retiré(s). "
        "Les salariés concernés reviennent dans la liste des convocations.",
        "success",
    )
    return hx_redirect(url_for("service.convocations"))
