"""The public home page in Chromium: accessible, one <h1>, usable at 360 px."""

import pytest

from tests.conftest import page_checks, screenshot

pytestmark = pytest.mark.browser


def test_home_page_is_accessible(page):
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bienvenue à l'AIST22"
    page_checks(page, context="on /")
    screenshot(page, "accueil")


def test_home_page_fits_360px(mobile_page):
    mobile_page.goto("/")
    width = mobile_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    page_checks(mobile_page, context="on / at 360 px")


def test_skip_link_and_visible_focus(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Aller au contenu"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_htmx_loads_without_csp_errors(page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/")
    page.wait_for_function("window.htmx !== undefined")
    assert page.evaluate("htmx.version").startswith("4.")
    assert not errors, errors
