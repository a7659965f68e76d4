"""Mes salariés in Chromium: declare, search, edit in place, departure, cancel, history; with and without JS."""

import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Employee
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_employee, make_member

pytestmark = pytest.mark.browser


def _journey(page, live_server, *, role="employeur", javascript=True):
    def checks(context):
        if javascript:  # axe runs in the page: it needs JavaScript
            page_checks(page, context=context)

    company = make_company("00010", name="Boulangerie Le Goff")
    make_employee(company, birth_name="Martin", first_names="Paul", job_title="Boulanger")
    user = make_member(company, role=role)
    db.session.commit()
    browser_login(page, live_server, user)

    page.goto("/entreprises/00010/salaries/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes salariés")
    checks("on the employee list")
    page.get_by_role("link", name="Déclarer un nouveau salarié").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclarer un nouveau salarié")
    page.get_by_label(re.compile(r"^Nom de naissance")).fill("Le Bihan")
    page.get_by_label("Prénom(s)").fill("Anne")
    page.get_by_label("Sexe").select_option("F")
    page.get_by_label("Date de naissance").fill("1995-10-03")
    page.get_by_label("N° de sécurité sociale").fill("2 95 10 99 126 111 93")
    page.get_by_label("Date d'entrée").fill("2026-01-05")
    page.get_by_label(re.compile(r"^Poste")).fill("Vendeuse")
    page.get_by_label("Travail de nuit").check()
    if javascript:  # the category sentence follows the answers before submitting
        expect(page.locator("#categorie-derivee")).to_contain_text(
            "Suivi individuel adapté (SIA), car le salarié travaille de nuit."
        )
    checks("on the declaration form")
    screenshot(page, "salaries-declaration")
    page.get_by_role("button", name="Déclarer le salarié").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("LE BIHAN Anne")
    expect(page.get_by_text("2 95 10 ** *** *** 93")).to_be_visible()
    expect(page.get_by_text("Suivi individuel adapté (SIA), car le salarié travaille de nuit.")).to_be_visible()
    checks("on the employee page")

    # Search
    page.get_by_role("link", name="Mes salariés").first.click()
    page.get_by_role("searchbox", name="Rechercher").fill("bihan")
    if not javascript:
        page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("1 salarié pour « bihan »")).to_be_visible()
    expect(page.get_by_role("link", name="MARTIN Paul")).to_have_count(0)
    if javascript:
        expect(page).to_have_url(re.compile(r"q=bihan"))
    page.get_by_role("link", name="LE BIHAN Anne").click()

    # Edit the job in place
    page.get_by_role("link", name="Modifier").click()
    page.get_by_label(re.compile(r"^Poste")).fill("Responsable de rayon")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Les modifications sont enregistrées.")).to_be_visible()
    expect(page.locator("#fiche")).to_contain_text("Responsable de rayon")
    if javascript:
        expect(page).to_have_url(re.compile(r"/salaries/\d+$"))  # no page change: swapped in place

    # Departure, then cancel it
    page.get_by_role("link", name="Déclarer un départ").click()
    page.get_by_label("Date de sortie").fill("2026-03-31")
    page.get_by_label("Motif de sortie").select_option(label="Démission")
    page.get_by_role("button", name="Déclarer le départ").click()
    expect(page.get_by_text("Confirmer le départ de LE BIHAN Anne ?")).to_be_visible()
    checks("on the departure confirmation")
    screenshot(page, "salaries-depart-confirmation")
    page.get_by_role("button", name="Confirmer le départ").click()
    expect(page.get_by_text("Le départ de LE BIHAN Anne est déclaré.")).to_be_visible()
    page.get_by_role("button", name="Annuler le départ").click()
    expect(page.get_by_text("Le départ de LE BIHAN Anne est annulé.")).to_be_visible()
    expect(page.get_by_role("link", name="Déclarer un départ")).to_be_visible()

    # History
    page.goto("/entreprises/00010/salaries/")
    page.get_by_role("link", name="Historique de vos déclarations").click()
    history = page.locator("#historique")
    for text in (
        "Déclaration d'embauche",
        "Modification",
        "Vendeuse → Responsable de rayon",
        "Déclaration de départ",
        "Annulation du départ",
    ):
        expect(history).to_contain_text(text)
    expect(history).to_contain_text("tiers déclarant" if role == ROLE_ACCOUNTANT else "employeur")
    checks("on the history")
    screenshot(page, "salaries-historique")


