"""The integration API played by a business software, next to people in Chromium: an admin
creates the client in the Espace service, the software upserts 3 members, reads the change feed
while an employer declares a hire in the browser, opens a slot, receives the signed webhook of
the booking the employer makes, and records the outcome with a PDF the employer downloads."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fpdf import FPDF
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.companies import Company
from models.planning import Visit
from models.users import LoginSession
from services.integration import webhooks as api_webhooks
from tests.api.test_api_webhooks import Receiver
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import enrol_totp, make_member, make_staff

pytestmark = pytest.mark.browser
PARIS = ZoneInfo("Europe/Paris")


def _admin_in_browser(page, live_server):
    admin = make_staff("admin@aist22.fr", role="admin", first_name="Agnès", last_name="Le Floch")
    enrol_totp(admin)
    db.session.commit()
    browser_login(page, live_server, admin)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == admin.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()


def _create_client_in_browser(page) -> tuple[str, str]:
    page.goto("/service/")
    page.get_by_role("link", name="Intégrations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Intégrations")
    page.get_by_role("button", name="Créer le client").click()
    expect(page.get_by_text("Cochez au moins un droit.").first).to_be_visible()
    page.get_by_label("Nom du logiciel").fill("Medtra")
    for label in (
        "Créer et mettre à jour les adhérents et leurs établissements",
        "Lire les salariés et le flux des déclarations",
        "Créer et supprimer des créneaux libres",
        "Lire les visites",
        "Enregistrer le résultat des visites et joindre l'attestation",
        "S'abonner aux événements (webhooks)",
    ):
        page.get_by_label(label).check()
    page_checks(page, context="on Intégrations")
    page.get_by_role("button", name="Créer le client").click()
    expect(page.get_by_role("heading", name="Client créé : Medtra")).to_be_visible()
    screenshot(page, "service-integrations")
    secrets = page.locator("code.secret").all_inner_texts()
    token = next(s for s in secrets if s.startswith("pa_"))
    webhook_secret = next(s for s in secrets if s.startswith("whsec_"))
    return token, webhook_secret


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Attestation de suivi individuel de l'état de santé")
    return bytes(pdf.output())


def test_business_software_journey(page, browser, live_server, client):
    receiver = Receiver()
    try:
        _run_journey(page, browser, live_server, client, receiver)
    finally:
        receiver.close()


def _run_journey(page, browser, live_server, client, receiver):
    _admin_in_browser(page, live_server)
    token, webhook_secret = _create_client_in_browser(page)
    api = {"Authorization": f"Bearer {token}"}

    # 1. Three members in, by code adhérent (upsert: the second run changes nothing).
    for code, name in (("00010", "Boulangerie Le Goff"), ("00020", "Garage Morvan"), ("00030", "Ferme du Trégor")):
        for _ in range(2):
            response = client.put(f"/api/v1/members/{code}", json={"name": name, "city": "Dinan"}, headers=api)
            assert response.status_code in (200, 201), response.json
    assert db.session.scalar(select(db.func.count()).select_from(Company)) == 3
    assert (
        client.put("/api/v1/webhook", json={"url": receiver.url, "events": ["visit.booked"]}, headers=api).status_code
        == 200
    )

    # 2. The software polls the feed (nothing yet) while an employer declares a hire.
    feed = client.get("/api/v1/employee-changes", headers=api).json
    assert feed["data"] == []
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    employer = make_member(company)
    db.session.commit()
    employer_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    employer_page = employer_context.new_page()
    try:
        browser_login(employer_page, live_server, employer)
        employer_page.goto("/entreprises/00010/salaries/")
        employer_page.get_by_role("link", name="Déclarer un nouveau salarié").click()
        employer_page.get_by_label(re.compile(r"^Nom de naissance")).fill("Le Bihan")
        employer_page.get_by_label("Prénom(s)").fill("Anne")
        employer_page.get_by_label("Sexe").select_option("F")
        employer_page.get_by_label("Date de naissance").fill("1995-10-03")
        employer_page.get_by_label("Date d'entrée").fill((date.today() - timedelta(days=3)).isoformat())
        employer_page.get_by_label(re.compile(r"^Poste")).fill("Vendeuse")
        employer_page.get_by_role("button", name="Déclarer le salarié").click()
        expect(employer_page.get_by_role("heading", level=1)).to_have_text("LE BIHAN Anne")

        changes = client.get(
            "/api/v1/employee-changes", query_string={"cursor": feed["next_cursor"] or ""}, headers=api
        ).json
        assert [c["kind"] for c in changes["data"]] == ["embauche"]
        employee_id = changes["data"][0]["employee_id"]
        employee = client.get(f"/api/v1/employees/{employee_id}", headers=api).json
        assert employee["birth_name"] == "Le Bihan" and employee["nir"] is None
        again = client.get(
            "/api/v1/employee-changes", query_string={"cursor": changes["next_cursor"]}, headers=api
        ).json
        assert again["data"] == []  # no repeat

        # 3. The software opens a slot reserved to the member.
        day = (datetime.now(PARIS) + timedelta(days=3)).date()
        start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS)
        slot = client.post(
            "/api/v1/slots",
            json={
                "starts_at": start.isoformat(),
                "centre": {"name": "Centre de Dinan", "address": "3 rue du Château, 22100 Dinan"},
                "professional": {"name": "Dr Anne Le Bihan", "kind": "medecin"},
                "reserved_company_code": "00010",
            },
            headers={**api, "Idempotency-Key": "slot-1"},
        )
        assert slot.status_code == 201, slot.json

        # 4. The employer books it; the software receives the signed webhook.
        employer_page.goto("/entreprises/00010/planning/")
        employer_page.get_by_role("link", name="Créneaux proposés", exact=True).click()
        employer_page.get_by_role("link", name=re.compile("^Réserver")).first.click()
        select_employee = employer_page.get_by_label("Salarié")
        option = select_employee.locator("option", has_text="LE BIHAN Anne")
        select_employee.select_option(value=option.first.get_attribute("value"))
        employer_page.get_by_role("button", name="Réserver ce créneau").click()
        employer_page.get_by_text("Rendez-vous enregistré pour LE BIHAN Anne").wait_for()

        assert api_webhooks.deliver_webhooks()["delivered"] == 1
        ((headers, body),) = receiver.received
        assert api_webhooks.verify(webhook_secret, headers["Portail-Signature"], body)
        event = json.loads(body)
        assert event["type"] == "visit.booked" and event["data"]["employee_id"] == employee_id
        visit_id = event["data"]["visit_id"]

        # 5. The day of the visit: it has taken place (an outcome is recorded only from the
        # visit's start, issue 17), then the outcome with the attestation; the employer downloads it.
        booked = db.session.get(Visit, visit_id)
        booked.starts_at = booked.slot.starts_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        visit = client.get(f"/api/v1/visits/{visit_id}", headers=api)
        outcome = client.post(
            f"/api/v1/visits/{visit_id}/outcome",
            json={"outcome": "realisee", "document_pdf_base64": base64.b64encode(_pdf()).decode()},
            headers={**api, "If-Match": visit.headers["ETag"]},
        )
        assert outcome.status_code == 200, outcome.json
        assert outcome.json["status"] == "realisee"

        employer_page.goto("/entreprises/00010/")
        employer_page.get_by_role("link", name="Mon espace documentaire").first.click()
        row = employer_page.get_by_role("row").filter(has_text="Attestation de suivi")
        with employer_page.expect_download() as info:
            row.get_by_role("link", name=re.compile("Télécharger")).first.click()
        assert info.value.suggested_filename.startswith("attestation-")
        with open(info.value.path(), "rb") as downloaded:
            assert downloaded.read(5) == b"%PDF-"
    finally:
        employer_context.close()


def test_api_reference_page_is_readable_and_accessible(page):
    page.goto("/api/v1/")
    expect(page.get_by_role("heading", level=1)).to_have_text("API d'intégration")
    page_checks(page, context="on the API reference")
    page.get_by_role("link", name="Erreurs").click()
    expect(page.locator("#version-perimee")).to_be_visible()
    expect(
        page.get_by_role("heading", name="PUT /api/v1/members/{member_code} – Créer ou mettre à jour")
    ).to_be_visible()


def test_integrations_screen_without_javascript_and_at_360px(page_nojs, mobile_page, live_server):
    _admin_in_browser(page_nojs, live_server)
    page_nojs.goto("/service/integrations")
    page_nojs.get_by_label("Nom du logiciel").fill("Paladin")
    page_nojs.get_by_label("Lire les visites").check()
    page_nojs.get_by_role("button", name="Créer le client").click()
    expect(page_nojs.get_by_role("heading", name="Client créé : Paladin")).to_be_visible()
    page_nojs.get_by_role("button", name="Révoquer Paladin").click()
    expect(page_nojs.get_by_text("Client « Paladin » révoqué : son jeton ne fonctionne plus.")).to_be_visible()

    for cookie in page_nojs.context.cookies():
        mobile_page.context.add_cookies([cookie])
    mobile_page.goto("/service/integrations")
    page_checks(mobile_page, context="on Intégrations at 360 px")
    width = mobile_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
