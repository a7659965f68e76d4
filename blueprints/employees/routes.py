"""Mes salariés: list and search, declaration, employee page, edit in place, departures,
history, CSV import and export, NIR reveal."""

from __future__ import annotations

import click
from flask import Response, flash, g, render_template, request, stream_with_context, url_for
from flask_login import current_user

from blueprints.employees import bp
from blueprints.employees.forms import DepartureForm, EmployeeForm, EmployeeRowForm, ImportForm, choices
from blueprints.htmx import hx_redirect, is_htmx, render
from blueprints.scoping import company_view
from extensions import db
from models.employees import CATEGORY_LABELS, CONTRACT_NATURES, POST_RISKS, SEX_LABELS, EmployeeChange
from services import scope
from services.core import clock, crypto
from services.employees import listing as reg
from services.employees import register as service
from services.employees import staff_csv
from services.employees.follow_up import VISIT_TYPE_LABELS, derive_category
from services.employees.register import EXIT_REASONS, FIELD_LABELS, EmployeeError

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _role() -> str | None:
    return getattr(g.get("membership"), "role", None)


def _ip() -> str | None:
    return request.remote_addr


def _context(company, **extra):
    return {
        "company": company,
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "COMPUTED_LIMIT": reg.COMPUTED_LIMIT,
        "CONTRACT_NATURES": CONTRACT_NATURES,
        "SEX_LABELS": SEX_LABELS,
        "SIR_RISKS": POST_RISKS,
        "EXIT_REASONS": EXIT_REASONS,
        "FIELD_LABELS": FIELD_LABELS,
        "VISIT_TYPE_LABELS": VISIT_TYPE_LABELS,
        "KIND_LABELS": EmployeeChange.KIND_LABELS,
        **extra,
    }


def _site_choices(form: EmployeeForm, company, sites) -> None:
    if sites:
        form.company_id.choices = choices([(company.id, company.label)] + [(s.id, s.site_label) for s in sites])
    else:
        form.company_id.choices = []


# --------------------------------------------------------------------------- list


@bp.get("/")
@company_view(right="employees")
def index(company):
    """The employee list with active search, filters, sort and pagination."""
    params = reg.ListParams.from_args(request.args)
    sites = reg.sites_of(company)
    result = reg.list_employees(company, sites, params, clock.today())
    return render(
        "employees/list.html",
        "employees/_results.html",
        **_context(company, params=params, sites=sites, result=result, statuses=reg.STATUSES, sorts=reg.SORTS),
    )


# --------------------------------------------------------------------------- declaration


@bp.route("/nouveau", methods=["GET", "POST"])
@company_view(right="employees")
def new(company):
    """Déclarer un nouveau salarié (probable duplicates shown before saving)."""
    sites = reg.sites_of(company)
    form = EmployeeForm()
    _site_choices(form, company, sites)
    duplicates = []
    status = 200
    if request.method == "GET":
        form.company_id.data = company.id
    if form.validate_on_submit():
        data = form.data_for_service()
        duplicates = service.find_probable_duplicates(company, data)
        if not duplicates or form.confirm_duplicate.data:
            try:
                employee = service.create_employee(company, data, current_user, _role())
            except EmployeeError as exc:
                form[exc.field or "birth_name"].errors = [str(exc)]
                status = 422
            else:
                db.session.commit()
                flash(f"{employee.display_name} est déclaré(e).", "success")
                return hx_redirect(url_for("employees.detail", code=company.code, employee_id=employee.id))
    elif form.is_submitted():
        status = 422
    return render(
        "employees/new.html",
        "employees/_form.html",
        status=status,
        **_context(company, form=form, duplicates=duplicates, derived=form.derived(), editing=False, employee=None),
    )


@bp.post("/categorie")
@company_view(right="employees")
def category_preview(company):
    """The derived follow-up category sentence for the answers posted so far (writes nothing)."""
    form = EmployeeForm(meta={"csrf": False})
    return render_template("employees/_category.html", derived=form.derived())


# --------------------------------------------------------------------------- list row, edited in place


def _row(company, employee) -> reg.Row:
    visits = reg.visits_by_employee([employee.id])
    return reg.Row(employee, reg.follow_up_of(employee, visits.get(employee.id), clock.today()))


