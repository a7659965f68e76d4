"""Mon compte: personal details, e-mail, password, sessions; company coordinates; users."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.account import bp
from blueprints.account.forms import (
    ROLE_CHOICES,
    CompanyForm,
    EmailChangeForm,
    InvitationAcceptForm,
    InviteForm,
    PasswordChangeForm,
    ProfileForm,
    RoleForm,
)
from blueprints.htmx import hx_redirect, render
from blueprints.login_session import client_ip, current_login_session, end_login_session, start_login_session
from blueprints.scoping import company_view
from blueprints.security import public
from extensions import db
from models.companies import Company
from services import scope
from services.account import account_and_users as account_service
from services.companies.access import has_right, membership_for

# --------------------------------------------------------------------------- hub


@bp.get("/entreprises/<code>/compte")
@company_view()
def index(company):
    """Mon compte: the personal part for everyone, the company part for employers."""
    return render_template(
        "account/index.html",
        company=company,
        can_edit_company=has_right(g.membership, "account"),
        can_manage_users=has_right(g.membership, "users"),
    )


# --------------------------------------------------------------------------- company part


def _company_page(company, form, status=200):
    return render(
        "account/company.html",
        "account/_company_form.html",
        status=status,
        company=company,
        form=form,
        history=account_service.company_history(company),
        naf_display=account_service.format_naf,
    )


@bp.route("/entreprises/<code>/compte/entreprise", methods=["GET", "POST"])
@company_view(right="account")
def company(company):
    """The company's coordinates, editable by the employer, with their history."""
    form = CompanyForm(obj=company)
    if form.is_submitted():
        if not form.validate():
            return _company_page(company, form, status=422)
        changes = account_service.update_company(company, form.data_for_service(), current_user, ip=client_ip())
        db.session.commit()
        flash("Les coordonnées ont été enregistrées." if changes else "Aucune modification.", "success")
        return hx_redirect(url_for("account.company", code=company.code))
    if company.naf:
        form.naf.data = account_service.format_naf(company.naf)
    return _company_page(company, form)


# --------------------------------------------------------------------------- personal part


def _remember_active_company() -> None:
    """Keep the last company in the layout on the pages that are not company-scoped."""
    if current_user.last_company_id and not g.get("company"):
        company = db.session.get(Company, current_user.last_company_id)
        membership = membership_for(current_user, company) if company is not None else None
        if membership is not None:
            g.company, g.membership = company, membership


def _profile_page(status=200, **forms):
    _remember_active_company()
    current = current_login_session()
    context = {
        "profile_form": forms.get("profile_form") or ProfileForm(obj=current_user),
        "email_form": forms.get("email_form") or EmailChangeForm(formdata=None),
        "password_form": forms.get("password_form") or PasswordChangeForm(formdata=None),
        "sessions": account_service.active_sessions(current_user),
        "current_session_id": current.id if current is not None else None,
        "describe_device": account_service.describe_device,
    }
    fragment = None
    for name, template in (
        ("profile_form", "account/_profile_form.html"),
        ("email_form", "account/_email_form.html"),
        ("password_form", "account/_password_form.html"),
    ):
        if name in forms:
            fragment = template
    return render("account/profile.html", fragment, status=status, **context)


@bp.get("/compte")
@login_required
def profile():
    """Mon compte, personal part: details, e-mail, password, active sessions."""
    return _profile_page()


@bp.post("/compte")
@login_required
def update_profile():
    """Save nom, prénom, fonction, mobile."""
    form = ProfileForm()
    if not form.validate():
        return _profile_page(status=422, profile_form=form)
    data = {name: form[name].data for name in ("last_name", "first_name", "job_title", "mobile")}
    changes = account_service.update_profile(current_user, data, ip=client_ip())
    db.session.commit()
    flash("Vos informations ont été enregistrées." if changes else "Aucune modification.", "success")
    return hx_redirect(url_for("account.profile"))


