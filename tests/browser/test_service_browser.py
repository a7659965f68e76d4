"""Espace service in Chromium: an agent enrols the second factor, searches a member, opens it
and downloads the n° télédéclarant letter; the same pages work without JavaScript."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.companies import Company
from models.users import LoginSession
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import enrol_totp, make_company, make_staff

pytestmark = pytest.mark.browser


def _member():
    company = make_company("00010", name="Boulangerie Le Goff", city="Paimpol", teledeclarant="OLD1-OLD2-OLD3")
    make_company("00020", name="Garage Morvan", city="Dinan")
    return company


def _one_h1(pg):
    # axe needs JavaScript: without it, the accessibility run happens in the htmx tests.
    assert pg.locator("h1").count() == 1


def _old_hash():
    return db.session.execute(select(Company.teledeclarant_hash).where(Company.code == "00010")).scalar_one()


def test_service_agent_enrols_searches_and_downloads_letter(page, live_server):
    _member()
    agent = make_staff("agent@aist22.fr", first_name="Agnès", last_name="Le Floch")
    db.session.commit()
    old_hash = _old_hash()
    browser_login(page, live_server, agent)

    page.goto("/service/")
    assert "/service/2fa" in page.url
    page_checks(page, context="on the 2FA start page")
    page.get_by_role("button", name="Commencer").click()
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    page_checks(page, context="on the enrolment page")
    screenshot(page, "service-2fa-enrolement")
    page.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Vos codes de secours"
    assert page.locator(".recovery-codes li").count() == 10
    page_checks(page, context="on the recovery codes page")
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Ce qui vous attend aujourd'hui"
    page_checks(page, context="on the dashboard")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Adhérents").click()
    page.get_by_label("Code, nom, SIRET ou ville").fill("goff")
    # Active search: the results change without a page load.
    expect(page.get_by_role("link", name="00020")).to_have_count(0)
    expect(page.get_by_text("1 résultat pour « goff »")).to_be_visible()
    assert page.url.endswith("q=goff")
    page_checks(page, context="on the member search")
    page.get_by_role("link", name="00010").click()
    assert page.get_by_role("heading", level=1).inner_text() == "00010 - Boulangerie Le Goff"
    page_checks(page, context="on the member page")
    screenshot(page, "service-adherent")
    page.get_by_label("Je confirme").check()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Générer un nouveau n° télédéclarant").click()
    download = download_info.value
    assert download.suggested_filename == "courrier-teledeclarant-00010.pdf"
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    db.session.commit()
    assert _old_hash() != old_hash


def test_service_search_and_member_page_without_javascript(page_nojs, live_server):
    _member()
    agent = make_staff("agent@aist22.fr")
    secret = enrol_totp(agent)
    db.session.commit()
    browser_login(page_nojs, live_server, agent)
    page_nojs.goto("/service/adherents")
    assert "/service/2fa" in page_nojs.url
    assert page_nojs.get_by_role("heading", level=1).inner_text() == "Code de vérification"
    _one_h1(page_nojs)
    page_nojs.get_by_label("Code de vérification").fill("000000")
    page_nojs.get_by_role("button", name="Valider").click()
    assert page_nojs.get_by_text("Code incorrect").first.is_visible()
    page_nojs.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).now())
    page_nojs.get_by_role("button", name="Valider").click()
    assert page_nojs.url.endswith("/service/adherents")

    page_nojs.get_by_label("Code, nom, SIRET ou ville").fill("Dinan")
    page_nojs.get_by_role("button", name="Rechercher").click()
    assert "q=Dinan" in page_nojs.url
    _one_h1(page_nojs)
    page_nojs.get_by_role("link", name="00020").click()
    assert page_nojs.get_by_role("heading", level=1).inner_text() == "00020 - Garage Morvan"
    page_nojs.get_by_label("Nom du site").fill("Garage Morvan Lannion")
    page_nojs.get_by_label("Ville").fill("Lannion")
    page_nojs.get_by_role("button", name="Créer le site").click()
    assert page_nojs.get_by_role("heading", level=1).inner_text() == "00020-1 - Garage Morvan Lannion"
    _one_h1(page_nojs)


def test_service_admin_screens_are_accessible(page, live_server):
    _member()
    admin = make_staff("admin@aist22.fr", role="admin")
    enrol_totp(admin)
    db.session.commit()
    browser_login(page, live_server, admin)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == admin.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()
    page.goto("/service/equipe")
    page_checks(page, context="on Équipe")
    page.get_by_label("Adresse e-mail").fill("yann@aist22.fr")
    page.get_by_label("Prénom").fill("Yann")
    page.get_by_label(re.compile(r"^Nom\*?$")).fill("Kerboul")
    page.get_by_role("button", name="Créer le compte").click()
    assert page.get_by_text("Mot de passe temporaire").is_visible()
    page_checks(page, context="after creating a staff account")
    page.goto("/service/audit?action=staff.")
    assert page.get_by_role("cell", name="staff.created").is_visible()
    page_checks(page, context="on the audit trail")
