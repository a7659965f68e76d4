"""Ma cotisation and Mon espace documentaire: thin views over services.billing."""

from __future__ import annotations

from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from blueprints.billing import bp
from blueprints.billing.forms import CategoryForm, ConfirmForm, DepartureForm, DocumentFilterForm, HireForm, choices
from blueprints.htmx import hx_redirect, is_htmx, render
from blueprints.navigation import page_arg
from blueprints.scoping import company_view
from extensions import db
from models.billing import BILLING_DOC_KINDS, DECLARATION_CONFIRMED, DOC_KINDS, PAYMENT_METHODS
from models.employees import CATEGORIES, CONTRACT_NATURES
from services import billing as billing_service
from services import scope
from services.companies import documents as company_documents
from services.companies.access import has_right
from services.core import audit
from services.employees import register as employee_service
from services.employees.follow_up import category_explanation

DOCUMENTS_PER_PAGE = 25
STATUS_BADGES = {
    "payee": ("Payée", "badge--ok"),
    "partielle": ("Partiellement payée", "badge--todo"),
    "a_payer": ("À payer", "badge--info"),
    "en_retard": ("En retard", "badge--late"),
    "avoir": ("Avoir", "badge--info"),
}


# --------------------------------------------------------------------------- Ma cotisation


def _cotisation_context(
    company, *, correcting: bool = False, hire_form=None, confirm_form=None, row_error=None, message=None, page=None
) -> dict:
    tariff, past = billing_service.campaign_and_past(company)
    # The next campaign is shown only while none is open.
    upcoming = billing_service.next_campaign() if tariff is None else None
    declaration = None
    if tariff is not None:
        # The confirmed version of this year is in the history (newest first) unless the
        # history is cut short before reaching it.
        declaration = next(
            (d for d in past if d.year == tariff.year and d.status == DECLARATION_CONFIRMED),
            None,
        )
        if declaration is None and len(past) >= billing_service.PAST_SHOWN:
            declaration = billing_service.current_declaration(company, tariff.year)
    editing = tariff is not None and (declaration is None or correcting)
    if page is None:
        page = page_arg(source=request.values)
    preview = billing_service.review_declaration(company, tariff, page) if editing else None
    open_employee = None
    if row_error and preview is not None:
        open_employee = next((row.employee for row in preview.counted if row.employee.id == row_error["id"]), None)
    return {
        "company": company,
        # The review's URLs (rows, pages, forms) extend this one: one url_for per page.
        "cotisation_url": url_for("billing.cotisation", code=company.code),
        "tariff": tariff,
        "upcoming": upcoming,
        "declaration": declaration,
        "editing": editing,
        "correcting": editing and declaration is not None,
        "preview": preview,
        "past": past,
        # Empty forms are not built per request: their fields are rendered once per process
        # (blank_hire_fields, blank_confirm_fields) and the token is the request's csrf_token().
        "hire_form": hire_form,
        "blank_hire_fields": blank_hire_fields() if hire_form is None else None,
        "confirm_form": confirm_form,
        "blank_confirm_fields": blank_confirm_fields() if confirm_form is None else None,
        "row_error": row_error,
        "open_employee": open_employee,
        "today": billing_service.today(),
        "paris": billing_service.PARIS,
        "message": message,
        "categories": CATEGORIES,
        "exit_reasons": employee_service.EXIT_REASONS,
        "contract_labels": CONTRACT_NATURES,
        "line_labels": billing_service.LINE_LABELS,
        "count_labels": billing_service.COUNT_LABELS,
    }


def _rendered_once(template: str, name: str, form_class) -> Markup:
    """`template` rendered with an empty `form_class` form (no value, no error, no token): the
    same markup for every request, so rendered once per process and kept in the app's
    extensions. Re-rendered each time while templates auto-reload."""
    cache = current_app.extensions.setdefault("billing", {})
    html = cache.get(template)
    if html is None or current_app.jinja_env.auto_reload:
        form = form_class(formdata=None, meta={"csrf": False})
        # The output of an autoescaped template: already safe HTML.
        html = cache[template] = Markup(render_template(template, **{name: form}))  # noqa: S704
    return html


