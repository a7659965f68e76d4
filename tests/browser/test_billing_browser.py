"""The issue's journey in Chromium, with and without JavaScript: review the pre-filled
declaration, add a forgotten hire, correct a category, confirm, download the invoice PDF and read it."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from models import Invoice
from services import billing
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_declaration_company, make_member, make_tariff
from tests.web.test_billing import pdf_text

pytestmark = pytest.mark.browser


@pytest.fixture
def plain_pdf(app):
    app.config["INVOICE_PDF_PLAIN"] = True
    yield
    app.config["INVOICE_PDF_PLAIN"] = False


def walk_the_declaration(page, live_server, *, javascript: bool):
    company = make_declaration_company("00010", name="Boulangerie Le Goff")
    make_tariff()
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)
    year = billing.today().year

    page.goto("/entreprises/00010/")
    page.get_by_role("link", name="Ma cotisation").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Ma cotisation"
    assert page.get_by_test_id("headcount").inner_text() == "10"
    assert page.get_by_test_id("total-ttc").inner_text() == "1\u00a0300,32\u00a0€"
    if javascript:  # axe-core runs in the page: it needs JavaScript
        page_checks(page, context="on Ma cotisation")
    screenshot(page, "ma-cotisation")
    assert page.locator("h1").count() == 1

    # The employees not counted load when their details open: in place with htmx, as a page without.
    page.get_by_text("Salariés non comptés (2)").click()
    if not javascript:
        page.get_by_role("link", name="Voir les salariés non comptés et la raison").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Salariés non comptés"
    page.get_by_text("INTERIMAIRE Luc : Intérimaire (facturé à l'acte)").wait_for()
    page.get_by_text("PARTI Jean : Sorti avant la date de référence").wait_for()
    if javascript:
        page_checks(page, context="on Ma cotisation, employees not counted open")
    else:
        page.get_by_role("link", name="Retour à ma déclaration").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Ma cotisation"

    page.get_by_label("Nom de naissance").fill("Oublie")
    page.get_by_label("Prénom(s)").fill("Marie")
    page.get_by_label("Sexe").select_option("F")
    page.get_by_label("Date de naissance").fill("1995-03-02")
    page.get_by_label("Date d'entrée").fill(f"{year - 1}-09-01")
    page.get_by_label("Poste (libellé de l'emploi)").fill("Vendeuse")
    page.get_by_role("button", name="Ajouter le salarié").click()
    page.get_by_text("a été ajouté(e) à votre liste du personnel").wait_for()
    assert page.get_by_test_id("headcount").inner_text() == "11"
    # 9 SI + 2 SIR = 853.20 + 325.20 = 1178.40 HT, TVA 235.68
    assert page.get_by_test_id("total-ttc").inner_text() == "1\u00a0414,08\u00a0€"

    # A row's corrections load on demand: into the row with htmx, on a page of their own without.
    page.get_by_role("link", name="Corriger SALARIE00 Anne").click()
    if not javascript:
        assert page.get_by_role("heading", level=1).inner_text() == "Corriger un salarié"
    # Issue 17: the category is corrected through the register (risks, flags), never beside it.
    page.get_by_text("Catégorie SI de SALARIE00 Anne").wait_for()
    page.get_by_role("link", name="Corriger la catégorie dans le registre de SALARIE00 Anne").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Modifier SALARIE00 Anne"
    page.get_by_test_id("from-billing").wait_for()
    if javascript:
        page_checks(page, context="on the register, from Ma cotisation")
    page.get_by_label("Plomb", exact=True).check()
    if javascript:  # the explanation follows the answers as they change
        page.get_by_text("Suivi individuel renforcé (SIR), car le poste expose").first.wait_for()
        screenshot(page, "cotisation-categorie-registre")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Catégorie de SALARIE00 Anne : SIR.").wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == "Ma cotisation"
    # 8 SI + 3 SIR = 758.40 + 487.80 = 1246.20 HT, TVA 249.24
    assert page.get_by_test_id("total-ttc").inner_text() == "1\u00a0495,44\u00a0€"

    page.get_by_label("J'atteste l'exactitude de cette déclaration").check()
    page.get_by_role("button", name="Confirmer ma déclaration").click()
    page.get_by_text(f"Votre déclaration {year} est confirmée (11 salariés)").wait_for()

    page.get_by_role("link", name="Mon espace documentaire").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mon espace documentaire"
    if javascript:
        page_checks(page, context="on Mon espace documentaire")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Télécharger")).first.click()
    download = info.value
    number = f"{year}-000001"
    assert download.suggested_filename == f"facture-{number}.pdf"
    text = pdf_text(Path(download.path()).read_bytes())
    for expected in (
        f"N° : {number}",
        "Boulangerie Le Goff",
        "Cotisation - suivi individuel (SI)\n8\n94,80 EUR\n758,40 EUR",
        "Cotisation - suivi individuel renforcé (SIR)\n3\n162,60 EUR\n487,80 EUR",
        "Total HT\n1 246,20 EUR",
        "TVA 20 %\n249,24 EUR",
        "1 495,44 EUR",
        "40 EUR",
    ):
        assert expected in text, expected
    db.session.commit()
    invoice = db.session.execute(select(Invoice)).scalar_one()
    assert invoice.number == number and str(invoice.total_ttc) == "1495.44"


def test_billing_declaration_journey_with_htmx(page, live_server, plain_pdf):
    walk_the_declaration(page, live_server, javascript=True)


def test_billing_declaration_journey_without_javascript(page_nojs, live_server, plain_pdf):
    walk_the_declaration(page_nojs, live_server, javascript=False)