@bp.post("/compte/email")
@login_required
def change_email():
    """Ask for a new address: a link goes to it, the old address is told."""
    from services.auth.passwords import verify_password

    form = EmailChangeForm()
    if form.validate():
        stored = current_user.password_hash
        db.session.commit()  # end the read transaction: no write lock held while hashing
        if not verify_password(stored, form.password.data):
            form.password.errors.append("Le mot de passe actuel est incorrect.")
        else:
            try:
                account_service.request_email_change(current_user, form.new_email.data, ip=client_ip())
            except account_service.AccountError as exc:
                form.new_email.errors.append(str(exc))
            else:
                db.session.commit()
                flash(
                    f"Un lien de confirmation a été envoyé à {form.new_email.data}. Il est valable 24 heures ; "
                    "vérifiez vos courriers indésirables.",
                    "success",
                )
                return hx_redirect(url_for("account.profile"))
    form.password.data = ""
    return _profile_page(status=422, email_form=form)


@bp.route("/compte/email/<token>", methods=["GET", "POST"])
@public
def confirm_email(token):
    """Confirm a new address from the link (a button: a GET never changes anything)."""
    from flask import request

    change = account_service.find_email_change(token)
    if change is None:
        return render_template("account/email_confirm.html", invalid=True), 404
    if request.method == "POST":
        try:
            account_service.confirm_email_change(token, ip=client_ip())
        except account_service.AccountError as exc:
            db.session.commit()
            return render_template("account/email_confirm.html", invalid=True, message=str(exc)), 409
        db.session.commit()
        flash("Votre nouvelle adresse e-mail est confirmée : utilisez-la pour vous connecter.", "success")
        target = "account.profile" if current_user.is_authenticated else "public.home"
        return redirect(url_for(target), code=303)
    return render_template("account/email_confirm.html", invalid=False, change=change)


@bp.post("/compte/mot-de-passe")
@login_required
def change_password():
    """Change the password (current one required); the other sessions end."""
    form = PasswordChangeForm()
    if form.validate():
        current = current_login_session()
        try:
            ended = account_service.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep_session_id=current.id if current is not None else None,
                ip=client_ip(),
                end_read=db.session.commit,
            )
        except account_service.AccountError as exc:
            target = form.current_password if "actuel" in str(exc) else form.new_password
            target.errors.append(str(exc))
        else:
            db.session.commit()
            message = "Votre mot de passe a été modifié."
            if ended:
                message += f" Vos autres sessions ({ended}) ont été fermées."
            flash(message, "success")
            return hx_redirect(url_for("account.profile"))
    for f in (form.current_password, form.new_password, form.confirm_password):
        f.data = ""
    return _profile_page(status=422, password_form=form)


@bp.post("/compte/sessions/<int:session_id>/fermer")
@login_required
def revoke_session(session_id):
    """End one of my sessions (another device)."""
    current = current_login_session()
    if not account_service.revoke_session(current_user, session_id, ip=client_ip()):
        abort(404)
    if current is not None and current.id == session_id:
        end_login_session()
        db.session.commit()
        return hx_redirect(url_for("public.home"))
    db.session.commit()
    flash("La session a été fermée.", "success")
    return hx_redirect(url_for("account.profile"))


@bp.post("/compte/sessions/fermer-tout")
@login_required
def revoke_all_sessions():
    """Se déconnecter de tous les appareils (this one too)."""
    account_service.revoke_all_sessions(current_user, ip=client_ip())
    end_login_session()
    db.session.commit()
    flash("Vous avez été déconnecté de tous les appareils.", "success")
    return hx_redirect(url_for("public.home"))


# --------------------------------------------------------------------------- users of a company


def _users_page(company, *, invite_form=None, status=200, error=None):
    rows = account_service.company_memberships(company)
    return render(
        "account/users.html",
        "account/_invite_form.html" if invite_form is not None and status == 422 else None,
        status=status,
        company=company,
        rows=rows,
        invitations=account_service.pending_invitations(company),
        invite_form=invite_form or InviteForm(formdata=None),
        role_choices=ROLE_CHOICES,
        error=error,
    )


@bp.get("/entreprises/<code>/utilisateurs")
@company_view(right="users")
def users(company):
    """Who has access to the company, with role and date; invite someone."""
    return _users_page(company)


@bp.post("/entreprises/<code>/utilisateurs/inviter")
@company_view(right="users")
def invite(company):
    """Invite a person by e-mail with a role."""
    form = InviteForm()
    if not form.validate():
        return _users_page(company, invite_form=form, status=422)
    try:
        outcome = account_service.invite(company, form.email.data, form.role.data, current_user, ip=client_ip())
    except account_service.AccountError as exc:
        form.email.errors.append(str(exc))
        return _users_page(company, invite_form=form, status=422)
    db.session.commit()
    if outcome == "linked":
        flash(f"{form.email.data} a désormais accès à l'entreprise ; un e-mail l'en informe.", "success")
    else:
        flash(f"Une invitation a été envoyée à {form.email.data} (lien valable 72 heures).", "success")
    return hx_redirect(url_for("account.users", code=company.code))


