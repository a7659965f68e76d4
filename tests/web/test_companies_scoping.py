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
