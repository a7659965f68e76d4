"""The connection procedure of the seed in Chromium, with and without JavaScript, reading the
e-mails from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re

import pytest

from extensions import db
from tests.conftest import page_checks, screenshot
from tests.factories import DEFAULT_PASSWORD, make_company, make_member

pytestmark = pytest.mark.browser

NUMBER = "ABCD-EFGH-JKMN"
NEW_PASSWORD = "Trois pommes vertes sur la table"


def deliver_outbox(app) -> int:
    """Hand the pending outbox messages to SMTP (the real worker function); returns how many
    were sent."""
    from services.core.outbox import deliver_pending

    db.session.commit()
    report = deliver_pending()
    db.session.commit()
    return report.sent


def read_mail(app, smtp_server, count: int):
    deliver_outbox(app)
    messages = smtp_server.wait_for(count)
    assert len(messages) >= count
    msg = messages[count - 1]["message"]
    return msg, msg.get_body(preferencelist=("plain",)).get_content()


def _login(page, email: str, secret: str, *, htmx: bool):
    page.goto("/connexion")
    assert page.get_by_role("heading", level=1).inner_text() == "Connexion à votre espace"
    page.get_by_label("Votre adresse e-mail").fill(email)
    if htmx:
        page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="Valider").click()
    page.get_by_label("Mot de passe", exact=True).wait_for()
    if htmx:
        # Step 2 was swapped in place: no page load happened.
        assert page.evaluate("window.__samePage === true")
    assert page.get_by_label("Adresse e-mail", exact=True).input_value() == email
    assert page.get_by_role("link", name="Réinitialiser votre mot de passe").is_visible()
    assert page.get_by_text("Mot de passe oublié ?").is_visible()
    page.get_by_label("Mot de passe", exact=True).fill(secret)
    page.get_by_role("button", name="Valider").click()


def _choose_password(page, *, htmx: bool):
    page.get_by_role("heading", name="Choisir votre mot de passe").wait_for()
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmer le nouveau mot de passe").fill(NEW_PASSWORD)
    if htmx:
        assert page.locator("[data-rule='min']").get_attribute("class") == "rule--ok"
        assert page.locator("[data-rule='match']").get_attribute("class") == "rule--ok"
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", name="Bienvenue dans votre espace privé et sécurisé").wait_for()


def _journey(page, app, smtp_server, *, htmx: bool):
    company = make_company("00010", name="Boulangerie Le Goff", teledeclarant=NUMBER)
    make_member(company, email="jean@boulangerie.fr")
    db.session.commit()
    email = "jeanne@boulangerie.fr"

    page.goto("/")
    page.get_by_role("link", name="Se connecter avec son code adhérent").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Se connecter avec son code adhérent"
    if htmx:
        page_checks(page, context="on the code page")
        screenshot(page, "auth-code-adherent")
    page.get_by_label("Code adhérent").fill("00010")
    page.get_by_label("N° télédéclarant").fill("WRONG")
    page.get_by_role("button", name="Valider").click()
    page.get_by_text("Code adhérent et/ou n° télédéclarant incorrect").wait_for()
    page.get_by_label("Code adhérent").fill("00010")
    page.get_by_label("N° télédéclarant").fill(NUMBER)
    page.get_by_role("button", name="Valider").click()

    page.get_by_role("heading", name="Créer votre compte").wait_for()
    assert page.get_by_text("j***@boulangerie.fr").is_visible()
    page.get_by_label("Nom*", exact=True).fill("Le Goff")
    page.get_by_label("Prénom*", exact=True).fill("Jeanne")
    page.get_by_label("Fonction*", exact=True).fill("Gérante")
    page.get_by_label("Adresse e-mail*", exact=True).fill(email)
    page.get_by_label("Confirmer adresse e-mail*", exact=True).fill("autre@boulangerie.fr")
    page.get_by_label("N° mobile").fill("06 12 34 56 78")
    page.get_by_role("button", name="Créer le compte").click()
    page.get_by_text("Les deux adresses e-mail ne sont pas identiques.").first.wait_for()
    assert page.get_by_label("Nom*", exact=True).input_value() == "Le Goff"  # input kept
    page.get_by_label("Confirmer adresse e-mail*", exact=True).fill(email)
    assert page.get_by_text("* Champs obligatoires").is_visible()
    if htmx:
        page_checks(page, context="on Créer votre compte")
        screenshot(page, "auth-creer-compte")
    page.get_by_label("Je suis tiers déclarant de l'entreprise").check()
    page.get_by_role("button", name="Créer le compte").click()
    page.get_by_role("heading", name="Votre compte est créé").wait_for()

    msg, text = read_mail(app, smtp_server, 1)
    assert msg["Subject"] == "Votre espace AIST22" and msg["From"] == "noreply@aist22.fr"
    assert msg["To"] == email
    assert "Votre compte utilisateur sur AIST22 a été créé." in text and f"Login : {email}" in text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "Accéder à la plateforme" in html and 'href="http://portail.test/connexion"' in html
    temporary = re.search(r"Mot de passe : (\S+)", text).group(1)

    _login(page, email, temporary, htmx=htmx)
    if htmx:
        page.get_by_role("heading", name="Choisir votre mot de passe").wait_for()
        page_checks(page, context="on Choisir votre mot de passe")
        screenshot(page, "auth-choisir-mot-de-passe")
    _choose_password(page, htmx=htmx)
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    if htmx:
        page_checks(page, context="on the member home")
        screenshot(page, "auth-espace")
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Vous êtes déconnecté.").wait_for()

    # The temporary password was single use; the chosen one works.
    _login(page, email, temporary, htmx=htmx)
    page.get_by_text("Adresse e-mail ou mot de passe incorrect.", exact=True).wait_for()
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("heading", name="Bienvenue dans votre espace privé et sécurisé").wait_for()


def test_connection_procedure_with_htmx(page, app, smtp_server):
    _journey(page, app, smtp_server, htmx=True)


def test_connection_procedure_without_javascript(page_nojs, app, smtp_server):
    _journey(page_nojs, app, smtp_server, htmx=False)


@pytest.mark.parametrize("htmx", [True, False])
def test_reset_journey(browser, live_server, app, smtp_server, htmx):
    company = make_company("00010")
    make_member(company, email="claire@entreprise.fr")
    db.session.commit()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=htmx, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/connexion")
        page.get_by_label("Votre adresse e-mail").fill("claire@entreprise.fr")
        page.get_by_role("button", name="Valider").click()
        page.get_by_role("link", name="Réinitialiser votre mot de passe").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Réinitialiser votre mot de passe"
        page.get_by_label("Adresse e-mail").fill("claire@entreprise.fr")
        page.get_by_role("button", name="Valider").click()
        page.get_by_text("nouveau code de connexion personnalisable").wait_for()
        if htmx:
            page_checks(page, context="on the reset answer")
            screenshot(page, "auth-reinitialiser")
        _, text = read_mail(app, smtp_server, 1)
        code = re.search(r"Code de connexion : (\S+)", text).group(1)
        # The current password still works until the code is used.
        _login(page, "claire@entreprise.fr", DEFAULT_PASSWORD, htmx=htmx)
        page.get_by_role("heading", name="Bienvenue dans votre espace privé et sécurisé").wait_for()
        page.get_by_role("button", name="Se déconnecter").click()
        _login(page, "claire@entreprise.fr", code, htmx=htmx)
        _choose_password(page, htmx=htmx)
    finally:
        context.close()


def test_login_and_code_pages_fit_360px(mobile_page):
    for path in ("/connexion", "/connexion/code-adherent", "/connexion/reinitialiser"):
        mobile_page.goto(path)
        assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360, path
        page_checks(mobile_page, context=f"on {path} at 360 px")