def blank_hire_fields() -> Markup:
    """The fields of an empty add-a-hire form (labels, choices, defaults), instead of nine
    wtforms widgets per review page."""
    return _rendered_once("billing/_hire_fields.html", "hire_form", HireForm)


def blank_confirm_fields() -> Markup:
    """The attestation box of an empty confirmation form."""
    return _rendered_once("billing/_confirm_fields.html", "confirm_form", ConfirmForm)


def _open_tariff():
    return billing_service.open_campaign()


def _campaign_closed():
    flash("La campagne de déclaration est fermée.", "warning")
    return hx_redirect(url_for("billing.cotisation", code=g.company.code))


def _declaration_answer(company, *, status: int = 200, **ctx):
    """The review region (htmx) or the whole page, after a register fix or a refused one."""
    declared = billing_service.current_declaration(company, _open_tariff().year) is not None
    return render(
        "billing/cotisation.html",
        "billing/_declaration.html",
        status=status,
        **_cotisation_context(company, correcting=declared, **ctx),
    )


def _row_refused(company, employee, row_error: dict):
    """A refused row fix: the review region with that row's forms open (htmx), or the
    employee's correction page (no JavaScript); both answer 422."""
    if is_htmx():
        return _declaration_answer(company, status=422, row_error=row_error)
    return _fix_answer(company, employee, status=422, row_error=row_error)


def _after_fix(company, message: str):
    if is_htmx():
        return _declaration_answer(company, message=message)
    flash(message, "success")
    declared = billing_service.current_declaration(company, _open_tariff().year) is not None
    args = {"corriger": 1} if declared else {}
    if page_arg(source=request.values) > 1:
        args["page"] = page_arg(source=request.values)
    return redirect(url_for("billing.cotisation", code=company.code, **args), code=303)


@bp.get("/entreprises/<code>/cotisation")
@company_view(right="declaration")
def cotisation(company):
    """The annual declaration: pre-filled review during the campaign, history otherwise."""
    ctx = _cotisation_context(company, correcting=request.args.get("corriger") == "1")
    paging = request.headers.get("HX-Target", "").endswith("#declaration")
    fragment = "billing/_declaration.html" if ctx["editing"] and paging else None
    return render("billing/cotisation.html", fragment, **ctx)


@bp.get("/entreprises/<code>/cotisation/non-comptes")
@company_view(right="declaration")
def excluded(company):
    """The employees not counted, with the reason, one page at a time: loaded into the review
    when its "Salariés non comptés" opens (htmx), or a page of its own without JavaScript."""
    tariff = _open_tariff()
    if tariff is None:
        return _campaign_closed()
    listing = billing_service.excluded_employees(company, tariff, page_arg())
    declared = billing_service.current_declaration(company, tariff.year) is not None
    return render(
        "billing/excluded.html",
        "billing/_excluded_list.html",
        company=company,
        tariff=tariff,
        listing=listing,
        back={"corriger": 1} if declared else {},
    )


def _fix_answer(company, employee, *, status: int = 200, row_error=None):
    """The correction forms of one employee: the row's fragment (htmx) or a page of its own."""
    if _open_tariff() is None:
        return _campaign_closed()
    declared = billing_service.current_declaration(company, _open_tariff().year) is not None
    return render(
        "billing/employee.html",
        "billing/_employee_fix.html",
        status=status,
        company=company,
        employee=employee,
        err=row_error,
        categories=CATEGORIES,
        category_explanation=category_explanation(employee),
        exit_reasons=employee_service.EXIT_REASONS,
        correcting=declared,
        list_page=page_arg(source=request.values),
        inline=is_htmx(),
    )


@bp.get("/entreprises/<code>/cotisation/salaries/<int:employee_id>")
@company_view(right="declaration")
def employee_fix(company, employee_id: int):
    """Correct one employee of the list: departure or category (loaded on demand per row)."""
    employee = scope.employee(company, employee_id)
    return _fix_answer(company, employee)


