"""The staff second factor: TOTP enrolment (QR code, first code, recovery codes) and the
"Code de vérification" page that every staff login goes through."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.navigation import safe_next_path
from blueprints.service import bp
from blueprints.service.access import second_factor_done, staff_required
from blueprints.service.forms import CodeForm, StartEnrolmentForm
from extensions import db
from models.base import utcnow
from services.auth import totp


def _next_url() -> str:
    target = safe_next_path(request.values.get("next"))
    if target and target.startswith("/service") and not target.startswith("/service/2fa"):
        return target
    return url_for("service.dashboard")


def _enrolment_context(user, form=None):
    secret = totp.pending_secret(user)
    if secret is None:
        return {"secret": None, "start_form": StartEnrolmentForm()}
    return {
        "secret": totp.format_secret(secret),
        "qr": totp.qr_data_uri(totp.provisioning_uri(user, secret)),
        "form": form or CodeForm(),
    }


@bp.get("/2fa")
@staff_required(second_factor=False)
def two_factor():
    """Enrol the second factor, or type the verification code of this session."""
    if second_factor_done():
        return redirect(_next_url())
    if totp.is_enrolled(current_user):
        return render(
            "service/two_factor.html", "service/_two_factor_form.html", form=CodeForm(), next=request.args.get("next")
        )
    return render(
        "service/enrol.html", "service/_enrol.html", next=request.args.get("next"), **_enrolment_context(current_user)
    )


@bp.post("/2fa")
@staff_required(second_factor=False)
def two_factor_verify():
    """Check a TOTP code or a recovery code; on success the session may enter /service."""
    form = CodeForm()
    next_value = request.form.get("next")
    if not totp.is_enrolled(current_user):
        return redirect(url_for("service.two_factor"))
    if not form.validate_on_submit():
        return render(
            "service/two_factor.html", "service/_two_factor_form.html", form=form, next=next_value, status=422
        )
    try:
        result = totp.verify(current_user, form.code.data, ip=client_ip())
    except totp.SecondFactorError as exc:
        db.session.commit()  # failure counters and audit persist
        form.code.errors = [exc.message]
        form.code.data = ""
        return render(
            "service/two_factor.html",
            "service/_two_factor_form.html",
            form=form,
            next=next_value,
            status=429 if exc.locked else 422,
        )
    g.login_session.second_factor_at = utcnow()
    db.session.commit()
    if result.method == "recovery":
        from flask import flash

        flash(f"Code de secours accepté. Il vous en reste {result.recovery_codes_left}.", "warning")
    from blueprints.htmx import hx_redirect

    return hx_redirect(_next_url())


@bp.post("/2fa/enrolement")
@staff_required(second_factor=False)
def enrolment_start():
    """Create the pending secret shown as a QR code (not yet active)."""
    form = StartEnrolmentForm()
    if not form.validate_on_submit():
        return redirect(url_for("service.two_factor"))
    if not totp.is_enrolled(current_user):
        totp.start_enrolment(current_user)
        db.session.commit()
    return redirect(url_for("service.two_factor", next=safe_next_path(request.form.get("next"))))


@bp.post("/2fa/confirmation")
@staff_required(second_factor=False)
def enrolment_confirm():
    """The first code proves the app holds the secret: enable it and show recovery codes once."""
    form = CodeForm()
    next_value = request.form.get("next")
    if totp.is_enrolled(current_user) or totp.pending_secret(current_user) is None:
        return redirect(url_for("service.two_factor"))
    if form.validate_on_submit():
        try:
            codes = totp.confirm_enrolment(current_user, form.code.data, ip=client_ip())
        except totp.SecondFactorError as exc:
            db.session.commit()
            form.code.errors = [exc.message]
        else:
            g.login_session.second_factor_at = utcnow()
            db.session.commit()
            return render("service/recovery_codes.html", codes=codes, next_url=_next_url())
    form.code.data = ""
    return render(
        "service/enrol.html",
        "service/_enrol.html",
        next=next_value,
        status=422,
        **_enrolment_context(current_user, form),
    )
