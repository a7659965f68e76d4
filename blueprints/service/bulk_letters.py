"""Back office: the n° télédéclarant letters of the new members, in bulk (one PDF)."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.operations import ActionForm
from extensions import db
from models.base import utcnow
from services.planning.common import PARIS
from services.staff import bulk_letters as svc


def service_identity() -> dict:
    """The sender block of the letters, from the configuration."""
    cfg = current_app.config
    return {
        "name": cfg["SERVICE_NAME"],
        "short_name": cfg["SERVICE_SHORT_NAME"],
        "address": cfg["SERVICE_ADDRESS"],
        "phone": cfg["SERVICE_PHONE"],
        "support_email": cfg["SERVICE_SUPPORT_EMAIL"],
    }


def _page(*, status: int = 200, error: str | None = None):
    total, companies = svc.waiting()
    return render(
        "service/bulk_letters.html",
        status=status,
        total=total,
        companies=companies,
        batches=svc.recent_batches(),
        error=error,
        max_letters=svc.MAX_LETTERS,
    )


@bp.get("/adherents/courriers")
@staff_required()
def bulk_letters():
    """Members and sites waiting for their letter, and the letters already generated."""
    return _page()


@bp.post("/adherents/courriers")
@staff_required()
def bulk_letters_generate():
    """Generate a new n° télédéclarant for each waiting member or site and answer the PDF."""
    if not ActionForm().validate_on_submit():
        return _page(status=400, error="La page a expiré : validez à nouveau.")
    if request.form.get("confirm") != "1":
        return _page(status=422, error="Cochez la case pour confirmer la génération des courriers.")
    pdf, codes = svc.generate(
        current_user, service_identity(), portal_url=current_app.config["PORTAL_BASE_URL"], now=utcnow(), ip=client_ip()
    )
    if not codes:
        flash("Aucun adhérent n'attend son courrier.", "info")
        return redirect(url_for("service.bulk_letters"), code=303)
    db.session.commit()
    stamp = utcnow().astimezone(PARIS).strftime("%Y%m%d-%H%M")
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="courriers-teledeclarant-{stamp}.pdf"'
    return response
