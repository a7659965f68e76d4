"""Back-office pages: dashboard, members (search, page, sites, n° télédéclarant letter), audit."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import AuditFilterForm, RenewTeledeclarantForm, SiteForm
from extensions import db
from models.audit import AuditEvent
from models.base import utcnow
from models.companies import Company
from models.users import User
from services import audit, letters, staff, staff_dashboard

PARIS = ZoneInfo("Europe/Paris")
AUDIT_PER_PAGE = 50


@bp.app_template_filter("service_datetime")
def service_datetime(value) -> str:
    """A UTC timestamp shown in Paris time: 27/11/2026 14:05."""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S") if value else ""


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return max(1, min(int(value), 100000)) if value.isdigit() else 1


# --------------------------------------------------------------------------- dashboard


@bp.get("/")
@staff_required()
def dashboard():
    """What waits for the staff today, with counts linking to the lists."""
    return render("service/dashboard.html", items=staff_dashboard.dashboard_items())


# --------------------------------------------------------------------------- members


@bp.get("/adherents")
@staff_required()
def members():
    """Search members and sites by code, name, SIRET or town (active search)."""
    query = (request.args.get("q") or "")[:100]
    results = staff.search_members(query, _page_arg())
    return render("service/members.html", "service/_member_results.html", q=query, results=results)


@bp.get("/adherents/<code>")
@staff_required()
def member(code: str):
    """A member's page: sites, users and roles, employees, and what other features add."""
    company = staff.get_company_or_404(code)
    return _member_page(company)


def _member_page(company, *, site_form=None, renew_form=None, status=200, file_errors=None, file_values=None):
    from blueprints.service.member_file import member_context

    return render(
        "service/member.html",
        status=status,
        overview=staff.member_overview(company),
        sections=staff_dashboard.member_sections(company),
        site_form=site_form or SiteForm(),
        renew_form=renew_form or RenewTeledeclarantForm(),
        **member_context(company, errors=file_errors, values=file_values),
    )


@bp.post("/adherents/<code>/sites")
@staff_required()
def site_create(code: str):
    """Create a site NNNNN-N of this member."""
    company = staff.get_company_or_404(code)
    form = SiteForm()
    if company.is_site:
        from flask import abort

        abort(404)
    if form.validate_on_submit():
        try:
            site = staff.create_site(
                company,
                name=form.name.data,
                city=form.city.data,
                address=form.address.data,
                postal_code=form.postal_code.data,
                siret=form.siret.data,
                actor=current_user,
                ip=client_ip(),
            )
        except staff.StaffError as exc:
            db.session.rollback()
            target = getattr(form, exc.field, None) if exc.field else None
            if target is not None:
                target.errors = [*target.errors, exc.message]
            else:
                flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"Site {site.code} créé. Générez son n° télédéclarant pour lui envoyer le courrier.", "success")
            return redirect(url_for("service.member", code=site.code))
    return _member_page(company, site_form=form, status=422)


@bp.post("/adherents/<code>/teledeclarant")
@staff_required()
def teledeclarant_renew(code: str):
    """Generate a new n° télédéclarant; the answer is the letter (PDF), the only place the
    number ever appears."""
    company = staff.get_company_or_404(code)
    form = RenewTeledeclarantForm()
    if not form.validate_on_submit():
        return _member_page(company, renew_form=form, status=422)
    number = staff.renew_teledeclarant(company, actor=current_user, ip=client_ip())
    from blueprints.service.bulk_letters import service_identity

    pdf = letters.teledeclarant_letter(
        company, number, service_identity(), portal_url=current_app.config["PORTAL_BASE_URL"], now=utcnow()
    )
    del number
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="courrier-teledeclarant-{company.code}.pdf"'
    return response


# --------------------------------------------------------------------------- audit


def _audit_query(form: AuditFilterForm):
    actor = aliased(User)
    stmt = (
        select(AuditEvent, actor.email, Company.code)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Company, Company.id == AuditEvent.company_id)
    )
    if form.code.data:
        stmt = stmt.where(Company.code == form.code.data.strip())
    if form.email.data:
        email = form.email.data.strip().lower()
        # Failed logins carry the address tried as actor_label, without a user.
        stmt = stmt.where(or_(func.lower(actor.email) == email, func.lower(AuditEvent.actor_label) == email))
    if form.action.data:
        action = form.action.data.strip()
        escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(f"{escaped}%", escape="\\"))
    if form.start.data:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(form.start.data, time.min, PARIS))
    if form.end.data:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(form.end.data + timedelta(days=1), time.min, PARIS))
    return stmt


def _filters(form: AuditFilterForm) -> dict:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in ((f.name, f.data) for f in form)
        if value
    }


@bp.get("/audit")
@staff_required(role="admin")
def audit_trail():
    """The audit trail, filterable by company, user, action and dates; newest first."""
    form = AuditFilterForm(request.args)
    if request.args and not form.validate():
        return render(
            "service/audit.html", "service/_audit_results.html", form=form, results=None, filters={}, status=422
        )
    stmt = _audit_query(form)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = _page_arg()
    rows = db.session.execute(
        stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PER_PAGE)
        .offset((page - 1) * AUDIT_PER_PAGE)
    ).all()
    results = staff.Page(rows, total, page, AUDIT_PER_PAGE)
    return render(
        "service/audit.html", "service/_audit_results.html", form=form, results=results, filters=_filters(form)
    )


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start with these: neutralise them (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/audit/export.csv")
@staff_required(role="admin")
def audit_export():
    """The filtered trail as CSV (";" separated, UTF-8 with BOM) for the data protection officer."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render(
            "service/audit.html", "service/_audit_results.html", form=form, results=None, filters={}, status=422
        )
    audit.record("audit.exported", actor=current_user, ip=client_ip(), filters=_filters(form))
    db.session.commit()
    stmt = _audit_query(form).order_by(AuditEvent.created_at, AuditEvent.id).execution_options(yield_per=500)

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(
            ["date", "action", "utilisateur", "libellé", "code adhérent", "cible", "id cible", "ip", "détails"]
        )
        yield "\ufeff" + buffer.getvalue()
        for event, email, code in db.session.execute(stmt):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(
                [
                    _csv_cell(event.created_at.astimezone(PARIS).isoformat(timespec="seconds")),
                    _csv_cell(event.action),
                    _csv_cell(email),
                    _csv_cell(event.actor_label),
                    _csv_cell(code),
                    _csv_cell(event.target_type),
                    _csv_cell(event.target_id),
                    _csv_cell(event.ip_address),
                    _csv_cell(json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else ""),
                ]
            )
            yield buffer.getvalue()

    stamp = utcnow().astimezone(PARIS).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="journal-audit-{stamp}.csv"'
    return response
