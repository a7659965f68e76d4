"""Mon DUERP: the employer uploads each version of its document unique; every version listed
with who and when, downloadable."""

from __future__ import annotations

from flask import Response, flash, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField

from blueprints.account import bp
from blueprints.base_form import PortailForm
from blueprints.htmx import hx_redirect, render
from blueprints.scoping import company_view
from extensions import db
from services import scope
from services.account import duerp


class DuerpForm(PortailForm):
    file = FileField("Nouvelle version du document unique")


def _page(company, form, status=200):
    return render(
        "account/duerp.html",
        status=status,
        company=company,
        form=form,
        versions=duerp.versions(company.id),
        KIND_LABELS=duerp.KIND_LABELS,
    )


@bp.route("/entreprises/<code>/duerp", methods=["GET", "POST"])
@company_view(right="account")
def duerp_page(company):
    """Mon DUERP: the versions, newest first, and the upload of a new one."""
    form = DuerpForm()
    if request.method == "GET":
        return _page(company, form)
    if not form.validate_on_submit():
        return _page(company, form, status=422)
    upload = request.files.get("file")
    raw = upload.read(duerp.MAX_DUERP_BYTES + 1) if upload else b""
    try:
        version = duerp.upload_version(company, upload.filename if upload else None, raw, current_user)
    except duerp.DuerpError as exc:
        form.file.errors = [str(exc)]
        return _page(company, form, status=422)
    db.session.commit()
    flash(f"La version {version.version} de votre document unique est enregistrée et transmise au service.", "success")
    return hx_redirect(url_for("account.duerp_page", code=company.code))


@bp.get("/entreprises/<code>/duerp/<int:version_id>/telecharger")
@company_view(right="account")
def duerp_download(company, version_id):
    """Download one version (audited)."""
    return version_download(company, scope.duerp_version(company, version_id))


def version_download(company, version) -> Response:
    """Audit, commit and send one version (the member's page and the staff's)."""
    duerp.record_download(version, current_user, company)
    db.session.commit()
    return Response(
        version.content,
        mimetype=version.content_type,
        headers={"Content-Disposition": f'attachment; filename="{duerp.attachment_name(company, version)}"'},
    )
