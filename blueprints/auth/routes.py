"""Login (address, then password), logout, reset request and the first choice of a password."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from blueprints.auth import bp
from blueprints.auth.forms import ChoosePasswordForm, EmailStepForm, PasswordStepForm, ResetForm
from blueprints.htmx import hx_redirect, render
from blueprints.login_session import client_ip, current_login_session, end_login_session, start_login_session
from blueprints.navigation import safe_next_path
from blueprints.security import public
from extensions import db, limiter
from services.auth import login_guard, sessions
from services.auth import member_accounts as accounts
from services.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from services.core import audit

AFTER_PASSWORD_KEY = "after_password_next"  # noqa: S105 - a session key
# Endpoints a user who must choose a password may still reach.
_ALLOWED_WHILE_CHANGING = {"auth.choose_password", "auth.logout", "static", "public.healthz", "public.readyz"}


def auth_rate_limit() -> str:
    """Coarse per-IP guard on the POST endpoints (the real limits are the DB counters)."""
    return current_app.config.get("AUTH_RATE_LIMIT", "30 per minute")


def _landing(user, next_path: str | None) -> str:
    if next_path:
        return next_path
    if user.is_staff:
        service_home = "service.dashboard"
        if service_home in current_app.view_functions:
            return url_for(service_home)
        return url_for("public.home")
    return url_for("companies.space")


@bp.before_app_request
def require_password_choice():
    """A user logged in with a temporary secret chooses a password before any other page."""
    if request.endpoint in _ALLOWED_WHILE_CHANGING or request.endpoint is None:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return hx_redirect(url_for("auth.choose_password"))
    return None


def _render_login(form, step: int, status: int = 200):
    fragment = "auth/_step1.html" if step == 1 else "auth/_step2.html"
    return render("auth/login.html", fragment, status=status, form=form, step=step, fragment_template=fragment)


@bp.get("/connexion")
@public
def login():
    """Step 1: "Connexion à votre espace", the address only."""
    if current_user.is_authenticated:
        return redirect(url_for("companies.space"))
    form = EmailStepForm(formdata=None, next=safe_next_path(request.args.get("next")) or "")
    return _render_login(form, 1)


@bp.post("/connexion")
@public
@limiter.limit(auth_rate_limit)
def login_email():
    """Step 1 posted: always leads to step 2, whether the address has an account or not."""
    form = EmailStepForm()
    if not form.validate():
        return _render_login(form, 1, status=422)
    step2 = PasswordStepForm(formdata=None, email=form.email.data, next=safe_next_path(form.next.data) or "")
    return _render_login(step2, 2)


@bp.route("/connexion/mot-de-passe", methods=["GET", "POST"])
@public
@limiter.limit(auth_rate_limit, methods=["POST"])
def password():
    """Step 2: "Adresse e-mail" (kept) and "Mot de passe"."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("companies.space"))
        form = PasswordStepForm(formdata=None, next=safe_next_path(request.args.get("next")) or "")
        return _render_login(form, 2)
    form = PasswordStepForm()
    if not form.validate():
        return _render_login(form, 2, status=422)
    result = accounts.authenticate(
        form.email.data,
        form.password.data,
        ip=client_ip(),
        end_read=db.session.commit,
        device_token=request.cookies.get(login_guard.DEVICE_COOKIE_NAME),
    )
    if not result.ok:
        db.session.commit()  # the failure counters and the audit persist
        form.password.errors = [result.error]
        form.password.data = ""
        return _render_login(form, 2, status=429 if result.locked else 422)
    user = result.user
    next_path = safe_next_path(form.next.data)
    previous = current_login_session()
    if previous is not None:
        sessions.revoke(previous)  # a second login in the same browser ends the first session
    start_login_session(user)
    db.session.commit()
    if user.must_change_password:
        if next_path:
            session[AFTER_PASSWORD_KEY] = next_path
        response = hx_redirect(url_for("auth.choose_password"))
    else:
        response = hx_redirect(_landing(user, next_path))
    set_device_cookie(response, result.device_token)
    return response


def set_device_cookie(response, token: str | None) -> None:
    """The device cookie (OWASP device cookies, services/auth/login_guard.py): this browser is known
    for this account for 180 days, so a stranger's failures elsewhere do not lock it out."""
    if not token:
        return
    response.set_cookie(
        login_guard.DEVICE_COOKIE_NAME,
        token,
        max_age=int(login_guard.DEVICE_COOKIE_AGE.total_seconds()),
        httponly=True,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        samesite="Lax",
    )


@bp.post("/deconnexion")
@login_required
def logout():
    """End the server-side session: a copy of the cookie no longer works."""
    user = current_user._get_current_object()
    audit.record("logout", actor=user, actor_label=user.email, ip=client_ip())
    end_login_session()
    db.session.commit()
    flash("Vous êtes déconnecté.", "success")
    return hx_redirect(url_for("public.home"))


@bp.route("/connexion/reinitialiser", methods=["GET", "POST"])
@public
@limiter.limit(auth_rate_limit, methods=["POST"])
def reset():
    """ "Réinitialiser votre mot de passe": the same neutral answer for every address."""
    form = ResetForm()
    if request.method == "GET":
        return render("auth/reset.html", "auth/_reset.html", form=form, sent=False)
    if not form.validate():
        return render("auth/reset.html", "auth/_reset.html", status=422, form=form, sent=False)
    accounts.request_reset(form.email.data, ip=client_ip())
    db.session.commit()
    return render("auth/reset.html", "auth/_reset.html", form=form, sent=True)


@bp.route("/connexion/choisir-mot-de-passe", methods=["GET", "POST"])
@login_required
@limiter.limit(auth_rate_limit, methods=["POST"])
def choose_password():
    """ "Choisir votre mot de passe": after a temporary secret, before any other page."""
    user = current_user._get_current_object()
    if not user.must_change_password:
        # Changing a known password (with the current one) belongs to "Mon compte".
        return redirect(_landing(user, None))
    form = ChoosePasswordForm()
    ctx = {"form": form, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH}
    if request.method == "GET":
        return render("auth/choose_password.html", "auth/_choose_password.html", **ctx)
    if not (form.validate() & form.check_rules(user)):
        return render("auth/choose_password.html", "auth/_choose_password.html", status=422, **ctx)
    user_id = user.id
    db.session.commit()  # end the read transaction: no write lock held while hashing
    new_hash = hash_password(form.new_password.data)
    user = db.session.get(type(user), user_id)
    accounts.change_password(user, new_hash, ip=client_ip())
    next_path = session.get(AFTER_PASSWORD_KEY)
    g.pop("login_session", None)
    start_login_session(user)  # every older session (and cookie copy) is revoked
    db.session.commit()
    flash("Votre mot de passe est enregistré.", "success")
    return hx_redirect(_landing(user, safe_next_path(next_path)))