def _row_cells(company, employee) -> tuple:
    """The strings of the employee's list row (see queries.row_cells)."""
    row = _row(company, employee)
    return reg.row_cells(employee, row.follow_up, company.id, {s.id: s.code for s in reg.sites_of(company)})


def _row_form(company, employee, form, status=200):
    return render(
        "employees/row.html",
        "employees/_row_form.html",
        status=status,
        **_context(company, employee=employee, form=form),
    )


@bp.get("/<int:employee_id>/ligne/lecture")
@company_view(right="employees")
def row(company, employee_id):
    """Annuler: the list row as it was (the list page without JavaScript)."""
    employee = scope.employee(company, employee_id)
    if not is_htmx():
        return hx_redirect(url_for("employees.index", code=company.code))
    return render_template("employees/_row.html", cells=_row_cells(company, employee))


@bp.route("/<int:employee_id>/ligne", methods=["GET", "POST"])
@company_view(right="employees")
def row_edit(company, employee_id):
    """Modifier in the list: the row swaps to a compact form (poste, contrat, nuit) and back."""
    employee = scope.employee(company, employee_id)
    prefix = f"e{employee.id}-"
    if request.method == "GET":
        if not is_htmx():
            return hx_redirect(url_for("employees.edit", code=company.code, employee_id=employee.id))
        return _row_form(company, employee, EmployeeRowForm(obj=employee, editing=True, prefix=prefix))
    form = EmployeeRowForm(editing=True, prefix=prefix)
    if not form.validate_on_submit():
        return _row_form(company, employee, form, status=422)
    try:
        service.update_employee(employee, form.data_for_service(), current_user, _role())
    except EmployeeError as exc:
        form[exc.field if exc.field in form else "job_title"].errors = [str(exc)]
        return _row_form(company, employee, form, status=422)
    db.session.commit()
    if not is_htmx():
        flash(f"Les informations de {employee.display_name} sont enregistrées.", "success")
        return hx_redirect(url_for("employees.index", code=company.code))
    return render_template("employees/_row.html", cells=_row_cells(company, employee))


# --------------------------------------------------------------------------- employee page


def _can_book(employee, follow_up) -> bool:
    """ "Prendre rendez-vous": a visit is due, none is planned, and the role may use the planning."""
    from models.base import utcnow
    from models.planning import ACTIVE_VISIT_STATUSES
    from services.companies.access import has_right

    if not has_right(g.get("membership"), "planning") or not employee.is_present or follow_up.due.due is None:
        return False
    now = utcnow()
    return not any(v.status in ACTIVE_VISIT_STATUSES and v.starts_at and v.starts_at >= now for v in follow_up.visits)


def _employee_context(company, employee, **extra):
    visits = reg.visits_by_employee([employee.id])
    follow_up = reg.follow_up_of(employee, visits.get(employee.id), clock.today())
    category, reasons, explanation = derive_category(
        employee.risks, employee.other_risk_justification, employee.night_work, employee.rqth
    )
    changes, _, _, _ = reg.history([employee.company_id], reg.HistoryParams(), employee_id=employee.id, per_page=100)
    return _context(
        company,
        employee=employee,
        follow_up=follow_up,
        can_book=_can_book(employee, follow_up),
        reasons=reasons,
        explanation=explanation,
        changes=changes,
        masked_nir=crypto.mask_nir(crypto.decrypt_nir(employee.nir_encrypted)) if employee.nir_encrypted else "",
        full_nir=None,
        **extra,
    )


@bp.get("/<int:employee_id>")
@company_view(right="employees")
def detail(company, employee_id):
    """The employee page: identity, contract, category and reasons, visits, next visit, history."""
    employee = scope.employee(company, employee_id)
    return render("employees/detail.html", "employees/_card.html", **_employee_context(company, employee))


@bp.post("/<int:employee_id>/nir")
@company_view(right="employees")
def reveal_nir(company, employee_id):
    """Voir: show the full NIR (POST, audited)."""
    employee = scope.employee(company, employee_id)
    full = service.reveal_nir(employee, current_user, company)
    db.session.commit()
    ctx = _employee_context(company, employee)
    ctx["full_nir"] = full
    return render("employees/detail.html", "employees/_nir.html", **ctx)