@bp.post("/entreprises/<code>/utilisateurs/<int:membership_id>/role")
@company_view(right="users")
def change_role(company, membership_id):
    """Change the role of a person."""
    membership = scope.membership(company, membership_id)
    form = RoleForm()
    if not form.validate():
        return _users_page(company, status=422, error="Choisissez un rôle dans la liste.")
    try:
        changed = account_service.change_role(company, membership, form.role.data, current_user, ip=client_ip())
    except account_service.AccountError as exc:
        db.session.rollback()
        return _users_page(company, status=409, error=str(exc))
    db.session.commit()
    flash("Le rôle a été modifié." if changed else "Aucune modification.", "success")
    if membership.user_id == current_user.id and not has_right(membership, "users"):
        return hx_redirect(url_for("companies.home", code=company.code))
    return hx_redirect(url_for("account.users", code=company.code))


@bp.route("/entreprises/<code>/utilisateurs/<int:membership_id>/retirer", methods=["GET", "POST"])
@company_view(right="users")
def revoke(company, membership_id):
    """Remove a person's access (effective at their next click); GET asks for confirmation."""
    membership = scope.membership(company, membership_id)
    if request.method == "GET":
        from blueprints.confirm import confirmation

        own = membership.user_id == current_user.id
        name = membership.user.full_name
        return confirmation(
            company,
            title="Retirer un accès",
            question="Retirer votre propre accès ?" if own else f"Retirer l'accès de {name} ?",
            details=[f"{name} ({membership.user.email}), {membership.role_label}"],
            warning=(
                "Vous ne pourrez plus ouvrir cette entreprise sans ses identifiants."
                if own
                else f"{name} ne pourra plus ouvrir cette entreprise dès son prochain clic."
            ),
            action=url_for("account.revoke", code=company.code, membership_id=membership.id),
            confirm_label="Oui, retirer l'accès",
            back_url=url_for("account.users", code=company.code),
            back_label="Non, garder l'accès",
            confirm_id=f"retirer-{membership.id}",
        )
    try:
        account_service.revoke_membership(company, membership, current_user, ip=client_ip())
    except account_service.AccountError as exc:
        db.session.rollback()
        return _users_page(company, status=409, error=str(exc))
    db.session.commit()
    if membership.user_id == current_user.id:
        flash("Vous n'avez plus accès à cette entreprise.", "success")
        return hx_redirect(url_for("companies.space"))
    flash("L'accès a été retiré.", "success")
    return hx_redirect(url_for("account.users", code=company.code))


@bp.post("/entreprises/<code>/invitations/<int:invitation_id>/annuler")
@company_view(right="users")
def cancel_invitation(company, invitation_id):
    """Cancel an invitation not yet used."""
    if not account_service.cancel_invitation(company, invitation_id, current_user, ip=client_ip()):
        abort(404)
    db.session.commit()
    flash("L'invitation a été annulée.", "success")
    return hx_redirect(url_for("account.users", code=company.code))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token):
    """The invitee chooses a password through the single-use link, then is logged in."""
    invitation = account_service.find_invitation(token)
    if invitation is None:
        return render_template("account/invitation.html", invalid=True), 404
    form = InvitationAcceptForm()
    if form.is_submitted():
        if form.validate():
            data = {name: form[name].data for name in ("last_name", "first_name", "job_title")}
            try:
                user = account_service.accept_invitation(invitation, data, form.password.data, ip=client_ip())
            except account_service.AccountError as exc:
                form.password.errors.append(str(exc))
            else:
                start_login_session(user)
                db.session.commit()
                flash("Votre compte est créé : bienvenue sur le portail.", "success")
                return hx_redirect(url_for("companies.home", code=invitation.company.code))
        form.password.data = form.confirm_password.data = ""
        return render(
            "account/invitation.html",
            "account/_invitation_form.html",
            status=422,
            invitation=invitation,
            form=form,
            invalid=False,
        )
    return render_template("account/invitation.html", invitation=invitation, form=form, invalid=False)
