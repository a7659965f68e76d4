"""Member space entry points: company home, company switcher, adding a company, "Mes entreprises"."""

from __future__ import annotations

from flask import abort, current_app, flash, g, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.companies import bp
from blueprints.companies.forms import AddCompanyForm
from blueprints.htmx import hx_redirect, render, wants_fragment
from blueprints.login_session import client_ip
from blueprints.navigation import page_arg
from blueprints.scoping import company_view
from extensions import db
from models.companies import Company
from services.auth.company_credentials import CompanyCredentialError, verify_company_credentials
from services.companies import switcher as company_service
from services.companies.access import get_company_for_user

HOME = "companies.home"
# Pages of the switcher itself: switching from them goes to the page the user came from.
SWITCH_ENDPOINTS = {"companies.switch", "companies.switch_search", "companies.switch_menu"}


def _page_endpoints() -> dict[str, str | None]:
    """{endpoint: required right} of company pages whose only URL argument is `code` (GET)."""
    cached = current_app.extensions.get("company_page_endpoints")
    if cached is None:
        cached = {}
        for rule in current_app.url_map.iter_rules():
            view = current_app.view_functions.get(rule.endpoint)
            if (
                getattr(view, "company_scoped", False)
                and rule.arguments == {"code"}
                and "GET" in (rule.methods or ())
                and rule.endpoint not in SWITCH_ENDPOINTS
            ):
                cached[rule.endpoint] = getattr(view, "required_right", None)
        current_app.extensions["company_page_endpoints"] = cached
    return cached


def switch_origin(candidate: str | None = None) -> str:
    """The page to open for the other company: `candidate` (or the current endpoint) when it is
    a company page taking only the code, else the company home."""
    pages = _page_endpoints()
    if candidate is None:
        endpoint = g.get("switch_from") or request.endpoint
        if endpoint in SWITCH_ENDPOINTS:
            endpoint = HOME
        elif request.view_args and set(request.view_args) != {"code"}:
            endpoint = HOME  # e.g. an employee's page: that id means nothing in another company
        candidate = endpoint
    return candidate if candidate in pages else HOME


def switch_link(reach, origin: str) -> str:
    """URL of the same page for another company (its home when the role lacks the right)."""
    right = _page_endpoints().get(origin)
    endpoint = origin if reach.has_right(right) else HOME
    return url_for(endpoint, code=reach.company.code)


def company_label(company: Company) -> str:
    return company.site_label if company.is_site else company.label


@bp.app_context_processor
def switcher_helpers():
    def company_switcher():
        """What the header switcher's toggle needs (no query): the menu itself loads on first
        open from companies.switch_menu."""
        company = g.get("company")
        if company is None or not current_user.is_authenticated:
            return None
        return {"origin": switch_origin()}

    return {"company_switcher": company_switcher, "company_label": company_label}


@bp.get("/espace")
@login_required
def space():
    """Open the member space on the last company used; for one member (and its sites), its
    home; "Mes entreprises" for several (services/companies/landing.py)."""
    from services.companies.landing import OVERVIEW, landing

    if current_user.is_staff:
        abort(404)
    company = landing(current_user)
    if company == OVERVIEW:
        return hx_redirect(url_for("companies.overview"))
    if company is None:
        return render_template("companies/no_company.html")
    return hx_redirect(url_for(HOME, code=company.code))


@bp.get("/entreprises/<code>/")
@company_view()
def home(company):
    """The member space home: "À faire" (what to do next, with counts and links), then the
    rubriques the role allows."""
    from models.base import utcnow
    from services.companies import todo
    from services.planning.common import to_paris

    now = utcnow()
    items = todo.company_todo(company, g.membership, to_paris(now).date(), now)
    return render_template("companies/home.html", company=company, todo_items=items)