@bp.route("/<int:employee_id>/modifier", methods=["GET", "POST"])
@company_view(right="employees")
def edit(company, employee_id):
    """Modifier: the card swaps to this form and back (a normal page without JavaScript)."""
    employee = scope.employee(company, employee_id)
    sites = reg.sites_of(company)
    from_billing = request.args.get("retour") == "cotisation"
    if request.method == "GET":
        form = EmployeeForm(obj=employee, editing=True)
        form.nir.data = ""
        form.category.data = ""
    else:
        form = EmployeeForm(editing=True)
    _site_choices(form, company, sites)
    status = 200
    duplicates = []
    if form.validate_on_submit():
        data = form.data_for_service()
        duplicates = service.find_probable_duplicates(company, data, exclude_id=employee.id) if data.get("nir") else []
        if duplicates and not form.confirm_duplicate.data:
            status = 200
        else:
            try:
                changes = service.update_employee(employee, data, current_user, _role())
            except EmployeeError as exc:
                form[exc.field or "birth_name"].errors = [str(exc)]
                status = 422
            else:
                db.session.commit()
                message = "Les modifications sont enregistrées." if changes else "Aucune modification."
                if from_billing:  # "Corriger la catégorie" of Ma cotisation goes through the register
                    flash(f"{message} Catégorie de {employee.display_name} : {employee.category}.", "success")
                    return hx_redirect(url_for("billing.cotisation", code=company.code, corriger=1))
                if is_htmx():
                    ctx = _employee_context(company, employee, saved_message=message)
                    return render("employees/detail.html", "employees/_card.html", **ctx)
                flash(message, "success")
                return hx_redirect(url_for("employees.detail", code=company.code, employee_id=employee.id))
    elif form.is_submitted():
        status = 422
    return render(
        "employees/edit.html",
        "employees/_form.html",
        status=status,
        **_context(
            company,
            form=form,
            duplicates=duplicates,
            derived=form.derived(),
            editing=True,
            employee=employee,
            from_billing=from_billing,
        ),
    )


@bp.route("/<int:employee_id>/depart", methods=["GET", "POST"])
@company_view(right="employees")
def departure(company, employee_id):
    """Déclarer un départ: date de sortie and motif."""
    employee = scope.employee(company, employee_id)
    form = DepartureForm()
    status = 200
    if employee.exit_date is not None and request.method == "GET":
        return hx_redirect(url_for("employees.detail", code=company.code, employee_id=employee.id))
    confirming = False
    if form.validate_on_submit():
        try:
            if request.form.get("confirme") == "oui":
                service.declare_departure(employee, form.exit_date.data, form.exit_reason.data, current_user, _role())
            else:  # a confirmation step first, once the answers are valid
                service.check_departure(employee, form.exit_date.data, form.exit_reason.data)
                confirming = True
        except EmployeeError as exc:
            form[exc.field or "exit_date"].errors = [str(exc)]
            status = 422
        if not confirming and status == 200:
            db.session.commit()
            flash(f"Le départ de {employee.display_name} est déclaré.", "success")
            return hx_redirect(url_for("employees.detail", code=company.code, employee_id=employee.id))
    elif form.is_submitted():
        status = 422
    return render(
        "employees/departure.html",
        "employees/_departure_form.html",
        status=status,
        **_context(company, form=form, employee=employee, confirming=confirming),
    )


@bp.post("/<int:employee_id>/annuler-depart")
@company_view(right="employees")
def cancel_departure(company, employee_id):
    """Annuler le départ declared by mistake."""
    employee = scope.employee(company, employee_id)
    try:
        service.cancel_departure(employee, current_user, _role())
    except EmployeeError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Le départ de {employee.display_name} est annulé.", "success")
    return hx_redirect(url_for("employees.detail", code=company.code, employee_id=employee.id))


# --------------------------------------------------------------------------- history


