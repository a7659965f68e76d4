"""Mon compte and Utilisateurs in Chromium: coordinates and history, invitation, revocation,
e-mail change through the link, ending another session; with and without JavaScript."""

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Company, OutboxMessage, User
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import DEFAULT_PASSWORD, make_company, make_member

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Une phrase de passe bien longue 2026"


def _link_for(recipient: str, pattern: str = r"http://portail\.test(/\S+)") -> str:
    db.session.commit()
    mails = [
        m
        for m in db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        if recipient in m.recipients
    ]
    assert mails, f"no mail to {recipient}"
    return re.search(pattern, mails[-1].body_text).group(1)


def _employer(live_server, page, **company_fields):
    company = make_company("00010", name="Garage Morvan", **company_fields)
    boss = make_member(company, email="boss@garage.fr", first_name="Yann", last_name="Morvan")
    db.session.commit()
    browser_login(page, live_server, boss)
    return company, boss


@pytest.mark.parametrize("js", [True, False])
def test_account_employer_changes_phone_and_sees_it_in_history(page, page_nojs, live_server, js):
    pg = page if js else page_nojs
    _employer(live_server, pg)
    pg.goto("/entreprises/00010/")
    pg.get_by_role("link", name="Mon compte").first.click()
    pg.get_by_role("link", name="Coordonnées de l'entreprise").click()
    if js:  # axe needs JavaScript (it hangs on a page without it)
        page_checks(pg, context="on the company page")
    pg.get_by_label("Téléphone").fill("02 96 12 34 56")
    pg.get_by_role("button", name="Enregistrer les coordonnées").click()
    pg.get_by_text("Les coordonnées ont été enregistrées.").wait_for()
    history = pg.get_by_role("region", name="Historique des modifications")
    assert "02 96 12 34 56" in history.inner_text() and "Yann Morvan" in history.inner_text()
    # a mistake answers the form with the message next to the field, input kept
    pg.get_by_label("Code NAF (APE)").fill("ABC")
    pg.get_by_role("button", name="Enregistrer les coordonnées").click()
    pg.get_by_text("Le code NAF s'écrit 4 chiffres et une lettre").first.wait_for()
    assert pg.get_by_label("Code NAF (APE)").input_value() == "ABC"
    screenshot(pg, "compte-entreprise")
    db.session.commit()
    assert db.session.execute(select(Company.phone)).scalar_one() == "02 96 12 34 56"


@pytest.mark.parametrize("js", [True, False])
def test_account_invite_colleague_who_sets_password_and_lands_logged_in(browser, page, page_nojs, live_server, js):
    pg = page if js else page_nojs
    _employer(live_server, pg)
    pg.goto("/entreprises/00010/utilisateurs")
    if js:
        page_checks(pg, context="on the users page")
    pg.get_by_label("Adresse e-mail de la personne").fill("anne@garage.fr")
    pg.get_by_label("Rôle de la personne").select_option(label="Employeur")
    pg.get_by_role("button", name="Envoyer l'invitation").click()
    pg.get_by_text("Une invitation a été envoyée à anne@garage.fr").wait_for()
    path = _link_for("anne@garage.fr")
    context, guest = _new_page(browser, live_server, javascript=js)
    try:
        guest.goto(path)
        if js:
            page_checks(guest, context="on the invitation page")
        guest.get_by_role("textbox", name="Nom", exact=True).fill("Le Bihan")
        guest.get_by_label("Prénom").fill("Anne")
        guest.get_by_label("Fonction").fill("Associée")
        guest.get_by_role("textbox", name="Mot de passe", exact=True).fill(NEW_PASSWORD)
        guest.get_by_label("Confirmer le mot de passe").fill(NEW_PASSWORD)
        guest.get_by_role("button", name="Créer mon accès").click()
        guest.get_by_role("heading", name="Bienvenue dans votre espace privé et sécurisé").wait_for()
        assert guest.url.endswith("/entreprises/00010/")
        guest.goto(path)  # single use
        guest.get_by_text("Ce lien d'invitation n'est plus valable").wait_for()
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False])
def test_account_revoked_accountant_gets_404_at_next_click(browser, page, page_nojs, live_server, js):
    pg = page if js else page_nojs
    company, _ = _employer(live_server, pg)
    accountant = make_member(
        company, role=ROLE_ACCOUNTANT, email="cabinet@compta.fr", last_name="Compta", first_name="Cabinet"
    )
    db.session.commit()
    context, other = _new_page(browser, live_server, javascript=js)
    try:
        browser_login(other, live_server, accountant)
        other.goto("/entreprises/00010/")
        other.get_by_role("heading", name="Bienvenue dans votre espace privé et sécurisé").wait_for()
        pg.goto("/entreprises/00010/utilisateurs")
        pg.get_by_role("link", name="Retirer l'accès de Cabinet Compta").click()
        pg.get_by_text("Retirer l'accès de Cabinet Compta ?").wait_for()
        pg.get_by_role("button", name="Oui, retirer l'accès").click()
        pg.get_by_text("L'accès a été retiré.").wait_for()
        response = None
        with other.expect_navigation() as nav:
            other.get_by_role("link", name="Mon compte").first.click()
        response = nav.value
        assert response.status == 404
    finally:
        context.close()


