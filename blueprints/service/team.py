"""« Équipe »: the staff accounts, managed by admins only."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import ActionForm, RoleForm, StaffCreateForm
from extensions import db
from services import scope
from services.auth import totp
from services.staff import team_and_members as staff


def _team_page(form=None, status=200, **extra):
    return render(
        "service/team.html",
        status=status,
        members=staff.list_staff(),
        form=form or StaffCreateForm(),
        action_form=ActionForm(),
        role_choices=staff.STAFF_ROLES,
        **extra,
    )


@bp.get("/equipe")
@staff_required(role="admin")
def team():
    """List the staff accounts with their role, status and second factor."""
    return _team_page()


@bp.post("/equipe")
@staff_required(role="admin")
def team_create():
    """Create a staff account; its temporary password is shown once, here."""
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            user, temporary = staff.create_staff(
                form.email.data,
                form.role.data,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                actor=current_user._get_current_object(),
                ip=client_ip(),
                end_read=db.session.commit,
            )
        except staff.StaffError as exc:
            db.session.rollback()
            getattr(form, exc.field or "email").errors = [exc.message]
        else:
            db.session.commit()
            return _team_page(created=user, temporary=temporary)
    return _team_page(form, status=422)


def _apply(user_id: int, change) -> object:
    form = ActionForm()
    user = scope.staff_user(user_id)
    if not form.validate_on_submit():
        return redirect(url_for("service.team"))
    try:
        message = change(user)
    except staff.StaffError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("service.team"))


@bp.post("/equipe/<int:user_id>/role")
@staff_required(role="admin")
def team_role(user_id: int):
    """Change a staff member's role (agent / administrateur)."""
    form = RoleForm()
    user = scope.staff_user(user_id)
    if not form.validate_on_submit():
        flash("Choisissez un rôle valide.", "error")
        return redirect(url_for("service.team"))
    try:
        staff.change_role(user, form.role.data, actor=current_user, ip=client_ip())
    except staff.StaffError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Rôle de {user.email} : {staff.STAFF_ROLES[user.staff_role]}.", "success")
    return redirect(url_for("service.team"))


@bp.post("/equipe/<int:user_id>/desactivation")
@staff_required(role="admin")
def team_deactivate(user_id: int):
    """Deactivate a staff account (its sessions end at once)."""

    def change(user):
        staff.set_active(user, False, actor=current_user, ip=client_ip())
        return f"Compte {user.email} désactivé."

    return _apply(user_id, change)


@bp.post("/equipe/<int:user_id>/reactivation")
@staff_required(role="admin")
def team_reactivate(user_id: int):
    """Reactivate a staff account."""

    def change(user):
        staff.set_active(user, True, actor=current_user, ip=client_ip())
        return f"Compte {user.email} réactivé."

    return _apply(user_id, change)


@bp.post("/equipe/<int:user_id>/2fa")
@staff_required(role="admin")
def team_reset_2fa(user_id: int):
    """Clear a staff member's second factor (lost phone): they enrol again at next login."""

    def change(user):
        totp.reset_second_factor(user, actor=current_user, ip=client_ip())
        return f"Double authentification de {user.email} réinitialisée."

    return _apply(user_id, change)
