"""Every company-scoped route of the app (walked from the URL map): another company's pages,
fragments and downloads answer 404, and a tiers déclarant is refused the planning routes."""

from __future__ import annotations

import pytest
from flask import url_for

from app import create_app
from extensions import db
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import login
from tests.factories import make_company, make_member, make_membership

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _company_rules():
    """(endpoint, method, required right) for every rule whose URL carries `<code>`."""
    application = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in application.url_map.iter_rules():
        if "code" not in rule.arguments:
            continue
        view = application.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, getattr(view, "required_right", None)))
    return found


COMPANY_RULES = _company_rules()
PLANNING_RULES = [r for r in COMPANY_RULES if r[2] == "planning"]


def _path(app, endpoint, code):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {arg: (code if arg == "code" else "1") for arg in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **values)


def _open(app, client, method, path, headers=None):
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        return client.open(path, method=method, data={"x": "1"} if method in UNSAFE else None, headers=headers)
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


def test_the_walk_finds_the_company_routes():
    endpoints = {r[0] for r in COMPANY_RULES}
    assert {"companies.home", "companies.switch", "companies.switch_search"} <= endpoints


@pytest.mark.parametrize("endpoint,method,right", COMPANY_RULES, ids=[f"{m} {e}" for e, m, _ in COMPANY_RULES])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_company_routes_answer_404_for_another_company(app, client, endpoint, method, right, htmx):
    mine = make_company("00010")
    make_company("00010-2", parent=mine)
    other = make_company("00020")
    make_company("00020-1", parent=other)
    user = make_member(mine)
    db.session.commit()
    login(client, user)
    headers = {"HX-Request": "true"} if htmx else None
    for code in ("00020", "00020-1", "99999"):
        response = _open(app, client, method, _path(app, endpoint, code), headers)
        assert response.status_code == 404, f"{method} {endpoint} for {code}: {response.status_code}"
        assert "00020" not in response.get_data(as_text=True).replace(_path(app, endpoint, code), "")


def test_planning_routes_are_found_by_the_url_map_walk():
    assert PLANNING_RULES, "no route requires the planning right: the walk below would check nothing"


@pytest.mark.parametrize("endpoint,method,right", PLANNING_RULES)
def test_tiers_declarant_is_refused_planning_routes(app, client, endpoint, method, right):
    company = make_company("00020")
    user = make_member(make_company("00010"))
    make_membership(user, company, ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, user)
    response = _open(app, client, method, _path(app, endpoint, "00020"))
    assert response.status_code in (403, 404), f"{method} {endpoint}: {response.status_code}"


def test_revoked_membership_stops_at_the_next_click(app, client):
    from models.base import utcnow

    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    assert client.get("/entreprises/00010/").status_code == 200
    membership = user.memberships[0]
    membership.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/entreprises/00010/").status_code == 404
    assert client.get("/entreprises/00010/changer/recherche?q=0").status_code == 404


# --------------------------------------------------------------------------- objects of another company


def _id_rules():
    """(endpoint, method) of the company routes that also name an object (`<int:..._id>`)."""
    application = create_app({"CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    named = {r.endpoint for r in application.url_map.iter_rules() if any(a.endswith("_id") for a in r.arguments)}
    return [(endpoint, method) for endpoint, method, _ in COMPANY_RULES if endpoint in named]


ID_RULES = _id_rules()


def _objects_of(company, *, user):
    """One real object of each company-scoped kind an URL can name, all of `company`."""
    from datetime import timedelta

    from models.base import utcnow
    from models.billing import Document
    from models.duerp import DuerpVersion
    from models.support import Invitation
    from tests.factories import make_employee, make_slot, make_user, make_visit

    employee = make_employee(company)
    other_user = make_user()
    invitation = Invitation(
        company_id=company.id,
        email="invite@example.org",
        role="employeur",
        token_hash=f"{company.code:0>64}"[-64:],
        invited_by_id=user.id,
        expires_at=utcnow() + timedelta(days=3),
    )
    document = Document(
        company_id=company.id,
        kind="attestation",
        title="Attestation",
        year=2026,
        content=b"%PDF-1.4",
        filename="attestation.pdf",
    )
    duerp = DuerpVersion(
        company_id=company.id,
        version=1,
        filename="duerp.pdf",
        kind="pdf",
        content_type="application/pdf",
        size=8,
        sha256="0" * 64,
        content=b"%PDF-1.4",
        uploaded_by_label="Employeur",
    )
    db.session.add_all([invitation, document, duerp])
    db.session.flush()
    return {
        "employee_id": employee.id,
        "visit_id": make_visit(employee).id,
        "slot_id": make_slot(reserved_company=company).id,
        "membership_id": make_membership(other_user, company).id,
        "invitation_id": invitation.id,
        "document_id": document.id,
        "version_id": duerp.id,
        "action": "revoquer",  # service.member_user_action: a real action, on a membership of `company`
    }


def _path_with(app, endpoint, code, ids):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    missing = [arg for arg in rule.arguments if arg != "code" and arg not in ids]
    assert not missing, f"{endpoint}: no object of another company for {missing}: add one to _objects_of"
    with app.test_request_context():
        return url_for(endpoint, code=code, **{arg: ids[arg] for arg in rule.arguments if arg != "code"})


def test_the_walk_finds_routes_naming_an_object():
    assert {e for e, _ in ID_RULES} >= {"employees.detail", "planning.cancel", "billing.download"}


@pytest.mark.parametrize("endpoint,method", ID_RULES, ids=[f"{m} {e}" for e, m in ID_RULES])
def test_object_of_another_company_answers_404_in_my_company(app, client, endpoint, method):
    """Every `<int:..._id>` filled with a real object of another company (a member and a site),
    under my own company's URL: the scoped loaders answer 404, never the object."""
    mine = make_company("00010")
    user = make_member(mine)
    other = make_company("00020")
    other_site = make_company("00020-1", parent=other)
    foreign = [_objects_of(other, user=user), _objects_of(other_site, user=user)]
    db.session.commit()
    login(client, user)
    for ids in foreign:
        response = _open(app, client, method, _path_with(app, endpoint, "00010", ids))
        assert response.status_code == 404, f"{method} {endpoint} with {ids}: {response.status_code}"
