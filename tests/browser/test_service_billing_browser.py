"""Back-office billing in Chromium: an agent records a payment (htmx) and the employer then sees
the invoice "Payée"; the declarations page without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.users import LoginSession
from services import billing
from services.core.database import write_intent
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import (
    enrol_totp,
    make_company,
    make_declaration_company,
    make_member,
    make_staff,
    make_tariff,
)

pytestmark = pytest.mark.browser


def _agent_with_second_factor(pg, live_server, email):
    agent = make_staff(email, first_name="Agnès", last_name="Le Floch")
    enrol_totp(agent)
    db.session.commit()
    browser_login(pg, live_server, agent)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == agent.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()
    return agent


def _billed_company():
    company = make_declaration_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    make_company("00020", name="Garage Morvan", city="Lannion")
    make_tariff()
    employer = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    with write_intent():
        _, invoice = billing.confirm_declaration(
            company, billing.tariff_for_year(billing.today().year), employer, attested=True
        )
        db.session.commit()
    return employer, invoice.number


def test_service_agent_records_a_payment_and_the_employer_sees_it_paid(page, browser, live_server):
    employer, number = _billed_company()
    _agent_with_second_factor(page, live_server, "agent@aist22.fr")

    page.goto("/service/")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Facturation").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Factures"
    page.get_by_label("Statut").select_option("a_payer")
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_role("link", name=f"Facture {number}").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Facture {number}"
    page_checks(page, context="invoice page")

    # A wrong amount first: the form answers in place with a French message.
    page.get_by_label("Montant (€)").fill("99999")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.locator(".field__error")).to_contain_text("Le montant dépasse le reste à payer")
    page.get_by_label("Montant (€)").fill("1300,32")
    page.get_by_label("Mode de paiement").select_option("virement")
    page.get_by_label("Référence du paiement").fill("VIR 42")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_text(f"enregistré sur la facture {number}")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Payée")
    screenshot(page, "service-billing-invoice")

    db.session.commit()
    context, employer_page = _new_page(browser, live_server, javascript=True)
    try:
        browser_login(employer_page, live_server, employer)
        employer_page.goto("/entreprises/00010/documents")
        row = employer_page.get_by_role("row").filter(has_text=number)
        expect(row).to_contain_text("Payée")
    finally:
        context.close()


def test_service_declarations_without_javascript(page_nojs, live_server):
    _billed_company()
    _agent_with_second_factor(page_nojs, live_server, "agent2@aist22.fr")
    year = billing.today().year
    page_nojs.goto("/service/declarations")
    assert page_nojs.locator("h1").count() == 1
    expect(page_nojs.get_by_role("heading", name=f"Déclarations reçues pour {year} (1)")).to_be_visible()
    expect(page_nojs.get_by_role("heading", name="Adhérents n'ayant pas encore déclaré (1)")).to_be_visible()
    page_nojs.get_by_label("Code, raison sociale ou ville").fill("le goff")
    page_nojs.get_by_role("button", name="Afficher").click()
    expect(page_nojs.get_by_role("heading", name="Adhérents n'ayant pas encore déclaré (0)")).to_be_visible()
    expect(page_nojs.get_by_role("link", name="00010 - Boulangerie Le Goff")).to_be_visible()
    assert page_nojs.locator("h1").count() == 1
