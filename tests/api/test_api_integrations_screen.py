"""Espace service « Intégrations »: admins create a client (token shown once, stored hashed),
revoke it, see its last use and the webhook deliveries; agents and employers are kept out."""

from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.integration import IntegrationClient
from services.integration import clients as api_clients
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in


def test_admin_creates_a_client_and_sees_the_token_once(client):
    staff_logged_in(client, "admin")
    token = csrf_token(client, "/service/integrations")
    response = client.post(
        "/service/integrations",
        data={"csrf_token": token, "name": "Medtra", "scopes": ["members:write", "employees:read"]},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = re.search(r"(pa_[A-Za-z0-9_-]{20,})", page).group(1)
    row = db.session.execute(select(IntegrationClient)).scalar_one()
    assert row.scopes == ["members:write", "employees:read"]
    assert row.token_hash == api_clients.token_hash(shown) and shown not in row.token_hash
    assert shown not in client.get("/service/integrations").get_data(as_text=True)
    assert client.get("/api/v1/employees", headers={"Authorization": f"Bearer {shown}"}).status_code == 200
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "api.client_created")).scalar_one()
    listing = client.get("/service/integrations").get_data(as_text=True)
    assert "Medtra" in listing and "Jamais" not in listing  # last use shown


def test_create_client_refuses_without_scope_and_keeps_the_name(client):
    staff_logged_in(client, "admin")
    token = csrf_token(client, "/service/integrations")
    response = client.post("/service/integrations", data={"csrf_token": token, "name": "Paladin"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Cochez au moins un droit." in page and 'value="Paladin"' in page
    assert db.session.execute(select(IntegrationClient)).first() is None


def test_admin_revokes_a_client(client):
    new = api_clients.create_client("Uegar", ["members:read"], None)
    db.session.commit()
    staff_logged_in(client, "admin")
    token = csrf_token(client, "/service/integrations")
    response = client.post(f"/service/integrations/{new.client.id}/revocation", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {new.token}"}).status_code == 401
    assert "Révoqué" in client.get("/service/integrations").get_data(as_text=True)


def test_integrations_screen_is_for_admins_only(client):
    staff_logged_in(client, "agent")
    assert client.get("/service/integrations").status_code == 403
    other = make_member(make_company("00010"))
    db.session.commit()
    login(client, other)
    assert client.get("/service/integrations").status_code == 404


def test_integrations_page_runs_a_fixed_number_of_queries(client):
    from models.integration import WebhookDelivery
    from tests.conftest import count_queries

    def add(n):
        for i in range(n):
            new = api_clients.create_client(f"Logiciel {i}", ["members:read"], None)
            db.session.add(
                WebhookDelivery(
                    client_id=new.client.id,
                    event_id=f"e-{new.client.id}",
                    event_type="visit.booked",
                    payload={},
                    url="http://127.0.0.1:9/hooks",
                )
            )
        db.session.commit()

    staff_logged_in(client, "admin")
    add(1)
    client.get("/service/integrations")
    with count_queries() as few:
        assert client.get("/service/integrations").status_code == 200
    add(15)
    with count_queries() as many:
        page = client.get("/service/integrations").get_data(as_text=True)
    assert page.count("En attente") == 16
    assert len(many) == len(few)


def test_outbox_worker_delivers_the_webhooks_too(client, monkeypatch):
    from models.integration import DELIVERY_DELIVERED, WebhookDelivery
    from services.core.outbox import run_worker
    from services.integration import webhooks as api_webhooks

    new = api_clients.create_client("Medtra", ["webhooks:write"], None)
    db.session.add(
        WebhookDelivery(
            client_id=new.client.id,
            event_id="evt-1",
            event_type="visit.booked",
            payload={"id": "evt-1"},
            url="http://hooks.test/x",
        )
    )
    db.session.commit()
    sent = []
    monkeypatch.setattr(api_webhooks, "post", lambda url, body, headers: sent.append((url, headers)) or 200)
    run_worker(once=True)
    assert [url for url, _h in sent] == ["http://hooks.test/x"]
    assert api_webhooks.verify(new.webhook_secret, sent[0][1]["Portail-Signature"], b'{"id":"evt-1"}')
    assert db.session.scalar(select(WebhookDelivery.status)) == DELIVERY_DELIVERED