@bp.get("/historique")
@company_view(right="employees")
def history(company):
    """Historique de vos déclarations: filterable by kind, employee and date, paginated."""
    params = reg.HistoryParams.from_args(request.args)
    changes, total, page_number, pages = reg.history(scope.company_ids(company), params)
    return render(
        "employees/history.html",
        "employees/_history_results.html",
        status=422 if params.errors else 200,
        **_context(company, params=params, changes=changes, total=total, page_number=page_number, pages=pages),
    )


# --------------------------------------------------------------------------- CSV


@bp.get("/modele.csv")
@company_view(right="employees")
def csv_template(company):
    """The service's CSV template for a staff list."""
    return Response(
        staff_csv.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="modele-liste-du-personnel.csv"'},
    )


@bp.get("/export.csv")
@company_view(right="employees")
def export(company):
    """The staff list as CSV (UTF-8 with BOM, ';'), streamed."""
    ids = scope.company_ids(company)
    from services.core import audit

    audit.record("employee.exported", actor=current_user, company=company, ip=_ip())
    db.session.commit()
    filename = f"salaries-{company.code}-{clock.today():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(staff_csv.export_lines(ids)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/import", methods=["GET", "POST"])
@company_view(right="employees")
def import_csv(company):
    """Import a staff list: the whole file is checked first, then applied in one transaction."""
    form = ImportForm()
    check = None
    status = 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        raw = upload.read(MAX_IMPORT_BYTES + 1) if upload else b""
        if not raw:
            form.file.errors = ["Choisissez un fichier CSV."]
            status = 422
        elif len(raw) > MAX_IMPORT_BYTES:
            form.file.errors = ["Le fichier dépasse 2 Mo."]
            status = 422
        else:
            sites = reg.sites_of(company)
            check = staff_csv.check_file(
                raw,
                lambda formdata: EmployeeForm(formdata=formdata, meta={"csrf": False}),
                lambda data: service.find_probable_duplicates(company, data),
                {company.code: company.id, **{s.code: s.id for s in sites}},
                set(scope.company_ids(company)),
            )
            if check.errors:
                status = 422
            else:
                for data in check.rows:
                    service.create_employee(company, data, current_user, _role(), kind="import")
                changed = sum(
                    bool(service.update_employee(employee, data, current_user, _role()))
                    for employee, data in check.updates
                )
                from services.core import audit

                audit.record(
                    "employee.imported",
                    actor=current_user,
                    company=company,
                    ip=_ip(),
                    count=len(check.rows),
                    updated=changed,
                )
                db.session.commit()
                flash(
                    f"{len(check.rows)} salarié(s) importé(s), {changed} mis à jour, "
                    f"{len(check.updates) - changed} inchangé(s).",
                    "success",
                )
                return hx_redirect(url_for("employees.index", code=company.code))
    elif form.is_submitted():
        status = 422
    return render("employees/import.html", None, status=status, **_context(company, form=form, check=check))


# --------------------------------------------------------------------------- CLI


@bp.cli.command("rotate-nir-key")
def rotate_nir_key_command():
    """Re-encrypt every NIR with the newest key of NIR_ENCRYPTION_KEYS."""
    from services.core.database import write_intent

    with write_intent():
        count = crypto.rotate_nir_keys()
        db.session.commit()
    click.echo(f"{count} NIR re-encrypted with the newest key.")


# --------------------------------------------------------------------------- template filters


@bp.app_template_filter("emp_datetime")
def emp_datetime(value) -> str:
    return value.astimezone(clock.PARIS).strftime("%d/%m/%Y à %H:%M") if value else ""


@bp.app_template_filter("emp_change_value")
def emp_change_value(value, name: str) -> str:
    """A history value as the employer reads it (dates in French, codes as labels)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(POST_RISKS.get(v, v) for v in value)
    if name in ("birth_date", "entry_date", "exit_date") and isinstance(value, str) and len(value) == 10:
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    labels = {
        "contract_nature": CONTRACT_NATURES,
        "exit_reason": EXIT_REASONS,
        "sex": SEX_LABELS,
        "category": CATEGORY_LABELS,
    }.get(name)
    return labels.get(value, value) if labels else str(value)


@bp.app_template_filter("emp_visit_date")
def emp_visit_date(visit) -> str:
    when = reg.visit_date(visit)
    return when.strftime("%d/%m/%Y") if when else "—"
