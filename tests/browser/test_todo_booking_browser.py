"""From a hire to its first visit in Chromium: the employer of a new SIR hire books the aptitude
exam from the hire's confirmation, the employee already chosen; the home's "À faire" counts it
first and forgets it once booked. With htmx and with JavaScript off."""

import re

import pytest
from playwright.sync_api import expect

from extensions import db
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_employee, make_member, make_slot

pytestmark = pytest.mark.browser


def _journey(page, live_server, *, javascript=True):
    def checks(context):
        if javascript:
            page_checks(page, context=context)

    company = make_company("00010", name="Couverture Le Guen")
    # 25 colleagues: the booking form must not make the employer scroll for the new hire.
    for index in range(25):
        make_employee(company, birth_name=f"Abalain{index:02d}", first_names="Yves")
    make_slot(centre=None)
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)

    page.goto("/entreprises/00010/salaries/nouveau")
    page.get_by_label(re.compile(r"^Nom de naissance")).fill("Le Meur")
    page.get_by_label("Prénom(s)").fill("Erwan")
    page.get_by_label("Sexe").select_option("M")
    page.get_by_label("Date de naissance").fill("1992-04-18")
    page.get_by_label("Date d'entrée").fill("2026-12-14")
    page.get_by_label(re.compile(r"^Poste")).fill("Couvreur désamianteur")
    page.get_by_label("Amiante").check()
    page.get_by_role("button", name="Déclarer le salarié").click()

    # The hire's confirmation ends on "Prendre rendez-vous".
    expect(page.get_by_text("LE MEUR Erwan est déclaré(e).")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Examen médical d'aptitude"))).to_be_visible()
    checks("on the hire's confirmation")
    screenshot(page, "salaries-embauche-prendre-rendez-vous")
    page.get_by_role("link", name=re.compile(r"^Prendre rendez-vous")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Créneaux proposés")
    expect(page.get_by_text("Rendez-vous pour LE MEUR Erwan")).to_be_visible()
    checks("on the slots for one employee")
    page.get_by_role("link", name=re.compile(r"^Réserver")).first.click()
    employee = page.get_by_label("Salarié")
    expect(employee.locator("option:checked")).to_have_text(re.compile(r"^LE MEUR Erwan – Examen médical d'aptitude"))
    checks("on the booking form")
    page.get_by_role("button", name="Réserver ce créneau").click()
    expect(page.get_by_text(re.compile(r"Rendez-vous enregistré pour LE MEUR Erwan le"))).to_be_visible()

    # Booked: the employee page no longer offers it, the home counts only the colleagues.
    page.goto("/entreprises/00010/")
    todo = page.get_by_role("region", name="À faire")
    expect(todo).to_contain_text("25 visites")
    checks("on the home")
    screenshot(page, "accueil-a-faire")


def test_hire_to_first_visit_with_htmx(page, live_server):
    _journey(page, live_server)


def test_hire_to_first_visit_without_javascript(page_nojs, live_server):
    _journey(page_nojs, live_server, javascript=False)
