"""Importer une DSN: upload and check (nothing written), then apply the ticked lines."""

from __future__ import annotations

from flask import flash, g, request, url_for
from flask_login import current_user

from blueprints.employees import bp
from blueprints.employees.forms import DsnApplyForm, DsnUploadForm
from blueprints.htmx import hx_redirect, render
from blueprints.scoping import company_view
from extensions import db
from models.employees import CONTRACT_NATURES
from services.employees import dsn_import
from services.employees.dsn import MAX_DSN_BYTES, DsnError


def _page(company, *, upload=None, confirm=None, reconciliation=None, error=None, status=200):
    return render(
        "employees/dsn.html",
        "employees/_dsn.html",
        status=status,
        company=company,
        upload=upload or DsnUploadForm(),
        confirm=confirm,
        rec=reconciliation,
        apply_error=error,
        CONTRACT_NATURES=CONTRACT_NATURES,
    )


def _counts_sentence(counts: dict[str, int]) -> str:
    parts = []
    for key, one, many in (
        ("embauche", "embauche", "embauches"),
        ("modification", "modification", "modifications"),
        ("depart", "départ", "départs"),
    ):
        if counts[key]:
            parts.append(f"{counts[key]} {one if counts[key] == 1 else many}")
    return ", ".join(parts)


@bp.route("/dsn", methods=["GET", "POST"])
@company_view(right="employees")
def dsn_upload(company):
    """Importer une DSN: the file is read and compared with the register; nothing is written."""
    form = DsnUploadForm()
    if request.method == "GET":
        return _page(company, upload=form)
    if not form.validate_on_submit():
        return _page(company, upload=form, status=422)
    upload = request.files.get("file")
    raw = upload.read(MAX_DSN_BYTES + 1) if upload else b""
    try:
        reconciliation, token = dsn_import.check_file(company, raw)
    except DsnError as exc:
        form.file.errors = [str(exc)]
        return _page(company, upload=form, status=422)
    confirm = DsnApplyForm(formdata=None, payload=token)
    return _page(company, upload=DsnUploadForm(formdata=None), confirm=confirm, reconciliation=reconciliation)


@bp.post("/dsn/appliquer")
@company_view(right="employees")
def dsn_apply(company):
    """Appliquer: the ticked hires, changes and departures, through the employee service, in
    one transaction (all or nothing)."""
    form = DsnApplyForm()
    if not form.validate_on_submit():
        form.payload.errors = form.payload.errors or ["La page a expiré : envoyez le fichier à nouveau."]
        return _page(company, upload=DsnUploadForm(formdata=None), status=422, error=form.payload.errors[0])
    keys = set(request.form.getlist("appliquer"))
    try:
        counts = dsn_import.apply_sealed(
            company, form.payload.data, keys, current_user, getattr(g.get("membership"), "role", None)
        )
    except DsnError as exc:
        db.session.rollback()
        try:
            reconciliation = dsn_import.reconcile_sealed(company, form.payload.data)
        except DsnError:
            return _page(company, upload=DsnUploadForm(formdata=None), status=422, error=str(exc))
        return _page(
            company,
            upload=DsnUploadForm(formdata=None),
            confirm=form,
            reconciliation=reconciliation,
            error=str(exc),
            status=422,
        )
    db.session.commit()
    flash(f"La DSN est appliquée : {_counts_sentence(counts)}.", "success")
    return hx_redirect(url_for("employees.history", code=company.code))