def test_account_last_employer_cannot_leave(page, live_server):
    _employer(live_server, page)
    page.goto("/entreprises/00010/utilisateurs")
    page.get_by_role("link", name="Retirer l'accès de Yann Morvan").click()
    page.get_by_role("button", name="Oui, retirer l'accès").click()
    page.get_by_text("L'entreprise doit toujours avoir au moins un employeur").wait_for()


@pytest.mark.parametrize("js", [True, False])
def test_account_change_own_email_through_the_link(page, page_nojs, live_server, js):
    pg = page if js else page_nojs
    _, boss = _employer(live_server, pg)
    pg.goto("/compte")
    if js:
        page_checks(pg, context="on /compte")
    pg.get_by_label("Nouvelle adresse e-mail").fill("yann.morvan@garage.fr")
    pg.locator("#password").fill(DEFAULT_PASSWORD)
    pg.get_by_role("button", name="Recevoir le lien de confirmation").click()
    pg.get_by_text("Un lien de confirmation a été envoyé à yann.morvan@garage.fr").wait_for()
    path = _link_for("yann.morvan@garage.fr")
    pg.goto(path)
    pg.get_by_role("button", name="Confirmer ma nouvelle adresse").click()
    pg.get_by_text("Votre nouvelle adresse e-mail est confirmée").wait_for()
    assert "yann.morvan@garage.fr" in pg.content()
    db.session.commit()
    assert db.session.get(User, boss.id).email == "yann.morvan@garage.fr"
    screenshot(pg, "compte-personnel")


@pytest.mark.parametrize("js", [True, False])
def test_account_end_another_session(browser, page, page_nojs, live_server, js):
    pg = page if js else page_nojs
    _, boss = _employer(live_server, pg)
    context, other = _new_page(browser, live_server, javascript=True)
    try:
        browser_login(other, live_server, boss)
        assert other.goto("/compte").status == 200
        pg.goto("/compte")
        sessions = pg.get_by_role("region", name="Appareils connectés")
        assert "cette session" in sessions.inner_text()
        pg.get_by_role("button", name=re.compile("^Fermer cette session")).click()
        pg.get_by_text("La session a été fermée.").wait_for()
        response = other.goto("/compte")
        assert response.status == 401 or "/connexion" in other.url
        assert pg.goto("/compte").status == 200
    finally:
        context.close()


def test_account_pages_fit_360px(mobile_page, live_server):
    _employer(live_server, mobile_page)
    for path in ("/compte", "/entreprises/00010/compte/entreprise", "/entreprises/00010/utilisateurs"):
        mobile_page.goto(path)
        assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360, path
