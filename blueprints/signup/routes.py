""" "Se connecter avec son code adhérent", then "Créer votre compte"."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from blueprints.auth.routes import auth_rate_limit
from blueprints.htmx import hx_redirect, render
from blueprints.login_session import client_ip
from blueprints.security import public
from blueprints.signup import bp
from blueprints.signup.forms import CompanyCredentialsForm, SignupForm
from extensions import db, limiter
from models.companies import Company
from services.auth import login_guard
from services.auth import member_accounts as accounts
from services.auth.company_credentials import CompanyCredentialError, verify_company_credentials

COMPANY_KEY = "signup_company"
DONE_KEY = "signup_done"
# The verified company is remembered for this long between step 2 and step 3.
COMPANY_TOKEN_MAX_AGE = 30 * 60


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="signup-verified-company")


def _remember_company(company: Company) -> None:
    session[COMPANY_KEY] = _serializer().dumps({"id": company.id, "code": company.code})


def _verified_company() -> Company | None:
    """The company verified at step 2: signed, short-lived, re-read and re-checked."""
    token = session.get(COMPANY_KEY)
    if not isinstance(token, str):
        return None
    try:
        data = _serializer().loads(token, max_age=COMPANY_TOKEN_MAX_AGE)
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    return accounts.active_company(data.get("id"), data.get("code"))


@bp.route("/connexion/code-adherent", methods=["GET", "POST"])
@public
@limiter.limit(auth_rate_limit, methods=["POST"])
def start():
    """Step 2 of the seed: "Code adhérent" and "N° télédéclarant"."""
    form = CompanyCredentialsForm()
    if not form.is_submitted():
        return render("signup/start.html", "signup/_start.html", form=form)
    status = 200
    if form.validate():
        try:
            company = verify_company_credentials(
                form.code.data,
                form.number.data,
                ip=client_ip(),
                device_token=request.cookies.get(login_guard.DEVICE_COOKIE_NAME),
            )
        except CompanyCredentialError as exc:
            db.session.commit()  # the failure counters persist
            form.form_errors.append(exc.message)
            status = 429 if exc.locked else 422
        else:
            _remember_company(company)
            db.session.commit()
            return hx_redirect(url_for("signup.create"))
    else:
        status = 422
    form.number.data = ""  # a credential is never sent back
    return render("signup/start.html", "signup/_start.html", status=status, form=form)


def _expired():
    flash("Votre saisie a expiré : saisissez à nouveau votre code adhérent et votre n° télédéclarant.", "warning")
    return hx_redirect(url_for("signup.start"))


@bp.route("/connexion/creer-compte", methods=["GET", "POST"])
@public
@limiter.limit(auth_rate_limit, methods=["POST"])
def create():
    """ "Créer votre compte" for the verified company."""
    company = _verified_company()
    if company is None:
        return _expired()
    form = SignupForm()
    ctx = {"form": form, "company": company, "addresses": accounts.addresses_with_access(company)}
    if not form.is_submitted():
        return render("signup/create.html", "signup/_create.html", **ctx)
    if not form.validate():
        return render("signup/create.html", "signup/_create.html", status=422, **ctx)
    company_id = company.id
    db.session.commit()  # end the read: the service hashes before it writes
    for attempt in range(2):
        company = db.session.get(Company, company_id)
        try:
            result = accounts.create_account_or_link(company, form.account_data(), form.is_accountant.data, client_ip())
            db.session.commit()
            break
        except accounts.AccountError as exc:
            db.session.rollback()
            form.email.errors = [exc.message]
            return render("signup/create.html", "signup/_create.html", status=422, **ctx)
        except IntegrityError:
            # The same address was created meanwhile: the second pass links the company.
            db.session.rollback()
            if attempt:
                raise
    session.pop(COMPANY_KEY, None)
    session[DONE_KEY] = {"created": result.created, "email": result.user.email, "company": company.label}
    return hx_redirect(url_for("signup.done"))


@bp.get("/connexion/compte-cree")
@public
def done():
    """What happens next: the e-mail with the temporary password, or the existing password."""
    info = session.pop(DONE_KEY, None)
    if not isinstance(info, dict):
        return redirect(url_for("auth.login"))
    return render_template("signup/done.html", info=info)
