"""Back-office pages: dashboard, members (search, page, sites, n° télédéclarant letter), audit."""

from __future__ import annotations

import csv
import io
import json

from flask import Response, current_app, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.navigation import page_arg
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import AuditFilterForm, RenewTeledeclarantForm, SiteForm
from extensions import db
from models.base import utcnow
from services import scope
from services.core import audit
from services.core.clock import PARIS
from services.staff import audit_trail as audit_reading
from services.staff import dashboard as staff_dashboard
from services.staff import letters
from services.staff import team_and_members as staff

AUDIT_PER_PAGE = 50


@bp.app_template_filter("service_datetime")
def service_datetime(value) -> str:
    """A UTC timestamp shown in Paris time: 27/11/2026 14:05."""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S") if value else ""


# --------------------------------------------------------------------------- dashboard


@bp.get("/")
@staff_required()
def dashboard():
    """What waits for the staff today, with counts linking to the lists."""
    return render(
        "service/dashboard.html", items=staff_dashboard.dashboard_items(), endpoints=current_app.view_functions
    )


# --------------------------------------------------------------------------- members


@bp.get("/adherents")
@staff_required()
def members():
    """Search members and sites by code, name, SIRET or town (active search)."""
    query = (request.args.get("q") or "")[:100]
    results = staff.search_members(query, page_arg())
    return render("service/members.html", "service/_member_results.html", q=query, results=results)


@bp.get("/adherents/<code>")
@staff_required()
def member(code: str):
    """A member's page: sites, users and roles, employees, and what other features add."""
    company = scope.company_by_code(code)
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
    company = scope.company_by_code(code)
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
    company = scope.company_by_code(code)
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


def _audit_filters(form: AuditFilterForm) -> audit_reading.AuditFilters:
    return audit_reading.AuditFilters(
        code=form.code.data, email=form.email.data, action=form.action.data, start=form.start.data, end=form.end.data
    )


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
    results = audit_reading.audit_page(_audit_filters(form), page_arg(), AUDIT_PER_PAGE)
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
    rows = audit_reading.audit_rows(_audit_filters(form))

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(
            ["date", "action", "utilisateur", "libellé", "code adhérent", "cible", "id cible", "ip", "détails"]
        )
        yield "\ufeff" + buffer.getvalue()
        for event, email, code in rows:
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
    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="journal-audit-{stamp}.csv"'
    return response
