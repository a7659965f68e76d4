"""Back-office slots in Chromium: an agent creates a week of slots (htmx), then views the week,
changes week and removes a free slot without JavaScript."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.planning import Centre, Professional, Slot
from models.users import LoginSession
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import enrol_totp, make_company, make_staff

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


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def _slot_count() -> int:
    db.session.commit()
    return db.session.execute(select(func.count()).select_from(Slot)).scalar_one()


def test_service_agent_creates_a_week_of_slots(page, live_server):
    make_company("00010", name="Boulangerie Le Goff")
    db.session.add_all(
        [
            Centre(name="Centre de Saint-Brieuc", address="12 rue des Lilas, 22000 Saint-Brieuc"),
            Professional(name="Dr Anne Le Bihan", kind="medecin"),
        ]
    )
    db.session.commit()
    _agent_with_second_factor(page, live_server, "agent@aist22.fr")
    monday = _next_monday()

    page.goto("/service/")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Créneaux").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Créneaux"
    page.get_by_role("link", name="Créer une série de créneaux").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Créer une série de créneaux"
    page_checks(page, context="on the series form")

    page.get_by_label(re.compile(r"^Du\*?$")).fill(monday.isoformat())
    page.get_by_label(re.compile(r"^Au\*?$")).fill((monday + timedelta(days=5)).isoformat())
    for day in ("lundi", "mardi", "mercredi", "jeudi", "vendredi"):
        page.get_by_label(day, exact=True).check()
    page.get_by_label(re.compile(r"^Heure de début")).fill("09:00")
    page.get_by_label(re.compile(r"^Heure de fin")).fill("12:00")
    page.get_by_label(re.compile(r"^Durée")).select_option("30")
    page.get_by_label("Réservé à l'adhérent (code)").fill("99999")
    page.get_by_role("button", name="Créer les créneaux").click()
    expect(page.get_by_text("Aucun adhérent actif ne porte ce code.").first).to_be_visible()
    page_checks(page, context="on the series form with an error")
    assert page.get_by_label(re.compile(r"^Heure de début")).input_value() == "09:00"
    page.get_by_label("Réservé à l'adhérent (code)").fill("")
    page.get_by_role("button", name="Compter les créneaux").click()
    expect(page.get_by_text("Cette série compte 30 créneaux à venir")).to_be_visible()
    assert _slot_count() == 0
    page.get_by_role("button", name="Créer les créneaux").click()

    expect(page.get_by_text("30 créneaux créés (0 existaient déjà).")).to_be_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "Créneaux"
    expect(page.get_by_text(f"Semaine du {monday.strftime('%d/%m/%Y')}")).to_be_visible()
    assert page.get_by_text("libre", exact=True).count() == 30
    page_checks(page, context="on the week of slots")
    screenshot(page, "service-creneaux")
    assert _slot_count() == 30

    # Next week (htmx swap, URL pushed), then back.
    page.get_by_role("link", name="Semaine suivante").click()
    expect(page.get_by_text("0 créneau dont 0 libre.")).to_be_visible()
    assert "semaine=" in page.url
    page.get_by_role("link", name="Semaine précédente").click()
    expect(page.get_by_text("30 créneaux dont 30 libres.")).to_be_visible()


def test_service_week_of_slots_without_javascript(page_nojs, live_server):
    from datetime import UTC, datetime, time

    from services.planning.slot_series import PARIS

    centre = Centre(name="Centre de Lannion", address="3 quai d'Aiguillon, 22300 Lannion")
    professional = Professional(name="Yann Kerboul", kind="infirmier")
    db.session.add_all([centre, professional])
    monday = _next_monday()
    start = datetime.combine(monday, time(9), tzinfo=PARIS).astimezone(UTC)
    for i in range(3):
        db.session.add(
            Slot(
                starts_at=start + timedelta(minutes=30 * i),
                duration_minutes=30,
                centre=centre,
                professional=professional,
            )
        )
    db.session.commit()
    _agent_with_second_factor(page_nojs, live_server, "agent2@aist22.fr")
    year, week, _ = monday.isocalendar()

    page_nojs.goto(f"/service/creneaux?semaine={year}-W{week:02d}")
    assert page_nojs.locator("h1").count() == 1
    assert page_nojs.get_by_text("3 créneaux dont 3 libres.").is_visible()
    page_nojs.get_by_label("Professionnel de santé").select_option(label="Yann Kerboul")
    page_nojs.get_by_role("button", name="Afficher").click()
    assert f"professionnel={professional.id}" in page_nojs.url
    page_nojs.get_by_label("09:30").check()
    page_nojs.get_by_role("button", name="Supprimer les créneaux libres sélectionnés").click()
    assert page_nojs.get_by_text("1 créneau supprimé.").is_visible()
    assert page_nojs.get_by_text("2 créneaux dont 2 libres.").is_visible()
    assert _slot_count() == 2
    page_nojs.get_by_role("link", name="Semaine suivante").click()
    next_year, next_week, _ = (monday + timedelta(days=7)).isocalendar()
    assert f"semaine={next_year}-W{next_week:02d}" in page_nojs.url
    assert page_nojs.get_by_text("0 créneau dont 0 libre.").is_visible()
