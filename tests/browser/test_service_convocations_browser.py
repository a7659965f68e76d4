"""The issue's agent journey in Chromium: open a member and read an employee's category and
due visit, propose slots to three due employees of two members (each employer sees the
proposal), cancel the doctor's afternoon (employers told, employees back in the list), edit a
member's address (history kept) and radiate a member (its user can no longer open it); the
convocation list also works without JavaScript and at 360 px."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.outbox import OutboxMessage
from models.planning import Professional
from models.users import LoginSession
from services.planning.common import PARIS
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import enrol_totp, make_centre, make_company, make_employee, make_member, make_slot, make_staff

pytestmark = pytest.mark.browser

TODAY = date.today()


def _agent(pg, live_server, email="agent@aist22.fr"):
    agent = make_staff(email, first_name="Agnès", last_name="Le Floch")
    enrol_totp(agent)
    db.session.commit()
    browser_login(pg, live_server, agent)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == agent.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()
    return agent


def _world():
    a = make_company(
        "00010", name="Boulangerie Le Goff", address="1 rue du Port", postal_code="22000", city="Saint-Brieuc"
    )
    b = make_company("00020", name="Garage des Côtes", address="3 route de Brest", postal_code="22300", city="Lannion")
    employer_a = make_member(a, email="gerante@legoff.test", first_name="Nolwenn")
    employer_b = make_member(b, email="patron@garage.test", first_name="Erwan")
    make_employee(a, birth_name="Martin", first_names="Julie", entry_date=TODAY - timedelta(days=200))
    make_employee(a, birth_name="Bernard", first_names="Paul", entry_date=TODAY - timedelta(days=40))
    make_employee(a, birth_name="Le Du", first_names="Anne", entry_date=TODAY - timedelta(days=20))
    make_employee(
        b,
        birth_name="Kerleau",
        first_names="Yann",
        risks=["amiante"],
        category="SIR",
        entry_date=TODAY + timedelta(days=5),
    )
    doctor = Professional(name="Dr Anne Le Bihan", kind="medecin")
    db.session.add(doctor)
    centre = make_centre("Centre de Saint-Brieuc", postal_code="22000", city="Saint-Brieuc")
    day = TODAY + timedelta(days=3)
    for minutes in (0, 30, 60, 90):
        start = datetime(day.year, day.month, day.day, 14, 0, tzinfo=PARIS) + timedelta(minutes=minutes)
        make_slot(start.astimezone(UTC), centre=centre, professional=doctor)
    db.session.commit()
    return employer_a, employer_b, day


def _employer_page(browser, live_server, user):
    context, pg = _new_page(browser, live_server, javascript=True)
    browser_login(pg, live_server, user)
    return context, pg


def test_agent_convokes_cancels_an_afternoon_edits_and_radiates(page, browser, live_server):
    employer_a, employer_b, day = _world()
    _agent(page, live_server)
    nav = page.get_by_role("navigation", name="Navigation principale")

    # Open a member and read an employee's category and due visit.
    page.goto("/service/")
    nav.get_by_role("link", name="Adhérents").click()
    page.get_by_label("Code, nom, SIRET ou ville").fill("00020")
    page.get_by_role("link", name="00020", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("00020 - Garage des Côtes")
    row = page.get_by_role("row").filter(has_text="KERLEAU Yann")
    expect(row.get_by_test_id("categorie")).to_have_text("SIR")
    expect(row).to_contain_text("Le poste expose à l'amiante (article R4624-23 du Code du travail).")
    due = (TODAY + timedelta(days=5)).strftime("%d/%m/%Y")
    expect(row.get_by_test_id("visite-due")).to_contain_text(f"Examen médical d'aptitude (SIR) – {due} (R4624-24)")
    page_checks(page, context="member page")
    screenshot(page, "service-member")

    # The convocation list: three due employees of two members get a proposal.
    nav.get_by_role("link", name="Convocations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Salariés à convoquer")
    expect(page.get_by_text("4 salariés à convoquer")).to_be_visible()
    for name in ("MARTIN Julie", "BERNARD Paul", "KERLEAU Yann"):
        page.get_by_label(f"Convoquer {name}").check()
    page.get_by_label("Centre des créneaux").select_option(label="Centre de Saint-Brieuc")
    page.get_by_label("Premiers créneaux à partir du").fill(TODAY.isoformat())
    page_checks(page, context="convocation list")
    screenshot(page, "service-convocations")
    page.get_by_role("button", name="Proposer les créneaux aux employeurs").click()
    expect(page.locator(".flash--success")).to_contain_text("Créneaux proposés aux employeurs")
    expect(page.get_by_text("1 salarié à convoquer")).to_be_visible()
    expect(page.get_by_role("cell", name="LE DU Anne", exact=True)).to_be_visible()

    for user, code, names in (
        (employer_a, "00010", ("MARTIN Julie", "BERNARD Paul")),
        (employer_b, "00020", ("KERLEAU Yann",)),
    ):
        context, pg = _employer_page(browser, live_server, user)
        pg.goto(f"/entreprises/{code}/planning/")
        proposals = pg.get_by_role("region", name="Visites à confirmer")
        for name in names:
            expect(proposals).to_contain_text(name)
        if code == "00010":
            screenshot(pg, "service-proposal-employer")
        context.close()

    # The doctor is absent in the afternoon: the three visits are cancelled with a reason.
    nav.get_by_role("link", name="Visites").click()
    page.get_by_role("link", name="Déclarer l'absence d'un professionnel").click()
    page.get_by_label("Professionnel absent").select_option(label="Dr Anne Le Bihan (médecin)")
    page.get_by_label("Jour").fill(day.isoformat())
    page.get_by_label("Période").select_option(label="L'après-midi (à partir de 13 h)")
    page.get_by_role("button", name="Voir les visites concernées").click()
    for name in ("MARTIN Julie", "BERNARD Paul", "KERLEAU Yann"):
        expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    page.get_by_label("Motif transmis aux employeurs").fill("Absence imprévue du Dr Le Bihan")
    page_checks(page, context="absence")
    screenshot(page, "service-absence")
    page.get_by_role("button", name="Annuler les visites de cette période").click()
    expect(page.locator(".flash--success")).to_contain_text("3 visites annulées")
    expect(page.get_by_text("4 salariés à convoquer")).to_be_visible()
    db.session.expire_all()
    told = {
        m.recipients[0]
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == "Rendez-vous annulé par le service")
        )
    }
    assert told == {"gerante@legoff.test", "patron@garage.test"}
    context, pg = _employer_page(browser, live_server, employer_a)
    pg.goto("/entreprises/00010/planning/")
    expect(pg.get_by_role("region", name="Rendez-vous annulés ou déplacés par le service")).to_contain_text(
        "motif : Absence imprévue du Dr Le Bihan"
    )
    context.close()

    # Edit a member's address: the history keeps the old one.
    page.goto("/service/adherents/00010")
    page.get_by_role("link", name="Modifier les coordonnées").click()
    page.get_by_label("Adresse", exact=True).fill("8 quai Armez")
    page_checks(page, context="coordinates")
    page.get_by_role("button", name="Enregistrer les coordonnées").click()
    expect(page.locator(".flash--success")).to_contain_text("Coordonnées enregistrées.")
    expect(page.get_by_test_id("historique")).to_contain_text("Adresse « 1 rue du Port » → « 8 quai Armez »")
    screenshot(page, "service-member-history")

    # Radiate the garage: its user can no longer open it.
    page.goto("/service/adherents/00020")
    page.get_by_label("Date de radiation").fill(TODAY.isoformat())
    page.get_by_label("Motif").fill("Cessation d'activité")
    page.get_by_role("button", name="Radier l'adhérent").click()
    expect(page.get_by_text("Adhérent radié le")).to_be_visible()
    page_checks(page, context="radiated member")
    context, pg = _employer_page(browser, live_server, employer_b)
    response = pg.goto("/entreprises/00020/")
    assert response.status in (403, 404)
    context.close()


def test_the_convocation_list_works_without_javascript_and_at_360_px(page_nojs, browser, live_server):
    employer_a, _, _ = _world()
    _agent(page_nojs, live_server)
    page_nojs.goto("/service/convocations?adherent=00010")
    expect(page_nojs.get_by_text("3 salariés à convoquer")).to_be_visible()
    page_nojs.get_by_label("Convoquer MARTIN Julie").check()
    page_nojs.get_by_label("Centre des créneaux").select_option(label="Centre de Saint-Brieuc")
    page_nojs.get_by_role("button", name="Convoquer directement").click()
    expect(page_nojs.locator(".flash--success")).to_contain_text("Salariés convoqués : MARTIN Julie")
    page_nojs.get_by_role("button", name="Convoquer directement").click()
    expect(page_nojs.get_by_text("Cochez au moins un salarié à convoquer.").first).to_be_visible()

    context, mobile = _new_page(browser, live_server, javascript=True, width=360)
    _agent(mobile, live_server, "agent2@aist22.fr")
    mobile.goto("/service/convocations")
    expect(mobile.get_by_role("heading", level=1)).to_have_text("Salariés à convoquer")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"horizontal scroll at 360 px ({width} px)"
    page_checks(mobile, context="convocations 360 px")
    context.close()


def test_an_admin_downloads_the_employees_export(page, live_server):
    _world()
    admin = _agent(page, live_server, "admin@aist22.fr")
    admin.staff_role = "admin"
    db.session.commit()
    page.goto("/service/")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exports pour le logiciel métier")
    page.get_by_text("Colonnes (20)").click()
    expect(page.get_by_role("cell", name="prochaine_visite", exact=True)).to_be_visible()
    page_checks(page, context="exports")
    screenshot(page, "service-exports")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger salariés (CSV)").click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert content.startswith("code_adherent;id_salarie;nom_naissance") and "Kerleau" in content


def test_an_agent_prints_the_letters_of_the_new_members(page, live_server):
    make_company("00050", teledeclarant=None, name="Crêperie Ty Coz")
    make_company("00060", teledeclarant=None, name="Menuiserie Le Gall")
    db.session.commit()
    _agent(page, live_server)
    page.goto("/service/adherents")
    page.get_by_role("link", name="Courriers des nouveaux adhérents").click()
    expect(page.get_by_role("heading", level=2, name="2 adhérents ou sites en attente")).to_be_visible()
    page.get_by_label("Je génère les n° télédéclarant et j'imprime les courriers").check()
    page_checks(page, context="bulk letters")
    screenshot(page, "service-bulk-letters")
    with page.expect_download() as download:
        page.get_by_role("button", name="Générer les courriers (PDF)").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    page.goto("/service/adherents/courriers")
    expect(page.get_by_text("2 courriers : 00050, 00060")).to_be_visible()
