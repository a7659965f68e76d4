"""Webhooks: a client subscribes; events are queued with the change (not without it), posted
signed to a local HTTP server, retried with backoff after a failure, never twice per event."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.integration import DELIVERY_DELIVERED, DELIVERY_PENDING, WebhookDelivery
from services.integration import webhooks as api_webhooks
from services.planning import booking
from tests.api.helpers import make_client
from tests.factories import make_company, make_employee, make_slot


class Receiver:
    """A local HTTP server that records what it receives and answers `status`."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _subscribe(client, headers, url, events):
    response = client.put("/api/v1/webhook", json={"url": url, "events": events}, headers=headers)
    assert response.status_code == 200, response.json
    return response


def test_webhook_booking_is_delivered_signed_once(client, receiver):
    _, headers, secret = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["visit.booked", "visit.cancelled"])
    company = make_company("00010")
    employee = make_employee(company)
    slot = make_slot()
    visit = booking.book_slot(company, slot, employee.id, "vip_embauche", None, utcnow())
    db.session.commit()

    report = api_webhooks.deliver_webhooks()
    assert report["delivered"] == 1
    ((sent_headers, body),) = receiver.received
    payload = json.loads(body)
    assert payload["type"] == "visit.booked" and payload["data"]["visit_id"] == visit.id
    assert payload["data"]["company_code"] == "00010"
    assert sent_headers["Portail-Event-Id"] == payload["id"]
    assert api_webhooks.verify(secret, sent_headers["Portail-Signature"], body)
    assert not api_webhooks.verify("whsec_other", sent_headers["Portail-Signature"], body)
    assert not api_webhooks.verify(secret, sent_headers["Portail-Signature"], body + b" ")
    # Nothing is due any more: a second run sends nothing.
    assert api_webhooks.deliver_webhooks()["claimed"] == 0
    assert len(receiver.received) == 1


def test_webhook_failure_is_retried_with_backoff_then_delivered(client, receiver):
    _, headers, _ = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["employee.declared"])
    company = make_company("00010")
    from datetime import date

    from services.employees.register import create_employee

    create_employee(
        company,
        {
            "birth_name": "Martin",
            "first_names": "Léa",
            "sex": "F",
            "birth_date": date(1992, 3, 4),
            "entry_date": date(2026, 9, 1),
            "job_title": "Vendeuse",
        },
        None,
        "employeur",
    )
    db.session.commit()
    receiver.status = 503
    assert api_webhooks.deliver_webhooks()["retried"] == 1
    delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    db.session.refresh(delivery)
    assert delivery.status == DELIVERY_PENDING and delivery.attempts == 1 and delivery.last_error == "HTTP 503"
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert api_webhooks.deliver_webhooks()["claimed"] == 0  # not before its backoff
    delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    receiver.status = 204
    assert api_webhooks.deliver_webhooks()["delivered"] == 1
    db.session.refresh(delivery)
    assert delivery.status == DELIVERY_DELIVERED and delivery.attempts == 2
    ids = {json.loads(body)["id"] for _h, body in receiver.received}
    assert len(ids) == 1  # the retry carries the same event id


def test_webhook_not_queued_when_the_change_is_rolled_back(client, receiver):
    _, headers, _ = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["visit.booked"])
    company = make_company("00010")
    employee = make_employee(company)
    slot = make_slot()
    db.session.commit()
    booking.book_slot(company, slot, employee.id, "vip_embauche", None, utcnow())
    db.session.rollback()
    assert db.session.execute(select(WebhookDelivery)).first() is None


def test_webhook_only_for_subscribed_events_and_active_clients(client, receiver):
    api_client, headers, _ = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["visit.cancelled"])
    company = make_company("00010")
    employee = make_employee(company)
    booking.book_slot(company, make_slot(), employee.id, "vip_embauche", None, utcnow())
    db.session.commit()
    assert db.session.execute(select(WebhookDelivery)).first() is None
    bad = client.put("/api/v1/webhook", json={"url": "pas une adresse", "events": ["nope"]}, headers=headers)
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"url", "events"}


def test_webhook_events_for_requests_and_cancellations(client, receiver):
    _, headers, _ = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["request.created", "visit.cancelled", "visit.booked"])
    company = make_company("00010")
    employee = make_employee(company)
    visit = booking.book_slot(company, make_slot(), employee.id, "vip_embauche", None, utcnow())
    db.session.commit()
    booking.cancel_visit(company, visit, None, utcnow(), 0)
    from models.planning import AppointmentRequest

    db.session.add(AppointmentRequest(company_id=company.id, employee_id=employee.id, reason="reprise"))
    db.session.commit()
    assert api_webhooks.deliver_webhooks()["delivered"] == 3
    types = [json.loads(body)["type"] for _h, body in receiver.received]
    assert types == ["visit.booked", "visit.cancelled", "request.created"]


def test_webhook_declaration_confirmed(client, receiver):
    from services import billing
    from services.core.database import write_intent
    from tests.factories import make_declaration_company, make_tariff

    _, headers, _ = make_client(["webhooks:write"])
    _subscribe(client, headers, receiver.url, ["declaration.confirmed"])
    company = make_declaration_company("00010")
    tariff = make_tariff()
    db.session.commit()
    with write_intent():
        declaration, _invoice = billing.confirm_declaration(
            company, tariff, None, attested=True, actor_role="employeur"
        )
        db.session.commit()
    assert api_webhooks.deliver_webhooks()["delivered"] == 1
    payload = json.loads(receiver.received[0][1])
    assert payload["type"] == "declaration.confirmed"
    assert payload["data"] == {
        "company_code": "00010",
        "declaration_id": declaration.id,
        "year": declaration.year,
        "version": 1,
        "headcount": declaration.headcount,
    }
