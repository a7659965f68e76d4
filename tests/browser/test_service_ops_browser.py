"""The issue's back-office journey in Chromium: an agent logs in with a code, places an employer's
reprise request on a slot (the employer sees the visit), records it done with an attestation PDF
(the employer downloads it), records a payment (the employer sees "Payée") and answers a contact
message (the employer reads it); and the request queue without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fpdf import FPDF
from playwright.sync_api import expect
from sqlalchemy import update

from extensions import db
from models import Slot, Visit
from services import billing
from services.core.database import write_intent
from services.planning import appointment_requests
from services.support import contact as support
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import (
    enrol_totp,
    make_declaration_company,
    make_employee,
    make_member,
    make_slot,
    make_staff,
    make_tariff,
)

pytestmark = pytest.mark.browser


def _attestation_pdf(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Attestation de suivi individuel de l'etat de sante")
    path = tmp_path / "attestation.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


def _world():
    company = make_declaration_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    make_tariff()
    employer = make_member(company, email="gerante@legoff.test", first_name="Nolwenn")
    employee = make_employee(company, birth_name="Martin", first_names="Julie")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = make_slot(start)
    db.session.commit()
    with write_intent():
        _, invoice = billing.confirm_declaration(
            company, billing.tariff_for_year(billing.today().year), employer, attested=True
        )
        db.session.commit()
    request = appointment_requests.create_request(company, {"employee_id": employee.id, "reason": "reprise"}, employer)
    message = support.send_message(company, employer, "autre", "Où se garer au centre ?")
    db.session.commit()
    return employer, slot, invoice, request, message


def _agent_logs_in_with_a_code(pg, live_server, email):
    agent = make_staff(email, first_name="Agnès", last_name="Le Floch")
    secret = enrol_totp(agent)
    db.session.commit()
    browser_login(pg, live_server, agent)
    pg.goto("/service/")
    assert pg.get_by_role("heading", level=1).inner_text() == "Code de vérification"
    pg.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).now())
    pg.get_by_role("button", name="Valider").click()
    expect(pg.get_by_role("heading", level=1)).to_have_text("Ce qui vous attend aujourd'hui")
    return agent


def test_service_agent_answers_request_visit_payment_and_message(page, browser, live_server, tmp_path):
    employer, slot, invoice, request, message = _world()
    number, due = invoice.number, invoice.amount_due
    _agent_logs_in_with_a_code(page, live_server, "agent@aist22.fr")
    nav = page.get_by_role("navigation", name="Navigation principale")

    # The reprise request, placed on a slot.
    nav.get_by_role("link", name="Demandes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes de rendez-vous")
    page_checks(page, context="request queue")
    page.get_by_role("link", name=f"demande n° {request.id}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Demande n° {request.id}")
    page_checks(page, context="request page")
    page.get_by_label("Créneau", exact=True).select_option(str(slot.id))
    expect(page.get_by_label("Type de visite")).to_have_value("reprise")
    page.get_by_role("button", name="Placer sur ce créneau").click()
    expect(page.get_by_test_id("status")).to_have_text("Planifiée")
    screenshot(page, "service-demande-placee")

    db.session.commit()
    context, employer_page = _new_page(browser, live_server, javascript=True)
    try:
        browser_login(employer_page, live_server, employer)
        employer_page.goto("/entreprises/00010/planning/")
        visit_card = employer_page.get_by_role("article").filter(has_text="MARTIN Julie")
        expect(visit_card).to_contain_text("Visite de reprise")
        expect(visit_card).to_contain_text("Confirmée")

        # The visit, recorded done with its attestation once it has started (issue 17: an
        # outcome is recorded from the visit's start): time passes, the visit began an hour ago.
        began = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
        db.session.execute(update(Visit).values(starts_at=began))
        db.session.execute(update(Slot).where(Slot.id == slot.id).values(starts_at=began))
        db.session.commit()
        nav.get_by_role("link", name="Visites").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Visites")
        page_checks(page, context="visits list")
        page.get_by_role("link", name="visite n°").first.click()
        page_checks(page, context="visit page")
        page.get_by_label("Résultat de la visite").select_option("realisee")
        page.get_by_label("Type de document").select_option("attestation")
        page.get_by_label("Attestation ou avis (PDF, 5 Mo au plus)").set_input_files(_attestation_pdf(tmp_path))
        page.get_by_role("button", name="Enregistrer le résultat").click()
        expect(page.get_by_test_id("status")).to_have_text("Réalisée")
        page.get_by_role("heading", name="Corriger le résultat").wait_for()
        page_checks(page, context="visit done, with its correction forms")

        db.session.commit()
        employer_page.goto("/entreprises/00010/documents")
        row = employer_page.get_by_role("row").filter(has_text="Attestation de suivi")
        with employer_page.expect_download() as download_info:
            row.get_by_role("link", name="Télécharger").click()
        with open(download_info.value.path(), "rb") as fh:
            assert fh.read(5) == b"%PDF-"

        # A payment on the invoice.
        page.goto(f"/service/factures/{invoice.id}")
        page.get_by_label("Montant (€)").fill(str(due).replace(".", ","))
        page.get_by_label("Mode de paiement").select_option("virement")
        page.get_by_role("button", name="Enregistrer le paiement").click()
        expect(page.get_by_test_id("status")).to_have_text("Payée")
        db.session.commit()
        employer_page.goto("/entreprises/00010/documents")
        expect(employer_page.get_by_role("row").filter(has_text=number)).to_contain_text("Payée")

        # The contact message, answered.
        nav.get_by_role("link", name="Messages").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Messages de contact")
        page_checks(page, context="messages list")
        page.get_by_role("link", name=f"message n° {message.id}").click()
        page_checks(page, context="message page")
        page.get_by_label("Votre réponse").fill("Le parking visiteurs est à l'arrière du bâtiment.")
        page.get_by_role("button", name="Envoyer la réponse").click()
        expect(page.get_by_test_id("status")).to_have_text("Répondu")
        db.session.commit()
        employer_page.goto("/entreprises/00010/messages")
        expect(employer_page.get_by_text("Le parking visiteurs est à l'arrière du bâtiment.")).to_be_visible()
    finally:
        context.close()


def test_service_request_queue_without_javascript(page_nojs, live_server):
    _, slot, _, request, _ = _world()
    _agent_logs_in_with_a_code(page_nojs, live_server, "agent2@aist22.fr")
    page_nojs.goto("/service/demandes")
    assert page_nojs.locator("h1").count() == 1
    page_nojs.get_by_label("Motif").select_option("reprise")
    page_nojs.get_by_role("button", name="Filtrer").click()
    expect(page_nojs.get_by_text("1 demande")).to_be_visible()
    page_nojs.get_by_role("link", name=f"demande n° {request.id}").click()
    page_nojs.get_by_label("Créneau", exact=True).select_option(str(slot.id))
    page_nojs.get_by_role("button", name="Placer sur ce créneau").click()
    expect(page_nojs.get_by_test_id("status")).to_have_text("Planifiée")
    assert page_nojs.locator("h1").count() == 1
