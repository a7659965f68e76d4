"""Issue 17 in Chromium, with and without JavaScript: a SIR aptitude exam refused on a nurse's
slot with the reason shown, then booked on the doctor's; a reprise request under the threshold
of R4624-31 refused with the rule shown, then accepted with its 8-day deadline."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AppointmentRequest, Visit
from models.planning import Professional
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_employee, make_member, make_slot

pytestmark = pytest.mark.browser


def _world():
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company)
    make_employee(
        company,
        birth_name="Le Floch",
        first_names="Maël",
        category="SIR",
        risks=["plomb"],
        job_title="Plombier",
        entry_date=date.today(),
    )
    nurse = Professional(name="Yann Kerléo", kind="infirmier")
    db.session.add(nurse)
    start = (datetime.now(UTC) + timedelta(days=10)).replace(hour=8, minute=0, second=0, microsecond=0)
    make_slot(start, professional=nurse, reserved_company=company)
    doctor = Professional(name="Dr Anne Le Bihan", kind="medecin")
    db.session.add(doctor)
    make_slot(start + timedelta(days=1), professional=doctor, reserved_company=company)
    db.session.commit()
    return user


@pytest.mark.parametrize("fixture", ["page", "page_nojs"])
def test_sir_exam_refused_on_a_nurse_slot_with_the_reason(request, live_server, fixture):
    page = request.getfixturevalue(fixture)
    checks = page_checks if fixture == "page" else (lambda *_a, **_k: None)
    browser_login(page, live_server, _world())
    page.goto("/entreprises/00010/planning/creneaux")
    page.get_by_role("link", name=re.compile("^Réserver")).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Réserver un créneau"
    page.get_by_text("Yann Kerléo (Infirmier·e en santé au travail)").wait_for()
    employee = page.get_by_label("Salarié")
    option = employee.locator("option", has_text="LE FLOCH Maël")
    employee.select_option(value=option.get_attribute("value"))
    page.get_by_label("Type de visite").select_option(label="Examen médical d'aptitude (SIR)")
    page.get_by_role("button", name="Réserver ce créneau").click()
    page.get_by_text("est réalisé(e) par un médecin du travail (articles R4624-24 et R4624-25").first.wait_for()
    checks(page, context="booking refused")
    if fixture == "page":
        screenshot(page, "planning-examen-sir-refuse")
    db.session.rollback()
    assert db.session.execute(select(Visit)).first() is None

    page.get_by_role("link", name="Retour aux créneaux").click()
    page.get_by_role("link", name=re.compile("^Réserver")).nth(1).click()
    page.get_by_text("Dr Anne Le Bihan (Médecin du travail)").wait_for()
    employee = page.get_by_label("Salarié")
    option = employee.locator("option", has_text="LE FLOCH Maël")
    employee.select_option(value=option.get_attribute("value"))
    page.get_by_role("button", name="Réserver ce créneau").click()
    page.get_by_text("Rendez-vous enregistré pour LE FLOCH Maël").wait_for()
    db.session.rollback()
    assert db.session.execute(select(Visit.visit_type)).scalar_one() == "examen_sir"


@pytest.mark.parametrize("fixture", ["page", "page_nojs"])
def test_reprise_under_the_threshold_refused_with_the_rule(request, live_server, fixture):
    page = request.getfixturevalue(fixture)
    checks = page_checks if fixture == "page" else (lambda *_a, **_k: None)
    browser_login(page, live_server, _world())
    page.goto("/entreprises/00010/planning/")
    page.get_by_role("link", name="Demander un rendez-vous").click()
    page.get_by_label("Salarié").select_option(label="LE FLOCH Maël")
    page.get_by_label(re.compile(r"^Motif\*?$")).select_option(label="Visite de reprise")
    page.get_by_label("Type d'absence (visite de reprise)").select_option(
        label="Maladie ou accident non professionnel (60 jours ou plus)"
    )
    page.get_by_label("Début de l'absence").fill("2026-03-01")
    page.get_by_label("Date de reprise du travail").fill("2026-03-11")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.locator("[data-error-summary]").wait_for()
    error = page.locator(".field__error", has_text="R4624-31")
    assert "obligatoire après 60 jours d'absence" in error.inner_text()
    assert "l'absence déclarée dure 10 jours" in error.inner_text()
    checks(page, context="reprise refused")
    if fixture == "page":
        screenshot(page, "planning-reprise-refusee")
    db.session.rollback()
    assert db.session.execute(select(AppointmentRequest)).first() is None

    page.get_by_label("Date de reprise du travail").fill("2026-05-04")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.get_by_text("Votre demande de rendez-vous a été transmise").wait_for()
    page.get_by_text("Visite à organiser au plus tard le 12/05/2026 (8 jours après la reprise").wait_for()
