"""The ledger in Chromium: an employer signs a SEPA mandate; an agent exports the direct
debit batch and imports the bank statement; the employer then sees the invoice "Payée" and
the account at zero. Screenshots for docs/BILLING.md."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.users import LoginSession
from services.billing import manual
from services.core.database import write_intent
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import enrol_totp, make_company, make_member, make_staff

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent.parent / "data"


def _agent(pg, live_server):
    agent = make_staff("agent@aist22.fr", first_name="Agnès", last_name="Le Floch")
    enrol_totp(agent)
    db.session.commit()
    browser_login(pg, live_server, agent)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == agent.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()


def test_mandate_batch_statement_and_the_member_sees_it_paid(page, browser, live_server, tmp_path):
    company = make_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    employer = make_member(company, email="gerante@legoff.test", first_name="Claire", last_name="Le Goff")
    db.session.commit()
    with write_intent():
        invoice = manual.issue_manual_invoice(
            company,
            label="Cotisation 2026",
            quantity=1,
            unit_price="1000",
            reason="Cotisation",
            actor=None,
            on=date(2026, 11, 2),
        )
        db.session.commit()
    assert invoice.number == "2026-000001"  # the number the sample statement pays

    # The employer signs a mandate.
    browser_login(page, live_server, employer)
    page.goto("/entreprises/00010/documents")
    page.get_by_role("link", name="Payer par prélèvement SEPA").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Paiement par prélèvement"
    page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 180")
    page.get_by_label("J'autorise le service").check()
    page.get_by_role("button", name="Signer le mandat").click()
    expect(page.locator(".field__error").first).to_contain_text("IBAN invalide")
    page.get_by_label("IBAN").fill("FR76 3000 6000 0112 3456 7890 189")
    page.get_by_label("J'autorise le service").check()
    page.get_by_role("button", name="Signer le mandat").click()
    expect(page.get_by_test_id("mandate")).to_contain_text("RUM-00010-0001")
    page_checks(page, context="mandate page")
    screenshot(page, "sepa-mandate")

    # The agent exports the batch, then imports the bank statement.
    context, staff_page = _new_page(browser, live_server, javascript=True)
    try:
        _agent(staff_page, live_server)
        staff_page.goto("/service/prelevements")
        expect(
            staff_page.get_by_label(f"00010 – Boulangerie Le Goff : facture {invoice.number}", exact=False)
        ).to_be_checked()
        page_checks(staff_page, context="direct debits page")
        with staff_page.expect_download() as download:
            staff_page.get_by_role("button", name="Exporter le lot de prélèvements").click()
        batch = tmp_path / "batch.xml"
        download.value.save_as(batch)
        schema = etree.XMLSchema(etree.parse(str(DATA / "pain.008.001.02.xsd")))
        schema.assertValid(etree.parse(str(batch)))

        staff_page.goto("/service/banque")
        staff_page.get_by_label("Relevé bancaire (camt.053 XML ou CSV)").set_input_files(
            str(DATA / "camt053_sample.xml")
        )
        staff_page.get_by_role("button", name="Importer le relevé").click()
        expect(staff_page.get_by_text("Relevé importé : 1 rapproché(s)")).to_be_visible()
        expect(staff_page.get_by_role("heading", name="À rapprocher (3)")).to_be_visible()
        page_checks(staff_page, context="bank page")
        screenshot(staff_page, "service-bank")
    finally:
        context.close()

    # The employer sees the invoice paid and the account at zero.
    page.goto("/entreprises/00010/documents")
    expect(page.get_by_role("row").filter(has_text=invoice.number)).to_contain_text("Payée")
    page.get_by_role("link", name="Voir mon relevé de compte").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Relevé de compte"
    expect(page.get_by_test_id("total-due")).to_have_text("0,00\u00a0€")
    expect(page.get_by_role("row").filter(has_text="Paiement (virement)")).to_contain_text("1\u00a0200,00\u00a0€")
    page_checks(page, context="member account")
    screenshot(page, "member-account")


def test_member_account_with_a_credit_note_at_360px(mobile_page, live_server):
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    with write_intent():
        invoice = manual.issue_manual_invoice(
            company, label="Cotisation", quantity=1, unit_price="2395.40", reason="Cotisation", actor=None
        )
        manual.issue_manual_credit_note(invoice, amount_ht="189.60", reason="Correction de l'effectif", actor=None)
        from services import billing

        billing.record_payment(invoice, "1000.00", billing.today(), "virement", invoice.number)
        db.session.commit()
    browser_login(mobile_page, live_server, employer)
    mobile_page.goto("/entreprises/00010/releve-de-compte")
    expect(mobile_page.get_by_test_id("total-due")).to_have_text("1\u00a0646,96\u00a0€")
    expect(mobile_page.get_by_text(f"Avoir (corrige la facture {invoice.number})")).to_be_visible()
    page_checks(mobile_page, context="member account, 360 px")
    assert mobile_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(mobile_page, "member-account-mobile")


def test_mandate_without_javascript(page_nojs, live_server):
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    browser_login(page_nojs, live_server, employer)
    page_nojs.goto("/entreprises/00010/prelevement")
    page_nojs.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page_nojs.get_by_role("button", name="Signer le mandat").click()
    expect(page_nojs.locator(".field__error").first).to_contain_text("Cochez la case")
    expect(page_nojs.get_by_label("IBAN")).to_have_value("DE89 3704 0044 0532 0130 00")
    page_nojs.get_by_label("J'autorise le service").check()
    page_nojs.get_by_role("button", name="Signer le mandat").click()
    expect(page_nojs.get_by_test_id("mandate")).to_contain_text("RUM-00010-0001")
    page_nojs.get_by_role("button", name="Révoquer le mandat").click()
    expect(page_nojs.get_by_text("Mandat RUM-00010-0001 révoqué")).to_be_visible()
    assert page_nojs.locator("h1").count() == 1
