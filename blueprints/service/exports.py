"""Back-office CSV exports for the business software (admins; every download is audited)."""

from __future__ import annotations

from flask import Response, abort, stream_with_context
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from extensions import db
from models.base import utcnow
from services.core import audit
from services.planning.common import PARIS
from services.staff import exports as svc


@bp.get("/exports")
@staff_required(role="admin")
def exports():
    """The exports and their documented columns."""
    return render("service/exports.html", exports=svc.EXPORTS.values())


@bp.get("/exports/<key>.csv")
@staff_required(role="admin")
def export_csv(key: str):
    export = svc.EXPORTS.get(key)
    if export is None:
        abort(404)
    audit.record("service.exported", actor=current_user, ip=client_ip(), export=key)
    db.session.commit()
    stamp = utcnow().astimezone(PARIS).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(svc.stream(export)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{key}-{stamp}.csv"'
    return response
