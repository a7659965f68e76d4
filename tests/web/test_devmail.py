"""The development-only mailbox page: lists the outbox, newest first; absent in production."""

from __future__ import annotations

from sqlalchemy import select

from app import create_app
from extensions import db
from models.outbox import STATUS_FAILED, OutboxMessage
from tests.conftest import count_queries


def add_message(subject, body="Bonjour", **fields):
    message = OutboxMessage(
        sender="noreply@aist22.fr",
        recipients=["gerant@boulangerie-legoff.fr"],
        subject=subject,
        body_text=body,
        **fields,
    )
    db.session.add(message)
    db.session.flush()
    return message


def test_mailbox_lists_messages_newest_first_with_clickable_links(client):
    add_message("Premier message", "Créez votre mot de passe : http://portail.test/compte/activer?t=abc.\nMerci.")
    add_message("Second message", "<script>alert(1)</script>", status=STATUS_FAILED, attempts=3, last_error="refused")
    db.session.commit()
    response = client.get("/dev/mailbox")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<h1") == 1 and "Boîte de réception de démonstration" in html
    assert html.index("Second message") < html.index("Premier message")
    assert '<a href="http://portail.test/compte/activer?t=abc">http://portail.test/compte/activer?t=abc</a>.' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "gerant@boulangerie-legoff.fr" in html and "Échec (3 tentatives)" in html


def test_mailbox_fragment_for_htmx_and_pagination(client):
    for n in range(25):
        add_message(f"Message {n:02d}")
    db.session.commit()
    page_one = client.get("/dev/mailbox").get_data(as_text=True)
    assert "Message 24" in page_one and "Message 04" not in page_one
    assert 'href="/dev/mailbox?page=2"' in page_one
    fragment = client.get("/dev/mailbox?page=2", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "Message 04" in body and "Message 24" not in body
    assert client.get("/dev/mailbox?page=abc").status_code == 200
    assert client.get("/dev/mailbox?page=-5").status_code == 200


def test_mailbox_runs_a_fixed_number_of_queries(app):
    for n in range(30):
        add_message(f"Message {n}")
    db.session.commit()
    with app.test_client() as c, count_queries() as queries:
        assert c.get("/dev/mailbox").status_code == 200
    assert len(queries) <= 3


def test_footer_links_to_the_mailbox_in_development(client):
    assert 'href="/dev/mailbox"' in client.get("/").get_data(as_text=True)


def test_mailbox_does_not_exist_in_production(database_url):
    production = create_app({"CONFIG": "production", "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": database_url})
    assert "devmail.mailbox" not in production.view_functions
    with production.app_context():
        client = production.test_client()
        assert client.get("/dev/mailbox", base_url="https://portail.test").status_code == 404
        home = client.get("/", base_url="https://portail.test").get_data(as_text=True)
        assert "/dev/mailbox" not in home
        db.session.remove()
    assert db.session.scalar(select(OutboxMessage.id)) is None