@bp.get("/entreprises/<code>/changer")
@company_view()
def switch(company):
    """ "Changer d'entreprise": the switcher's list as a page (no JS); the header widget for htmx."""
    origin = switch_origin(request.args.get("depuis", HOME))
    g.switch_from = origin
    if wants_fragment():
        return render("companies/switch.html", "companies/_switcher_widget.html")
    q = company_service.clean_query(request.args.get("q"))
    results, total = company_service.search_companies(current_user, q) if q else ([], 0)
    return render(
        "companies/switch.html",
        company=company,
        menu=company_service.switcher_menu(current_user, company),
        origin=origin,
        switch_url=lambda reach: switch_link(reach, origin),
        q=q,
        results=results,
        total=total,
    )


@bp.get("/entreprises/<code>/changer/menu")
@company_view()
def switch_menu(company):
    """The header switcher's menu content, loaded by htmx when the menu first opens (4 queries)."""
    origin = switch_origin(request.args.get("depuis", HOME))
    return render(  # without htmx: the "Changer d'entreprise" page
        "companies/switch.html",
        "companies/_switcher_menu.html",
        company=company,
        menu=company_service.switcher_menu(current_user, company),
        origin=origin,
        switch_url=lambda reach: switch_link(reach, origin),
        q="",
        results=[],
        total=0,
    )


@bp.get("/entreprises/<code>/changer/recherche")
@company_view()
def switch_search(company):
    """The switcher's search as you type: at most 20 companies by code, name or town."""
    origin = switch_origin(request.args.get("depuis", HOME))
    q = company_service.clean_query(request.args.get("q"))
    context = {"company": company, "origin": origin, "switch_url": lambda reach: switch_link(reach, origin), "q": q}
    if not q:
        context["menu"] = company_service.switcher_menu(current_user, company)
        return render("companies/_switcher_list.html", **context)
    results, total = company_service.search_companies(current_user, q)
    return render("companies/_switcher_results.html", results=results, total=total, **context)


def _add_context(form, **extra):
    return {"form": form, "cancel_url": url_for("companies.space"), **extra}


@bp.route("/entreprises/ajouter", methods=["GET", "POST"])
@login_required
def add():
    """ "Ajouter une entreprise": link another company with its code and n° télédéclarant."""
    if current_user.is_staff:
        abort(404)
    form = AddCompanyForm()
    if request.method == "GET":
        linked = None
        code = request.args.get("ajout")
        if code and len(code) <= 9:
            found = get_company_for_user(current_user, code)
            linked = found[0] if found else None
        return render("companies/add.html", "companies/_add_form.html", **_add_context(form, linked=linked))
    if not form.validate():
        return render("companies/add.html", "companies/_add_form.html", status=422, **_add_context(form))
    try:
        company = verify_company_credentials(form.code.data, form.number.data, ip=client_ip(), actor=current_user)
    except CompanyCredentialError as exc:
        db.session.commit()  # the failure counters and audit rows must persist
        status = 429 if exc.locked else 422
        return render(
            "companies/add.html", "companies/_add_form.html", status=status, **_add_context(form, error=exc.message)
        )
    _membership, outcome = company_service.link_company(
        current_user, company, accountant=form.accountant.data, ip=client_ip()
    )
    db.session.commit()
    if outcome == company_service.LINK_ALREADY:
        message = f"Vous avez déjà accès à l'entreprise {company.label}."
    else:
        message = f"L'entreprise {company.label} a été ajoutée à votre compte."
    if wants_fragment():
        response = make_response(
            render_template("companies/_add_done.html", company=company, message=message, outcome=outcome)
        )
        response.vary.add("HX-Request")
        if outcome != company_service.LINK_ALREADY:
            response.headers["HX-Trigger"] = "companyLinked"
        return response
    flash(message, "success")
    return hx_redirect(url_for("companies.add", ajout=company.code))


@bp.get("/mes-entreprises")
@login_required
def overview():
    """ "Mes entreprises": every reachable company, sortable, searchable, 25 per page."""
    if current_user.is_staff:
        abort(404)
    page = page_arg()
    data = company_service.overview(
        current_user,
        q=company_service.clean_query(request.args.get("q")),
        sort=request.args.get("tri", "code"),
        order=request.args.get("ordre", "asc"),
        page=page,
    )
    return render("companies/overview.html", "companies/_overview_results.html", data=data)
