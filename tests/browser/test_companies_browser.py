"""The company switcher in Chromium: sites, adding a company as tiers déclarant, switching,
keyboard use, JavaScript off, accessibility and 360 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from blueprints import navigation
from blueprints.navigation import Rubrique
from extensions import db
from models import Membership, OutboxMessage
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_member, make_user

pytestmark = pytest.mark.browser

GARAGE_NUMBER = "WXYZ-2345-6789"


@pytest.fixture
def rubriques():
    """The rubriques of later features stand in for real ones when absent from this tree; each
    carries the right that its real page needs (services.companies.access.RIGHTS)."""
    before = dict(navigation._RUBRIQUES)
    wanted = [
        ("Mes salariés", "employees", 30),
        ("Mon planning", "planning", 40),
        ("Ma cotisation", "declaration", 50),
    ]
    present = {r.label for r in before.values()}
    for label, right, order in wanted:
        if label not in present:
            navigation.register(Rubrique(f"test_{right}", label, "companies.home", "Test", right, order))
    yield
    navigation._RUBRIQUES.clear()
    navigation._RUBRIQUES.update(before)


@pytest.fixture
def world():
    parent = make_company("00010", name="Boulangerie Le Goff", city="Saint-Brieuc")
    make_company("00010-2", parent=parent, name="Boulangerie Le Goff", city="Paimpol")
    make_company("00010-5", parent=parent, name="Boulangerie Le Goff", city="Dinan")
    garage = make_company("00020", name="Garage Morvan", city="Lannion", teledeclarant=GARAGE_NUMBER)
    make_member(garage, email="morvan@example.test", first_name="Yann", last_name="Morvan")
    user = make_member(parent, email="anne@example.test", first_name="Anne", last_name="Le Goff")
    db.session.commit()
    return user


def _nav(page):
    return page.get_by_role("navigation", name="Navigation principale")


def _assert_tiers_declarant_navigation(page):
    nav = _nav(page)
    expect(nav.get_by_role("link", name="Mes salariés")).to_be_visible()
    expect(nav.get_by_role("link", name="Ma cotisation")).to_be_visible()
    expect(nav.get_by_role("link", name="Mon planning")).to_have_count(0)


def _assert_linked_as_tiers_declarant(user):
    db.session.commit()  # end the test's read snapshot: the live server wrote
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.role == ROLE_ACCOUNTANT)
    ).scalar_one()
    assert membership.company.code == "00020"
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert mail.recipients == ["morvan@example.test"]
    assert "Anne Le Goff" in mail.body_text and "tiers déclarant" in mail.body_text


def test_switcher_journey_add_company_as_tiers_declarant(page, live_server, world, rubriques):
    user = world
    browser_login(page, live_server, user)
    page.goto("/entreprises/00010/")
    expect(_nav(page).get_by_role("link", name="Mon planning")).to_be_visible()

    toggle = page.get_by_role("button", name="00010 - Boulangerie Le Goff")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("navigation", name="Changer d'entreprise")
    sites = menu.get_by_role("list", name="Vos succursales")
    expect(sites.get_by_role("link")).to_have_text(
        ["00010-2 - Boulangerie Le Goff (Paimpol)", "00010-5 - Boulangerie Le Goff (Dinan)"]
    )
    page_checks(page, context="with the switcher open")
    screenshot(page, "switcher-menu")

    menu.get_by_role("link", name="Ajouter une entreprise").click()
    dialog = page.get_by_role("dialog", name="Connexion à votre espace")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Code adhérent").fill("00020")
    dialog.get_by_label("N° télédéclarant").fill("wrong")
    dialog.get_by_role("button", name="Valider").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Code adhérent et/ou n° télédéclarant incorrect")
    expect(dialog.get_by_label("Code adhérent")).to_have_value("00020")
    dialog.get_by_label("N° télédéclarant").fill(GARAGE_NUMBER)
    dialog.get_by_label("Je suis tiers déclarant de l'entreprise").check()
    dialog.get_by_role("button", name="Valider").click()
    expect(dialog.get_by_role("status")).to_contain_text("L'entreprise 00020 - Garage Morvan a été ajoutée")
    expect(dialog.get_by_role("link", name="Ajouter une autre entreprise")).to_be_visible()
    page_checks(page, context="with the dialog open")
    # The switcher refreshed itself: its menu is empty again and reloads, with the new company,
    # on the next open.
    hidden_menu = page.locator("#switcher-menu")
    expect(hidden_menu.get_by_role("link", include_hidden=True)).to_have_count(0)
    dialog.get_by_role("link", name="Fermer").click()
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="00010 - Boulangerie Le Goff").click()
    menu = page.get_by_role("navigation", name="Changer d'entreprise")
    menu.get_by_role("link", name="00020 - Garage Morvan").click()
    expect(page).to_have_url(re.compile(r"/entreprises/00020/$"))
    expect(page.get_by_role("button", name="00020 - Garage Morvan")).to_be_visible()
    _assert_tiers_declarant_navigation(page)
    page_checks(page, context="on the tiers déclarant's home")
    _assert_linked_as_tiers_declarant(user)


def test_switcher_journey_without_javascript(page_nojs, live_server, world, rubriques):
    page = page_nojs
    user = world
    browser_login(page, live_server, user)
    page.goto("/entreprises/00010/")
    page.get_by_role("link", name="00010 - Boulangerie Le Goff").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Changer d'entreprise")
    listing = page.get_by_role("navigation", name="Liste des entreprises")
    expect(listing.get_by_role("list", name="Vos succursales").get_by_role("link")).to_have_count(2)
    # No axe here: page.evaluate does not run with JavaScript off (the JS tests cover a11y).
    listing.get_by_role("link", name="Ajouter une entreprise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à votre espace")
    page.get_by_label("Code adhérent").fill("00020")
    page.get_by_label("N° télédéclarant").fill(GARAGE_NUMBER)
    page.get_by_label("Je suis tiers déclarant de l'entreprise").check()
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("L'entreprise 00020 - Garage Morvan a été ajoutée")).to_be_visible()
    page.get_by_role("link", name="Ouvrir l'espace de 00020 - Garage Morvan").click()
    expect(page).to_have_url(re.compile(r"/entreprises/00020/$"))
    _assert_tiers_declarant_navigation(page)
    page.get_by_role("link", name="00020 - Garage Morvan").click()
    page.get_by_role("navigation", name="Liste des entreprises").get_by_role(
        "link", name="00010-5 - Boulangerie Le Goff (Dinan)"
    ).click()
    expect(page).to_have_url(re.compile(r"/entreprises/00010-5/$"))
    _assert_linked_as_tiers_declarant(user)


def _focused_text(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_switcher_menu_with_the_keyboard_alone(page, live_server, world):
    browser_login(page, live_server, world)
    page.goto("/entreprises/00010/")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-switcher-toggle')"):
            break
    toggle = page.get_by_role("button", name="00010 - Boulangerie Le Goff")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#switcher-menu a").first).to_be_visible()  # loaded on first open
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.keyboard.press(" ")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowDown")  # opens and moves to the first item
    expect(page.locator(":focus")).to_have_text("00010 - Boulangerie Le Goff")
    page.keyboard.press("ArrowDown")
    assert _focused_text(page) == "00010-2 - Boulangerie Le Goff (Paimpol)"
    page.keyboard.press("ArrowDown")
    assert _focused_text(page) == "00010-5 - Boulangerie Le Goff (Dinan)"
    page.keyboard.press("ArrowUp")
    assert _focused_text(page) == "00010-2 - Boulangerie Le Goff (Paimpol)"
    page.keyboard.press("End")
    assert _focused_text(page) == "Ajouter une entreprise"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/entreprises/00010-2/$"))


def _accountant_with(n: int):
    user = make_user(email="cabinet@example.test", first_name="Paul", last_name="Comptable")
    now = utcnow()
    for i in range(n):
        company = make_company(f"{30000 + i:05d}", name=f"Client {i:03d}", city="Rennes", teledeclarant=None)
        db.session.add(Membership(user=user, company=company, role=ROLE_ACCOUNTANT, created_at=now))
    db.session.commit()
    return user


def test_switcher_first_opened_with_arrow_down_focuses_the_loaded_first_item(page, live_server, world):
    browser_login(page, live_server, world)
    page.goto("/entreprises/00010/")
    expect(page.locator("#switcher-menu a")).to_have_count(0)  # loaded on first open only
    toggle = page.get_by_role("button", name="00010 - Boulangerie Le Goff")
    toggle.focus()
    page.keyboard.press("ArrowDown")
    menu = page.get_by_role("navigation", name="Changer d'entreprise")
    expect(menu.get_by_role("link", name="00010 - Boulangerie Le Goff")).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="00010-2 - Boulangerie Le Goff (Paimpol)")).to_be_focused()


def test_switcher_search_for_an_accountant(page, live_server):
    browser_login(page, live_server, _accountant_with(40))
    page.goto("/entreprises/30000/")
    page.get_by_role("button", name="30000 - Client 000").click()
    menu = page.locator("#switcher-menu")
    search = menu.get_by_label("Rechercher une entreprise")
    expect(search).to_be_visible()
    search.fill("Client 03")
    results = page.get_by_role("list", name="Résultats pour « Client 03 »")
    expect(results.get_by_role("link")).to_have_count(10)
    page_checks(page, context="with search results in the switcher")
    search.press("ArrowDown")
    assert _focused_text(page).startswith("30030 - Client 030")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/entreprises/30030/$"))


def test_switcher_and_overview_at_360px(mobile_page, live_server):
    page = mobile_page
    browser_login(page, live_server, _accountant_with(30))
    page.goto("/entreprises/30000/")
    page.get_by_role("button", name="30000 - Client 000").click()
    expect(page.get_by_role("navigation", name="Changer d'entreprise")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page_checks(page, context="switcher open at 360 px")
    page.get_by_role("link", name="Toutes mes entreprises").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes entreprises")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page_checks(page, context="Mes entreprises at 360 px")


def test_overview_active_search_and_sort(page, live_server):
    browser_login(page, live_server, _accountant_with(30))
    page.goto("/mes-entreprises")
    expect(page.get_by_text("30 entreprises")).to_be_visible()
    page.get_by_label("Rechercher une entreprise").fill("Client 02")
    expect(page.get_by_text("10 entreprises pour « Client 02 »")).to_be_visible()
    page.get_by_role("link", name="Raison sociale").click()
    expect(page.get_by_role("columnheader", name="Raison sociale")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Raison sociale").click()
    expect(page.get_by_role("columnheader", name=re.compile("Raison sociale"))).to_have_attribute(
        "aria-sort", "descending"
    )
    page_checks(page, context="on Mes entreprises")
    screenshot(page, "mes-entreprises")
