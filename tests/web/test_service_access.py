"""Espace service: every /service route refuses anonymous, employer and accountant users;
staff need their second factor; staff management is for admins only."""

from __future__ import annotations

import pytest
from flask import url_for

from extensions import db
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER
from tests.conftest import login
from tests.factories import make_company, make_member, make_staff
from tests.web.service_helpers import login_staff


def _service_routes(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/service"):
            continue
        values = {arg: ("00010" if arg == "code" else "1") for arg in rule.arguments}
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, path


def _open(app, client, method, path):
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        return client.open(path, method=method, data={})
    finally:
        app.config["WTF_CSRF_ENABLED"] = True


def test_service_routes_exist(app):
    endpoints = {rule.endpoint for rule, _m, _p in _service_routes(app)}
    assert {
        "service.dashboard",
        "service.members",
        "service.member",
        "service.team",
        "service.audit_trail",
        "service.two_factor",
    } <= endpoints


def test_service_routes_refuse_anonymous(app, client):
    for _rule, method, path in _service_routes(app):
        response = _open(app, client, method, path)
        assert response.status_code in (302, 401), f"{method} {path} answered {response.status_code}"


@pytest.mark.parametrize("role", [ROLE_EMPLOYER, ROLE_ACCOUNTANT])
def test_service_routes_answer_404_to_members(app, client, role):
    company = make_company("00010")
    user = make_member(company, role=role)
    db.session.commit()
    login(client, user)
    for _rule, method, path in _service_routes(app):
        response = _open(app, client, method, path)
        assert response.status_code == 404, f"{method} {path} answered {response.status_code} to {role}"


def test_staff_without_second_factor_is_sent_to_2fa(app, client):
    make_company("00010")
    user = make_staff("agent@aist22.test")
    db.session.commit()
    login_staff(client, user, second_factor=False)
    for rule, method, path in _service_routes(app):
        if rule.endpoint.startswith("service.two_factor") or rule.endpoint.startswith("service.enrolment"):
            continue
        response = _open(app, client, method, path)
        assert response.status_code in (302, 303), f"{method} {path} answered {response.status_code}"
        assert "/service/2fa" in response.headers["Location"]
    htmx = client.get("/service/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/service/2fa")


ADMIN_ONLY = {
    "service.team",
    "service.team_create",
    "service.team_role",
    "service.team_deactivate",
    "service.team_reactivate",
    "service.team_reset_2fa",
    "service.audit_trail",
    "service.audit_export",
}


def test_agent_cannot_reach_staff_management_but_admin_can(app, client):
    make_company("00010")
    agent = make_staff("agent@aist22.test", role="agent")
    admin = make_staff("admin@aist22.test", role="admin")
    other = make_staff("other@aist22.test", role="agent")
    db.session.commit()
    assert other.id  # a target for the /equipe/<id>/ routes
    routes = [(r, m, p.replace("/1/", f"/{other.id}/")) for r, m, p in _service_routes(app) if r.endpoint in ADMIN_ONLY]
    assert {r.endpoint for r, _m, _p in routes} == ADMIN_ONLY
    login_staff(client, agent)
    for _rule, method, path in routes:
        response = _open(app, client, method, path)
        assert response.status_code == 403, f"agent {method} {path} answered {response.status_code}"
    login_staff(client, admin)
    for _rule, method, path in routes:
        response = _open(app, client, method, path)
        assert response.status_code in (200, 302, 303, 422), f"admin {method} {path} answered {response.status_code}"


def test_agent_reaches_the_agent_screens(client):
    make_company("00010")
    db.session.commit()
    from tests.web.service_helpers import staff_logged_in

    staff_logged_in(client)
    for path in ("/service/", "/service/adherents", "/service/adherents/00010"):
        assert client.get(path).status_code == 200, path
    assert client.get("/service/adherents/99999").status_code == 404


def test_staff_cannot_use_the_member_space(client):
    make_company("00010")
    db.session.commit()
    from tests.web.service_helpers import staff_logged_in

    staff_logged_in(client)
    assert client.get("/entreprises/00010/").status_code == 404


def test_deactivated_staff_session_stops(client):
    from tests.web.service_helpers import staff_logged_in

    user = staff_logged_in(client)
    assert client.get("/service/").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/service/").status_code in (302, 401)
