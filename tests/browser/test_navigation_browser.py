"""The main menu: one line at 1280 px for the richest role, folded behind "Menu" at 360 px
(a checkbox and its label: it opens without JavaScript too)."""

import pytest
from playwright.sync_api import expect

from extensions import db
from tests.conftest import _new_page, browser_login, page_checks, screenshot
from tests.factories import make_company, make_member

pytestmark = pytest.mark.browser


def _employer(live_server, page):
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company)
    db.session.commit()
    browser_login(page, live_server, user)


def test_menu_on_one_line_at_1280px(page, live_server):
    _employer(live_server, page)
    page.goto("/entreprises/00010/")
    items = page.get_by_role("navigation", name="Navigation principale").get_by_role("listitem")
    tops = {round(box["y"]) for box in (items.nth(i).bounding_box() for i in range(items.count()))}
    assert len(tops) == 1, tops
    expect(page.get_by_role("checkbox", name="Menu")).to_be_hidden()


@pytest.mark.parametrize("javascript", [True, False])
def test_menu_folds_at_360px(browser, live_server, javascript):
    context, page = _new_page(browser, live_server, javascript=javascript, width=360)
    try:
        _employer(live_server, page)
        page.goto("/entreprises/00010/")
        heading = page.get_by_role("heading", level=1)
        assert heading.bounding_box()["y"] < 200  # header and folded menu: not 210 px of links
        menu = page.get_by_role("navigation", name="Navigation principale")
        expect(menu.get_by_role("link", name="Mes salariés")).to_be_hidden()
        page.get_by_text("Menu", exact=True).click()
        expect(menu.get_by_role("link", name="Mes salariés")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        if javascript:
            page_checks(page, context="menu open at 360 px")
            screenshot(page, "menu-360px")
        menu.get_by_role("link", name="Mes salariés").click()
        expect(heading).to_have_text("Mes salariés")
    finally:
        context.close()