@bp.post("/entreprises/<code>/cotisation/salaries")
@company_view(right="declaration")
def add_hire(company):
    """Add a hire missing from the register, then show the updated counts and amount."""
    if _open_tariff() is None:
        return _campaign_closed()
    form = HireForm()
    if not form.validate_on_submit():
        return _declaration_answer(company, status=422, hire_form=form)
    data = {
        name: getattr(form, name).data
        for name in (
            "birth_name",
            "first_names",
            "sex",
            "birth_date",
            "entry_date",
            "contract_nature",
            "job_title",
            "apprentice",
        )
    }
    # The employee service is the only writer of the register: the hire, then the category the
    # employer states if it differs from the one the answers give.
    role = g.membership.role
    employee = employee_service.create_employee(company, data, current_user, role, kind="embauche")
    try:
        employee_service.correct_category(employee, form.category.data, current_user, role, source="declaration")
    except employee_service.EmployeeError as exc:
        # The category contradicts the register's answers (issue 17): nothing is written.
        db.session.rollback()
        form.category.errors = [*form.category.errors, str(exc)]
        return _declaration_answer(company, status=422, hire_form=form)
    db.session.commit()
    return _after_fix(company, f"{employee.display_name} a été ajouté(e) à votre liste du personnel.")


@bp.post("/entreprises/<code>/cotisation/salaries/<int:employee_id>/depart")
@company_view(right="declaration")
def record_departure(company, employee_id: int):
    """Record the departure of an employee of the list."""
    employee = scope.employee(company, employee_id)
    if _open_tariff() is None:
        return _campaign_closed()
    form = DepartureForm()
    error = None
    if not form.validate_on_submit():
        error = next(iter(form.errors.values()))[0]
    else:
        try:
            employee_service.declare_departure(
                employee, form.exit_date.data, form.exit_reason.data, current_user, g.membership.role
            )
        except employee_service.EmployeeError as exc:
            error = str(exc)
    if error:
        db.session.rollback()
        return _row_refused(company, employee, {"id": employee_id, "field": "exit_date", "message": error})
    db.session.commit()
    return _after_fix(company, f"Le départ de {employee.display_name} est enregistré.")


@bp.post("/entreprises/<code>/cotisation/salaries/<int:employee_id>/categorie")
@company_view(right="declaration")
def correct_category(company, employee_id: int):
    """Correct the follow-up category of an employee of the list."""
    employee = scope.employee(company, employee_id)
    if _open_tariff() is None:
        return _campaign_closed()
    form = CategoryForm()
    if not form.validate_on_submit():
        return _row_refused(
            company,
            employee,
            {"id": employee_id, "field": "category", "message": "Choisissez une catégorie de la liste."},
        )
    try:
        employee_service.correct_category(
            employee, form.category.data, current_user, g.membership.role, source="declaration"
        )
    except employee_service.EmployeeError as exc:
        db.session.rollback()
        return _row_refused(company, employee, {"id": employee_id, "field": "category", "message": str(exc)})
    db.session.commit()
    return _after_fix(company, f"La catégorie de {employee.display_name} est maintenant {employee.category}.")


@bp.post("/entreprises/<code>/cotisation/confirmer")
@company_view(right="declaration")
def confirm(company):
    """Confirm the declaration with the statement of accuracy: snapshot, invoice, mail."""
    tariff = _open_tariff()
    if tariff is None:
        return _campaign_closed()
    form = ConfirmForm()
    correcting = request.form.get("correction") == "1"
    if not form.validate_on_submit():
        return render(
            "billing/cotisation.html",
            status=422,
            **_cotisation_context(company, correcting=correcting, confirm_form=form),
        )
    already = billing_service.current_declaration(company, tariff.year)
    if already is not None and not correcting:
        flash("Votre déclaration a déjà été confirmée.", "info")
        return hx_redirect(url_for("billing.cotisation", code=company.code))
    try:
        declaration, invoice = billing_service.confirm_declaration(
            company, tariff, current_user, attested=True, actor_role=g.membership.role
        )
        invoice_id = invoice.id if invoice is not None else None
        db.session.commit()
    except IntegrityError:  # a concurrent confirmation of the same version won
        db.session.rollback()
        flash("Votre déclaration a déjà été confirmée.", "info")
        return hx_redirect(url_for("billing.cotisation", code=company.code))
    if invoice_id is not None:
        billing_service.publish_invoices([invoice_id])
    message = f"Votre déclaration {tariff.year} est confirmée ({declaration.headcount} salariés)."
    if invoice is not None:
        message += f" {invoice.kind_label} n° {invoice.number} : consultez-la dans Mon espace documentaire."
    flash(message, "success")
    return hx_redirect(url_for("billing.cotisation", code=company.code))


