"""A member, whole: the extra sections of the member's page and the staff's actions on it
(coordinates, radiation and reinstatement, users' access)."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import iso_date, small_int
from blueprints.service.operations import ActionForm
from extensions import db
from services import scope
from services.employees.next_due import today as paris_today
from services.staff import member_file as svc


def member_context(company, *, errors=None, values=None) -> dict:
    """What services.staff.member_file adds to the member's page (a fixed number of queries)."""
    values = dict(values or {})
    values.setdefault("radiation_date", paris_today().isoformat())
    values.setdefault("reinstate_date", paris_today().isoformat())
    balance, unpaid = svc.balance(company)
    return {
        "file_errors": errors or {},
        "file_values": values,
        "history": svc.coordinates_history(company),
        "register": svc.register(company, small_int(request.args.get("page")) or 1, paris_today()),
        "visits": svc.recent_visits(company),
        "balance": balance,
        "unpaid": unpaid,
        "messages": svc.recent_messages(company),
        "documents": svc.recent_documents(company),
        "member_audit": svc.member_audit(company),
        "action_form": ActionForm(formdata=None),
    }


def _member_page(company, *, status: int, errors: dict, values: dict | None = None):
    from blueprints.service.routes import _member_page as page

    return page(company, status=status, file_errors=errors, file_values=values)


def _expired(company, values=None):
    return _member_page(company, status=400, errors={"form": "La page a expiré : validez à nouveau."}, values=values)


def _coordinates_page(company, *, status: int = 200, errors=None, values=None):
    if values is None:
        values = {}
        for name in svc.FIELDS:
            current = getattr(company, name)
            values[name] = current.isoformat() if isinstance(current, date) else (current or "")
    return render(
        "service/member_coordinates.html",
        status=status,
        company=company,
        fields=svc.FIELDS,
        values=values,
        errors=errors or {},
        history=svc.coordinates_history(company),
    )


@bp.get("/adherents/<code>/coordonnees")
@staff_required()
def member_coordinates_form(code: str):
    """The member's coordinates to correct, with their history."""
    return _coordinates_page(scope.company_by_code(code))


@bp.post("/adherents/<code>/coordonnees")
@staff_required()
def member_coordinates(code: str):
    """Correct a member's coordinates; the history keeps every old value."""
    company = scope.company_by_code(code)
    values = {name: request.form.get(name, "") for name in svc.FIELDS}
    if not ActionForm().validate_on_submit():
        return _coordinates_page(
            company, status=400, errors={"form": "La page a expiré : validez à nouveau."}, values=values
        )
    data = dict(values)
    if data["adhesion_date"]:
        data["adhesion_date"] = iso_date(data["adhesion_date"])
        if data["adhesion_date"] is None:
            return _coordinates_page(
                company, status=422, errors={"adhesion_date": "Saisissez une date valide (jj/mm/aaaa)."}, values=values
            )
    else:
        data["adhesion_date"] = None
    try:
        changes = svc.update_coordinates(company, data, current_user, ip=client_ip())
    except svc.MemberError as exc:
        db.session.rollback()
        company = scope.company_by_code(code)
        return _coordinates_page(company, status=422, errors={exc.field or "form": str(exc)}, values=values)
    db.session.commit()
    flash("Coordonnées enregistrées." if changes else "Aucune modification.", "success")
    return redirect(url_for("service.member", code=code, _anchor="coordonnees"), code=303)


@bp.post("/adherents/<code>/radiation")
@staff_required()
def member_radiate(code: str):
    """Deactivate the member (radiation) with its sites, from a date, with a reason."""
    company = scope.company_by_code(code)
    values = {
        "radiation_date": request.form.get("radiation_date", ""),
        "radiation_reason": request.form.get("radiation_reason", ""),
    }
    if not ActionForm().validate_on_submit():
        return _expired(company, values)
    try:
        svc.radiate(
            company, iso_date(values["radiation_date"]), values["radiation_reason"], current_user, ip=client_ip()
        )
    except svc.MemberError as exc:
        db.session.rollback()
        company = scope.company_by_code(code)
        return _member_page(company, status=422, errors={exc.field or "form": str(exc)}, values=values)
    db.session.commit()
    flash("Adhérent radié : ses utilisateurs ne peuvent plus l'ouvrir.", "success")
    return redirect(url_for("service.member", code=code), code=303)


@bp.post("/adherents/<code>/reintegration")
@staff_required()
def member_reinstate(code: str):
    company = scope.company_by_code(code)
    values = {"reinstate_date": request.form.get("reinstate_date", "")}
    if not ActionForm().validate_on_submit():
        return _expired(company, values)
    try:
        svc.reinstate(company, iso_date(values["reinstate_date"]), current_user, ip=client_ip())
    except svc.MemberError as exc:
        db.session.rollback()
        company = scope.company_by_code(code)
        return _member_page(company, status=422, errors={exc.field or "form": str(exc)}, values=values)
    db.session.commit()
    flash("Adhérent réintégré : ses utilisateurs retrouvent leur accès.", "success")
    return redirect(url_for("service.member", code=code), code=303)


_USER_ACTIONS = {
    "revoquer": (svc.revoke, "Accès révoqué."),
    "administrateur": (svc.make_administrator, "L'utilisateur est maintenant employeur (administrateur)."),
    "acces": (svc.resend_access, "Un code de connexion a été envoyé à l'utilisateur."),
}


@bp.post("/adherents/<code>/utilisateurs/<int:membership_id>/<action>")
@staff_required()
def member_user_action(code: str, membership_id: int, action: str):
    """Revoke a user's access, make them the company's administrator, or resend their access."""
    company = scope.company_by_code(code)
    membership = scope.membership(company, membership_id)
    if action not in _USER_ACTIONS:
        raise scope.NotFound
    if not ActionForm().validate_on_submit():
        return _expired(company)
    operation, message = _USER_ACTIONS[action]
    try:
        operation(company, membership, current_user, ip=client_ip())
    except svc.MemberError as exc:
        db.session.rollback()
        company = scope.company_by_code(code)
        return _member_page(company, status=409, errors={"users": str(exc)})
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("service.member", code=code, _anchor="utilisateurs"), code=303)