def test_employees_journey_with_htmx(page, live_server):
    _journey(page, live_server)


def test_employees_journey_without_javascript(page_nojs, live_server):
    _journey(page_nojs, live_server, javascript=False)


def test_employees_journey_as_tiers_declarant(page, live_server):
    _journey(page, live_server, role=ROLE_ACCOUNTANT)


def test_employees_row_edited_in_place_with_htmx(page, live_server):
    company = make_company("00010", name="Boulangerie Le Goff")
    make_employee(company, birth_name="Martin", first_names="Paul", job_title="Boulanger")
    make_employee(company, birth_name="Durand", first_names="Léa", job_title="Vendeuse")
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)
    page.goto("/entreprises/00010/salaries/")
    martin = page.get_by_role("row").filter(has=page.get_by_role("link", name="MARTIN Paul"))
    martin.get_by_role("link", name="Modifier").click()
    poste = page.get_by_label(re.compile(r"^Poste"))
    expect(poste).to_have_value("Boulanger")
    checks = page_checks
    checks(page, context="on the row edited in place")
    poste.fill("")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Indiquez le poste.")).to_be_visible()
    poste.fill("Chef boulanger")
    page.get_by_label("Travail de nuit").check()
    page.get_by_role("button", name="Enregistrer").click()
    martin = page.get_by_role("row").filter(has=page.get_by_role("link", name="MARTIN Paul"))
    expect(martin).to_contain_text("Chef boulanger")
    expect(martin).to_contain_text("SIA")
    expect(page.get_by_role("button", name="Enregistrer")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/salaries/$"))  # swapped in place, no page change
    durand = page.get_by_role("row").filter(has=page.get_by_role("link", name="DURAND Léa"))
    durand.get_by_role("link", name="Modifier").click()
    page.get_by_label(re.compile(r"^Poste")).fill("Caissière")
    page.get_by_role("link", name="Annuler").click()
    durand = page.get_by_role("row").filter(has=page.get_by_role("link", name="DURAND Léa"))
    expect(durand).to_contain_text("Vendeuse")
    expect(page.get_by_label(re.compile(r"^Poste"))).to_have_count(0)
    db.session.commit()
    jobs = sorted(e.job_title for e in db.session.execute(db.select(Employee)).scalars())
    assert jobs == ["Chef boulanger", "Vendeuse"]


def test_employees_list_fits_360px(mobile_page, live_server):
    company = make_company("00010")
    make_employee(company)
    user = make_member(company)
    db.session.commit()
    browser_login(mobile_page, live_server, user)
    mobile_page.goto("/entreprises/00010/salaries/")
    assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360
    page_checks(mobile_page, context="on the list at 360 px")


@pytest.mark.parametrize("javascript", [True, False])
def test_employees_pages_of_25_and_accent_blind_search(request, live_server, javascript):
    """25 rows per page, "Page suivante" with htmx (the URL follows) and as a plain link; the
    search ignores accents and case (docs/EMPLOYEES.md)."""
    page = request.getfixturevalue("page" if javascript else "page_nojs")
    company = make_company("00010")
    for i in range(30):
        make_employee(company, birth_name=f"Nom{i:02d}", first_names="Hélène" if i == 27 else "Paul")
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)
    page.goto("/entreprises/00010/salaries/")
    results = page.locator("#resultats")
    expect(results).to_contain_text("30 salariés")
    expect(results).to_contain_text("Page 1 sur 2")
    expect(page.locator("#resultats tbody tr")).to_have_count(25)
    page.get_by_role("link", name="Page suivante").click()
    expect(results).to_contain_text("Page 2 sur 2")
    expect(page.locator("#resultats tbody tr")).to_have_count(5)
    expect(page.get_by_role("link", name="NOM29 Paul")).to_be_visible()
    expect(page).to_have_url(re.compile(r"page=2"))
    page.get_by_role("searchbox", name="Rechercher").fill("HELENE")
    if not javascript:
        page.get_by_role("button", name="Rechercher").click()
    expect(results).to_contain_text("1 salarié pour « HELENE »")
    expect(page.get_by_role("link", name="NOM27 Hélène")).to_be_visible()
    if javascript:
        page_checks(page, context="on the second page and a search")
