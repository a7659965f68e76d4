"""Mon planning in Chromium: book a slot, week view, convocation, move, cancel, request."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from extensions import db
from models import AppointmentRequest, Visit
from services.planning.slot_import import import_slots
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_employee, make_member
from tests.web.test_planning import pdf_texts

pytestmark = pytest.mark.browser
PARIS = ZoneInfo("Europe/Paris")


def _slots_csv() -> tuple[str, datetime]:
    day = (datetime.now(PARIS) + timedelta(days=10)).date()
    first = datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS)
    second = first + timedelta(days=1, hours=1)
    lines = ["debut;duree_minutes;centre;professionnel;code_adherent"]
    for moment in (first, second):
        lines.append(f"{moment:%d/%m/%Y %H:%M};30;Centre de Saint-Brieuc;Dr Anne Le Bihan;00010")
    return "\n".join(lines) + "\n", first


MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def _monday_label(day: date) -> str:
    return f"Lundi {day.day} {MONTHS[day.month - 1]} {day.year}"


@pytest.mark.parametrize("fixture", ["page", "page_nojs"])
def test_planning_journey(request, live_server, fixture):
    page = request.getfixturevalue(fixture)
    # axe-core needs JavaScript: the accessibility checks run on the htmx pass only.
    checks = page_checks if fixture == "page" else (lambda *_a, **_k: None)
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company)
    make_employee(company, birth_name="Durand", first_names="Louis", entry_date=date.today() - timedelta(days=20))
    csv_text, first = _slots_csv()
    import_slots(csv_text)
    db.session.commit()
    browser_login(page, live_server, user)

    page.goto("/entreprises/00010/planning/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mon planning"
    checks(page, context="planning")
    page.get_by_role("link", name="Créneaux proposés", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Créneaux proposés"
    checks(page, context="slots")
    page.get_by_role("link", name=re.compile("^Réserver")).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Réserver un créneau"
    checks(page, context="book")
    employee_select = page.get_by_label("Salarié")
    option = employee_select.locator("option", has_text="DURAND Louis – VIP embauche")
    employee_select.select_option(value=option.get_attribute("value"))
    page.get_by_role("button", name="Réserver ce créneau").click()
    page.get_by_text("Rendez-vous enregistré pour DURAND Louis").wait_for()
    screenshot(page, "planning-liste")

    # The list shows the visit; the week view finds it a week or two ahead.
    results = page.locator("#planning-resultats")
    assert "DURAND Louis" in results.inner_text() and "VIP embauche" in results.inner_text()
    page.get_by_role("link", name="Semaine", exact=True).click()
    today = datetime.now(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    page.get_by_role("heading", name=f"Semaine du {_monday_label(monday)}").wait_for()
    target = first.date() - timedelta(days=first.weekday())
    while monday < target:
        monday += timedelta(days=7)
        page.get_by_role("link", name="Semaine suivante").click()
        page.get_by_role("heading", name=f"Semaine du {_monday_label(monday)}").wait_for()
    results.get_by_text(re.compile("DURAND Louis")).first.wait_for()
    assert re.search(r"semaine=\d{4}-W\d{2}", page.url)
    checks(page, context="week view")
    page.get_by_role("link", name="Liste", exact=True).click()
    results.get_by_role("link", name=re.compile("Convocation")).first.wait_for()

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"Convocation \(PDF\)")).first.click()
    download = download_info.value
    assert re.fullmatch(r"convocation-\d{4}-\d{2}-\d{2}-\d+\.pdf", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = pdf_texts(data)
    assert "DURAND Louis" in text and first.strftime("%d/%m/%Y") in text
    with page.expect_download() as ics_info:
        page.get_by_role("link", name=re.compile(r"Agenda \(\.ics\)")).first.click()
    assert b"BEGIN:VEVENT" in Path(ics_info.value.path()).read_bytes()

    # Move to the other slot, then cancel.
    page.get_by_role("link", name=re.compile("^Déplacer")).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Déplacer le rendez-vous"
    page.get_by_role("button", name=re.compile("^Déplacer ici")).first.click()
    page.get_by_text("Le rendez-vous est déplacé").wait_for()
    db.session.rollback()
    visit = db.session.execute(select(Visit)).scalar_one()
    assert visit.starts_at == (first + timedelta(days=1, hours=1)).astimezone(UTC)
    page.get_by_role("link", name=re.compile("^Annuler le rendez-vous de")).first.click()
    # A confirmation first (in place with htmx, a page without JavaScript).
    page.get_by_text(re.compile(r"^Annuler le rendez-vous de .* \?$")).wait_for()
    checks(page, context="cancel confirmation")
    page.get_by_role("button", name="Oui, annuler le rendez-vous").click()
    page.get_by_text("Le rendez-vous est annulé.").wait_for()
    db.session.rollback()
    assert db.session.execute(select(Visit.status)).scalar_one() == "annulee"

    # A request for a reprise visit appears "En attente".
    page.get_by_role("link", name="Demander un rendez-vous").click()
    checks(page, context="request")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.locator("[data-error-summary]").wait_for()
    page.get_by_label("Salarié").select_option(label="DURAND Louis")
    page.get_by_label(re.compile(r"^Motif\*?$")).select_option(label="Visite de reprise")
    absence = page.get_by_label("Type d'absence (visite de reprise)")
    absence.select_option(label="Accident du travail (30 jours ou plus)")
    page.get_by_label("Début de l'absence").fill("2027-01-04")
    page.get_by_label("Date de reprise du travail").fill("2027-02-15")
    page.get_by_label("Dates souhaitées : à partir du").fill("2027-02-15")
    page.get_by_role("button", name="Envoyer la demande").click()
    page.get_by_text("Votre demande de rendez-vous a été transmise").wait_for()
    row = page.get_by_role("row", name=re.compile("DURAND Louis"))
    assert "En attente" in row.inner_text() and "du 04/01/2027 au 15/02/2027" in row.inner_text()
    checks(page, context="planning with request")
    db.session.rollback()
    assert db.session.execute(select(AppointmentRequest.status)).scalar_one() == "en_attente"


@pytest.mark.parametrize("fixture", ["page", "page_nojs"])
def test_planning_large_lists(request, live_server, fixture):
    """Free slots 20 at a time with "Voir plus de créneaux" (appended with htmx, a page without
    JavaScript) and the employee name search of the planning list."""
    page = request.getfixturevalue(fixture)
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company)
    make_employee(company, birth_name="Durand", first_names="Louis", entry_date=date.today() - timedelta(days=20))
    day = (datetime.now(PARIS) + timedelta(days=14)).date()
    day -= timedelta(days=day.weekday())
    first = datetime(day.year, day.month, day.day, 8, 0, tzinfo=PARIS)
    lines = ["debut;duree_minutes;centre;professionnel;code_adherent"]
    lines += [
        f"{first + timedelta(minutes=15 * i):%d/%m/%Y %H:%M};15;Centre de Dinan;Dr Anne Le Bihan;" for i in range(25)
    ]
    import_slots("\n".join(lines) + "\n")
    db.session.commit()
    browser_login(page, live_server, user)

    page.goto("/entreprises/00010/planning/creneaux")
    slots = page.locator("#creneaux li.slot")
    assert slots.count() == 20
    page.get_by_role("link", name="Voir plus de créneaux").click()
    if fixture == "page":
        page.locator("#creneaux li.slot").nth(24).wait_for()
        assert slots.count() == 25 and "apres=" not in page.url
        assert page.get_by_role("heading", name=re.compile(r"\(suite\)$")).count() == 1
        page_checks(page, context="slots, more")
    else:
        page.get_by_role("link", name="Début de la semaine").wait_for()
        assert slots.count() == 5 and "apres=" in page.url
    assert page.get_by_role("link", name="Voir plus de créneaux").count() == 0

    page.goto("/entreprises/00010/planning/")
    search = page.get_by_label("Salarié")
    search.fill("zzz")
    if fixture == "page_nojs":
        page.get_by_role("button", name="Filtrer").click()
    page.get_by_text("Aucune visite à venir pour ces critères").wait_for()
    assert "q=zzz" in page.url
