"""Importer une DSN in Chromium: an accountant checks the November DSN of a company with two
sites, applies 2 hires, 1 change and 1 departure, finds them in the register and the history;
a broken file is refused with its line number. With htmx and with JavaScript off."""

import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import browser_login, page_checks, screenshot
from tests.dsn_fixtures import SAMPLES, make_bakery
from tests.factories import make_member

pytestmark = pytest.mark.browser


def _journey(page, live_server, *, javascript=True):
    def checks(context):
        if javascript:  # axe runs in the page: it needs JavaScript
            page_checks(page, context=context)

    member, *_ = make_bakery()
    user = make_member(member, role=ROLE_ACCOUNTANT, email="paie@cabinet-keraval.example")
    db.session.commit()
    browser_login(page, live_server, user)

    page.goto("/entreprises/00010/salaries/")
    page.get_by_role("link", name="Importer une DSN").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importer une DSN")
    checks("on the DSN upload page")

    # A broken file: refused with its line number, nothing written.
    page.get_by_label("Fichier DSN du mois").set_input_files(SAMPLES / "dsn-ligne-cassee.dsn")
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.get_by_text("Ligne 58 : cette ligne ne suit pas le format d'une DSN")).to_be_visible()
    expect(page.get_by_label("Fichier DSN du mois")).to_have_attribute("aria-invalid", "true")
    checks("on a refused DSN")
    screenshot(page, "salaries-dsn-ligne-cassee")

    # The month's DSN: the reconciliation, nothing written yet.
    page.get_by_label("Fichier DSN du mois").set_input_files(SAMPLES / "dsn-boulangerie-le-goff-2026-11.dsn")
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.get_by_text("DSN de novembre 2026")).to_be_visible()
    expect(page.get_by_role("group", name="Nouvelles embauches (2)")).to_be_visible()
    expect(page.get_by_role("group", name="Changements (1)")).to_be_visible()
    expect(page.get_by_role("group", name="Départs (1)")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile(r"^KERMARREC Erwan"))).to_be_checked()
    expect(page.get_by_role("checkbox", name="MARTIN Paul : Poste : Boulanger → Chef boulanger")).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile(r"^LE GOFF Yann – fin de contrat le 30.11"))).to_be_checked()
    expect(page.get_by_role("link", name="ROBIN Hugo")).to_be_visible()  # absent from the DSN
    checks("on the DSN reconciliation")
    screenshot(page, "salaries-dsn-rapprochement")
    page.get_by_role("button", name="Appliquer les lignes cochées").click()

    # The history lists what was applied, by the tiers déclarant.
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique de vos déclarations")
    expect(page.get_by_text("La DSN est appliquée : 2 embauches, 1 modification, 1 départ.")).to_be_visible()
    history = page.locator("#historique")
    for text in (
        "Embauche (import DSN)",
        "KERMARREC Erwan",
        "LE BIHAN Anne",
        "Boulanger → Chef boulanger",
        "Déclaration de départ",
        "LE GOFF Yann",
        "tiers déclarant",
    ):
        expect(history).to_contain_text(text)
    expect(history).not_to_contain_text("CDI → ")  # a hire shows what was declared, no "before"
    checks("on the history after the DSN")
    screenshot(page, "salaries-dsn-historique")

    # The register: the hires are there, the departure is recorded.
    page.goto("/entreprises/00010/salaries/")
    expect(page.get_by_role("link", name="KERMARREC Erwan")).to_be_visible()
    expect(page.get_by_role("link", name="LE BIHAN Anne")).to_be_visible()
    expect(page.get_by_role("link", name="LE GOFF Yann")).to_have_count(0)  # left on 30/11
    page.goto("/entreprises/00010/salaries/?statut=sortis")
    page.get_by_role("link", name="LE GOFF Yann").click()
    expect(page.get_by_text("Sortie le 30/11/2026")).to_be_visible()


def test_dsn_import_journey_with_htmx(page, live_server):
    _journey(page, live_server)


def test_dsn_import_journey_without_javascript(page_nojs, live_server):
    _journey(page_nojs, live_server, javascript=False)
