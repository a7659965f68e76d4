"""Issue 15 in Chromium: a stranger's wrong passwords do not keep the real user's browser out
(device cookie), a fresh browser is told about « Mot de passe oublié ? », and a NUL-free but
over-long or out-of-range input is answered beside the field with the input kept."""

from __future__ import annotations

import re

import pytest

from extensions import db
from tests.conftest import page_checks, screenshot
from tests.factories import DEFAULT_PASSWORD, make_company, make_member

pytestmark = pytest.mark.browser

EMAIL = "claire@entreprise.fr"


def _login(page, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Votre adresse e-mail").fill(EMAIL)
    page.get_by_role("button", name="Valider").click()
    page.get_by_label("Mot de passe", exact=True).wait_for()
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Valider").click()


def _stranger_guesses(app, n: int) -> None:
    from services.auth import member_accounts as accounts

    for i in range(n):
        accounts.authenticate(EMAIL, f"devine{i}", ip=f"203.0.113.{i + 1}")
        db.session.commit()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "nojs"])
def test_known_browser_gets_in_while_a_stranger_hammers_the_account(app, browser, live_server, javascript):
    from tests.conftest import _new_page

    company = make_company("00010")
    make_member(company, email=EMAIL)
    db.session.commit()
    app.config["AUTH_RATE_LIMIT"] = "10000 per minute"
    known_ctx, known = _new_page(browser, live_server, javascript=javascript)
    fresh_ctx, fresh = _new_page(browser, live_server, javascript=javascript)
    try:
        _login(known, DEFAULT_PASSWORD)
        known.get_by_role("button", name="Se déconnecter", exact=True).first.wait_for()
        assert any(c["name"] == "portail_device" for c in known_ctx.cookies())
        known.get_by_role("button", name="Se déconnecter", exact=True).first.click()

        _stranger_guesses(app, 50)

        _login(fresh, DEFAULT_PASSWORD)
        alert = fresh.locator("p.field__error").filter(has_text="Trop de tentatives.")
        alert.wait_for()
        assert "Mot de passe oublié" in alert.inner_text()
        if javascript:  # axe runs in the page's JavaScript
            page_checks(fresh, context="login locked")
            screenshot(fresh, "auth-trop-de-tentatives")

        _login(known, DEFAULT_PASSWORD)
        known.get_by_role("button", name="Se déconnecter", exact=True).first.wait_for()
    finally:
        app.config.pop("AUTH_RATE_LIMIT", None)
        known_ctx.close()
        fresh_ctx.close()


def test_out_of_range_date_is_answered_beside_the_field(page, live_server):
    from tests.conftest import browser_login

    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)
    page.goto("/entreprises/00010/salaries/nouveau")
    page.get_by_label("Nom de naissance").fill("Durand")
    page.get_by_label("Prénom(s)").fill("Louis")
    page.get_by_label("Sexe").select_option("M")
    page.get_by_label("Date de naissance").fill("9999-12-31")
    page.get_by_label("Date d'entrée").fill("2026-01-05")
    page.get_by_role("textbox", name=re.compile(r"^Poste")).fill("Vendeur")
    page.get_by_role("button", name="Déclarer le salarié").click()
    page.locator("p.field__error").filter(has_text="Saisissez une date comprise entre le 01/01/1900").wait_for()
    assert page.get_by_label("Nom de naissance").input_value() == "Durand"
    page_checks(page, context="out-of-range birth date")
