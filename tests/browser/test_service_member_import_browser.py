"""Back office in Chromium: an agent uploads the member CSV, with htmx and without JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models.base import utcnow
from models.companies import Company
from models.users import LoginSession
from tests.conftest import browser_login, page_checks
from tests.factories import enrol_totp, make_staff

pytestmark = pytest.mark.browser
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "adherents.csv"


def _agent(pg, live_server, email):
    agent = make_staff(email, first_name="Agnès", last_name="Le Floch")
    enrol_totp(agent)
    db.session.commit()
    browser_login(pg, live_server, agent)
    row = db.session.execute(select(LoginSession).where(LoginSession.user_id == agent.id)).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()


def _companies() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(Company.id)))


@pytest.mark.parametrize("javascript", [True, False])
def test_agent_uploads_the_member_file(request, live_server, javascript):
    pg = request.getfixturevalue("page" if javascript else "page_nojs")
    _agent(pg, live_server, f"agent-{javascript}@aist22.fr")
    pg.goto("/service/adherents")
    pg.get_by_role("link", name="Importer un fichier d'adhérents (CSV)").click()
    assert pg.get_by_role("heading", level=1).inner_text() == "Importer des adhérents"
    if javascript:
        page_checks(pg, context="on the member import page")
    pg.get_by_label("Vérifier seulement (ne rien enregistrer)").check()
    pg.get_by_label("Fichier CSV des adhérents").set_input_files(str(SAMPLE))
    pg.get_by_role("button", name="Importer le fichier").click()
    pg.get_by_text("Vérification réussie").wait_for()
    assert _companies() == 0
    pg.get_by_label("Vérifier seulement (ne rien enregistrer)").uncheck()
    pg.get_by_label("Fichier CSV des adhérents").set_input_files(str(SAMPLE))
    pg.get_by_role("button", name="Importer le fichier").click()
    pg.get_by_text("Import terminé").wait_for()
    assert _companies() >= 4
    if javascript:
        page_checks(pg, context="after the import")
