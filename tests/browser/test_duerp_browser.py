"""Mon DUERP in Chromium: an employer uploads a version of its document unique (a wrong file is
refused by its content), then the staff see it on the member's page."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.users import LoginSession
from tests.conftest import browser_login, page_checks, screenshot
from tests.duerp_samples import PDF
from tests.factories import enrol_totp, make_company, make_member, make_staff

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("fixture", ["page", "page_nojs"])
def test_employer_uploads_a_duerp_and_the_staff_see_it(request, live_server, tmp_path, fixture):
    page = request.getfixturevalue(fixture)
    javascript = fixture == "page"
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, first_name="Yann", last_name="Morvan")
    db.session.commit()
    browser_login(page, live_server, employer)
    page.goto("/entreprises/00010/compte")
    page.get_by_role("link", name="Mon DUERP").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon DUERP")
    wrong = tmp_path / "duerp.pdf"
    wrong.write_bytes(b"MZ this is not a PDF")
    page.get_by_label("Nouvelle version du document unique").set_input_files(wrong)
    page.get_by_role("button", name="Déposer cette version").click()
    expect(page.get_by_text("Ce fichier n'est ni un PDF")).to_be_visible()
    good = tmp_path / "DUERP 2026.pdf"
    good.write_bytes(PDF)
    page.get_by_label("Nouvelle version du document unique").set_input_files(good)
    page.get_by_role("button", name="Déposer cette version").click()
    expect(page.get_by_text("La version 1 de votre document unique est enregistrée")).to_be_visible()
    expect(page.get_by_role("cell", name="1 (en vigueur)")).to_be_visible()
    expect(page.get_by_role("cell", name="Yann Morvan")).to_be_visible()
    if javascript:
        page_checks(page, context="on Mon DUERP")
        screenshot(page, "compte-duerp")

    agent = make_staff("agent@aist22.fr")
    enrol_totp(agent)
    db.session.commit()
    page.context.clear_cookies()
    browser_login(page, live_server, agent)
    row = db.session.execute(
        select(LoginSession).where(LoginSession.user_id == agent.id, LoginSession.revoked_at.is_(None))
    ).scalar_one()
    row.second_factor_at = utcnow()
    db.session.commit()
    page.goto("/service/adherents/00010")
    section = page.get_by_role("region", name="Document unique (DUERP)")
    expect(section.get_by_role("link", name="Version 1 – DUERP 2026.pdf")).to_be_visible()
    expect(section).to_contain_text("par Yann Morvan")
