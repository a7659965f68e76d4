"""Member space entry points."""

from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from blueprints.companies import bp
from blueprints.scoping import company_view
from extensions import db
from models.companies import Company
from services.access import accessible_companies_query, membership_for


@bp.get("/espace")
@login_required
def space():
    """Open the member space on the last company used (or the first one reachable)."""
    company = None
    if current_user.last_company_id:
        company = db.session.get(Company, current_user.last_company_id)
        if company is not None and membership_for(current_user, company) is None:
            company = None
    if company is None:
        company = db.session.execute(
            accessible_companies_query(current_user).order_by(Company.code).limit(1)
        ).scalar_one_or_none()
    if company is None:
        return render_template("companies/no_company.html")
    return redirect(url_for("companies.home", code=company.code))


@bp.get("/entreprises/<code>/")
@company_view()
def home(company):
    """The member space home: the rubriques the role allows."""
    return render_template("companies/home.html", company=company)