# --------------------------------------------------------------------------- Mon espace documentaire


def _document_filters(company, args) -> tuple[DocumentFilterForm, dict, bool]:
    """The filter form (employees and years that have documents), the valid filters, and
    whether the company has any document besides its invoices: one query."""
    employees, years = company_documents.filter_choices(company)
    form = DocumentFilterForm(args)
    form.salarie.choices = choices(
        [("", "Tous")]
        + [(str(row.id), f"{(row.usage_name or row.birth_name).upper()} {row.first_names}") for row in employees]
    )
    form.annee.choices = choices([("", "Toutes")] + [(str(y), str(y)) for y in years])
    filters = {}
    valid = {name: {choice.value for choice in getattr(form, name).choices} for name in ("type", "salarie", "annee")}
    for name in ("type", "salarie", "annee"):
        value = getattr(form, name).data or ""
        if value not in valid[name]:
            getattr(form, name).data = ""
        elif value:
            filters[name] = value
    return form, filters, bool(years)


@bp.get("/entreprises/<code>/documents")
@company_view(right="invoices")
def documents(company):
    """Invoices with their payment status, and the company's other documents (by role)."""
    show_documents = has_right(g.membership, "documents")
    ctx = {
        "company": company,
        "show_documents": show_documents,
        "invoices": (invoices := billing_service.company_invoices(company)),
        # "Comment payer ?" quotes the oldest invoice still due, never a credit note.
        "pay_reference": next(
            (i.number for i in sorted(invoices, key=lambda i: (i.due_date, i.id)) if i.amount_due > 0), None
        ),
        "today": billing_service.today(),
        "badges": STATUS_BADGES,
        "payment_methods": PAYMENT_METHODS,
        "doc_kinds": DOC_KINDS,
        # Without the "documents" right the list is empty (the fragment still renders).
        "docs": [],
        "filters": {},
        "page_number": 1,
        "has_next": False,
    }
    if show_documents:
        form, filters, any_document = _document_filters(company, request.args)
        page = page_arg(most=10_000)
        # every document has a year: none listed there, none to list
        rows = company_documents.document_page(company, filters, page, DOCUMENTS_PER_PAGE) if any_document else []
        ctx.update(
            filter_form=form,
            filters=filters,
            docs=rows[:DOCUMENTS_PER_PAGE],
            page_number=page,
            has_next=len(rows) > DOCUMENTS_PER_PAGE,
        )
    return render("billing/documents.html", "billing/_documents_list.html", **ctx)


@bp.get("/entreprises/<code>/releve-de-compte")
@company_view(right="invoices")
def account(company):
    """Relevé de compte: invoices, credit notes, payments and refunds, the amount due, the balance."""
    return render_template(
        "billing/account.html",
        company=company,
        account=billing_service.member_account(company),
        today=billing_service.today(),
        badges=STATUS_BADGES,
    )


@bp.get("/entreprises/<code>/documents/<int:document_id>/telecharger")
@company_view(right="invoices")
def download(company, document_id: int):
    """Download a document of the company (invoices: right `invoices`; others: `documents`)."""
    document = scope.document(company, document_id)
    right = "invoices" if document.kind in BILLING_DOC_KINDS else "documents"
    if not has_right(g.membership, right):
        abort(404)
    data = document.content
    if data is None and document.storage_path:
        data = _read_stored(document.storage_path)
    if data is None:
        abort(404)
    audit.record(
        "document.downloaded",
        actor=current_user,
        company=company,
        target=document,
        kind=document.kind,
        ip=request.remote_addr,
    )
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = document.content_type
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe_filename(document.filename)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _safe_filename(name: str) -> str:
    keep = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name)
    return keep.strip(".-") or "document"


def _read_stored(path: str) -> bytes | None:
    import os

    from flask import current_app

    root = os.path.realpath(os.path.join(current_app.instance_path, "documents"))
    full = os.path.realpath(os.path.join(root, path))
    if not full.startswith(root + os.sep) or not os.path.isfile(full):
        return None
    with open(full, "rb") as handle:
        return handle.read()
