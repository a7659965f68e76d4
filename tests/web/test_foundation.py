"""The public home page, the layout, headers, error pages and the URL-map guarantees."""

import pytest
from flask import url_for

from blueprints.security import is_public
from extensions import db
from tests.conftest import login
from tests.factories import make_company, make_member


def test_home_page_shows_the_seed_content(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "Bienvenue à l'AIST22",
        "Action en entreprise",
        "Conseil",
        "Surveillance de l'état de santé",
        "Traçabilité et veille sanitaire",
        "Déclarer les effectifs annuels afin de simplifier les démarches de cotisation.",
        "Tiers-déclarant ou cabinet comptable",
    ):
        assert text in html
    assert html.count("<h1") == 1
    assert 'hx-headers:inherited=\'{"X-CSRFToken": "' in html


def test_service_identity_comes_from_configuration(app, client):
    app.config["SERVICE_NAME"] = "SIST Exemple"
    try:
        assert "SIST Exemple" in client.get("/").get_data(as_text=True)
    finally:
        app.config["SERVICE_NAME"] = "AIST22 Santé au Travail"


def test_security_headers_on_every_answer(client):
    for path in ("/", "/does-not-exist", "/healthz"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_error_page_full_and_fragment(client):
    full = client.get("/nope")
    assert full.status_code == 404
    assert "<html" in full.get_data(as_text=True) and "Page introuvable" in full.get_data(as_text=True)
    fragment = client.get("/nope", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "Page introuvable" in body


def test_oversized_body_answers_413(client, app):
    response = client.post("/", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    assert response.status_code == 413


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: ("00010" if arg == "code" else "1") for arg in rule.arguments}
        yield rule, values


def test_every_private_route_requires_login(app, client):
    """Walk the URL map: anything not marked public redirects an anonymous visitor to login."""
    checked = 0
    for rule, values in _routes(app):
        view = app.view_functions[rule.endpoint]
        if is_public(view):
            continue
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            app.config["WTF_CSRF_ENABLED"] = False
            try:
                response = client.open(path, method=method)
            finally:
                app.config["WTF_CSRF_ENABLED"] = True
            assert response.status_code in (302, 401, 404), f"{method} {path} answered {response.status_code}"
            if response.status_code == 302:
                assert "/connexion" in response.headers["Location"] or "login" in response.headers["Location"]
            checked += 1
    assert checked >= 1


def test_every_unsafe_route_requires_csrf(app, client):
    """Walk the URL map: POST/PUT/PATCH/DELETE without a CSRF token is refused (400)."""
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    for rule, values in _routes(app):
        unsafe = sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if not unsafe or rule.endpoint.startswith("api."):
            # The JSON API authenticates by bearer token, never by cookie: CSRF does not apply
            # (tests/api/test_api_basics.py proves a logged-in cookie alone gets 401 there).
            continue
        with app.test_request_context():
            path = url_for(rule.endpoint, **values)
        for method in unsafe:
            response = client.open(path, method=method, data={"x": "1"})
            assert response.status_code == 400, f"{method} {path} answered {response.status_code} without CSRF"


def test_member_home_lists_rubriques_for_the_company(client):
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    html = client.get("/entreprises/00010/").get_data(as_text=True)
    assert "Bienvenue dans votre espace privé et sécurisé" in html
    assert "00010 - Boulangerie Le Goff" in html


@pytest.mark.parametrize("path", ["/entreprises/00020/", "/entreprises/99999/"])
def test_member_home_of_another_company_is_404(client, path):
    mine = make_company("00010")
    make_company("00020")
    user = make_member(mine)
    db.session.commit()
    login(client, user)
    assert client.get(path).status_code == 404


def test_site_reachable_through_parent_membership_but_not_the_reverse(client):
    parent = make_company("00010")
    site = make_company("00010-2", parent=parent)
    other_site = make_company("00010-5", parent=parent)
    via_parent = make_member(parent)
    site_only = make_member(site)
    db.session.commit()
    login(client, via_parent)
    assert client.get(f"/entreprises/{site.code}/").status_code == 200
    login(client, site_only)
    assert client.get(f"/entreprises/{site.code}/").status_code == 200
    assert client.get(f"/entreprises/{parent.code}/").status_code == 404
    assert client.get(f"/entreprises/{other_site.code}/").status_code == 404
