"""The demo mailbox in Chromium: accessible, readable at 360 px, links clickable, with or without JS."""

from __future__ import annotations

import pytest

from extensions import db
from models.outbox import OutboxMessage
from tests.conftest import page_checks

pytestmark = pytest.mark.browser


def _queue():
    db.session.add(
        OutboxMessage(
            sender="noreply@aist22.fr",
            recipients=["gerant@boulangerie-legoff.fr"],
            subject="Création de votre compte",
            body_text="Bonjour,\nActivez votre compte : http://127.0.0.1/ \nÀ bientôt.",
        )
    )
    db.session.commit()


@pytest.mark.parametrize("fixture", ["page", "page_nojs", "mobile_page"])
def test_mailbox_page_is_accessible(request, live_server, fixture):
    _queue()
    page = request.getfixturevalue(fixture)
    page.goto("/")
    page.get_by_role("link", name="Boîte de réception de démonstration").click()
    page.get_by_role("heading", name="Création de votre compte").wait_for()
    assert page.get_by_role("link", name="http://127.0.0.1/").count() == 1
    if fixture != "page_nojs":
        page_checks(page, context=fixture)
    if fixture == "mobile_page":
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    db.session.commit()
