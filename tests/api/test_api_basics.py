"""The API's contract: tokens and scopes, problem details, cursor pagination, the member
upsert with ETag/If-Match, Idempotency-Key, the NIR behind its scope, every call audited."""

from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.companies import Company
from models.employees import EmployeeChange
from services.core.crypto import encrypt_nir
from services.integration import clients as api_clients
from tests.api.helpers import make_client
from tests.conftest import count_queries
from tests.factories import make_company, make_employee

MEMBER = {"name": "Boulangerie Le Goff", "siret": "73282932000074", "city": "Dinan", "postal_code": "22100"}


def test_api_refuses_calls_without_a_valid_token(client):
    for headers in ({}, {"Authorization": "Bearer pa_nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/members", headers=headers)
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
        body = response.json
        assert body["type"].endswith("/api/v1/#authentification-requise")
        assert body["status"] == 401 and "jeton" in body["detail"]


def test_api_revoked_token_stops_at_once(client):
    api_client, headers, _ = make_client()
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    api_clients.revoke_client(api_client, None)
    db.session.commit()
    assert client.get("/api/v1/members", headers=headers).status_code == 401


def test_api_scope_walls(client):
    _, headers, _ = make_client(["members:read"])
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    for path in ("/api/v1/employees", "/api/v1/visits", "/api/v1/invoices", "/api/v1/requests", "/api/v1/slots"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.json["type"].endswith("#droit-manquant")
    response = client.put("/api/v1/members/00010", json=MEMBER, headers=headers)
    assert response.status_code == 403


def test_api_member_upsert_creates_then_updates_without_teledeclarant(client):
    _, headers, _ = make_client(["members:read", "members:write"])
    created = client.put("/api/v1/members/00010", json=MEMBER, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["code"] == "00010" and created.json["parent_code"] is None
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    assert company.teledeclarant_hash is None
    site = client.put("/api/v1/members/00010-2", json={"name": "Le Goff Lamballe", "city": "Lamballe"}, headers=headers)
    assert site.status_code == 201 and site.json["parent_code"] == "00010"
    etag = created.headers["ETag"]
    updated = client.put("/api/v1/members/00010", json={"city": "Dinard"}, headers={**headers, "If-Match": etag})
    assert updated.status_code == 200 and updated.json["city"] == "Dinard"
    stale = client.put("/api/v1/members/00010", json={"city": "Rennes"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412 and stale.json["type"].endswith("#version-perimee")
    assert client.get("/api/v1/members/00010", headers=headers).json["city"] == "Dinard"
    # A n° télédéclarant is not an API field.
    refused = client.put("/api/v1/members/00010", json={"teledeclarant": "ABCD"}, headers=headers)
    assert refused.status_code == 422 and "teledeclarant" in refused.json["errors"]


def test_api_member_validation_answers_french_problems(client):
    _, headers, _ = make_client(["members:write"])
    response = client.put("/api/v1/members/00010", json={"name": "X", "siret": "123"}, headers=headers)
    assert response.status_code == 422
    assert response.json["errors"]["siret"] == ["Le SIRET a 14 chiffres."]
    orphan = client.put("/api/v1/members/00099-1", json={"name": "Site"}, headers=headers)
    assert orphan.status_code == 404 and "00099" in orphan.json["detail"]
    bad_json = client.put("/api/v1/members/00010", data="{", content_type="application/json", headers=headers)
    assert bad_json.status_code == 400
    form = client.put("/api/v1/members/00010", data={"name": "X"}, headers=headers)
    assert form.status_code == 415
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_api_cursor_pagination_walks_every_member_once(client):
    for n in range(7):
        make_company(f"0001{n}")
    db.session.commit()
    _, headers, _ = make_client(["members:read"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/members", query_string=params, headers=headers).json
        seen += [m["code"] for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"0001{n}" for n in range(7)]
    bad = client.get("/api/v1/members", query_string={"cursor": "nope"}, headers=headers)
    assert bad.status_code == 400 and "Curseur" in bad.json["detail"]


def test_api_lists_run_a_fixed_number_of_queries(client, app):
    company = make_company("00010")
    for _ in range(3):
        make_employee(company)
    _, headers, _ = make_client(["employees:read"])
    client.get("/api/v1/employees", headers=headers)  # notes the last use (once a minute)
    with count_queries() as few:
        client.get("/api/v1/employees", headers=headers)
    for _ in range(20):
        make_employee(company)
    db.session.commit()
    with count_queries() as many:
        assert len(client.get("/api/v1/employees", headers=headers).json["data"]) == 23
    assert len(many) == len(few)


def test_api_nir_only_with_its_scope_and_never_in_the_audit(client):
    company = make_company("00010")
    make_employee(company, nir_encrypted=encrypt_nir("295109912611193"))
    db.session.commit()
    _, reader, _ = make_client(["employees:read"], name="Lecteur")
    _, nir_reader, _ = make_client(["employees:read", "employees:nir"], name="Lecteur NIR")
    assert client.get("/api/v1/employees", headers=reader).json["data"][0]["nir"] is None
    assert client.get("/api/v1/employees", headers=nir_reader).json["data"][0]["nir"] == "295109912611193"
    details = " ".join(str(e.details) for e in db.session.scalars(select(AuditEvent)))
    assert "295109912611193" not in details


def test_api_every_call_is_audited_with_its_client(client):
    api_client, headers, _ = make_client(["members:read"])
    client.get("/api/v1/members", headers=headers)
    client.get("/api/v1/employees", headers=headers)
    calls = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.call").order_by(AuditEvent.id)).all()
    assert [(c.details["endpoint"], c.details["status"]) for c in calls] == [
        ("api.list_members", 200),
        ("api.list_employees", 403),
    ]
    db.session.refresh(api_client)
    assert api_client.last_used_at is not None


def test_api_idempotency_key_replays_the_first_answer(client):
    _, headers, _ = make_client(["slots:write"])
    body = {
        "starts_at": "2031-03-03T09:00:00+01:00",
        "centre": {"name": "Centre de Dinan", "address": "1 rue du Port"},
        "professional": {"name": "Dr Anne Le Bihan", "kind": "medecin"},
    }
    first = client.post("/api/v1/slots", json=body, headers={**headers, "Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/slots", json=body, headers={**headers, "Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/api/v1/slots", json={**body, "duration_minutes": 20}, headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert other.status_code == 422 and other.json["type"].endswith("#cle-idempotence-reutilisee")
    # Without the key, the same slot is a conflict, not a second slot.
    assert client.post("/api/v1/slots", json=body, headers=headers).status_code == 409


def test_api_change_feed_never_misses_nor_repeats(client):
    company = make_company("00010")
    _, headers, _ = make_client(["employees:read"])
    from services.employees.register import create_employee

    def hire(name):
        create_employee(
            company,
            {
                "birth_name": name,
                "first_names": "Jeanne",
                "sex": "F",
                "birth_date": __import__("datetime").date(1990, 1, 2),
                "entry_date": __import__("datetime").date(2026, 1, 5),
                "job_title": "Vendeuse",
            },
            None,
            "employeur",
        )
        db.session.commit()

    hire("Alpha")
    first = client.get("/api/v1/employee-changes", headers=headers).json
    assert [c["kind"] for c in first["data"]] == ["embauche"]
    hire("Beta")
    hire("Gamma")
    second = client.get("/api/v1/employee-changes", query_string={"cursor": first["next_cursor"]}, headers=headers).json
    assert len(second["data"]) == 2
    third = client.get("/api/v1/employee-changes", query_string={"cursor": second["next_cursor"]}, headers=headers).json
    assert third["data"] == [] and third["next_cursor"] == second["next_cursor"]
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert ids == sorted(db.session.scalars(select(EmployeeChange.id)))


def test_api_reference_page_and_document_are_public(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert "/members/{member_code}" in spec["paths"]
    page = client.get("/api/v1/").get_data(as_text=True)
    assert page.count("<h1") == 1 and "PUT /api/v1/members/{member_code}" in page


def test_api_ignores_the_web_session_cookie(client):
    """CSRF does not apply to the API because a browser's cookie never authenticates there."""
    from tests.conftest import login
    from tests.factories import make_member

    user = make_member(make_company("00010"))
    db.session.commit()
    login(client, user)
    assert client.get("/entreprises/00010/").status_code == 200
    assert client.put("/api/v1/members/00010", json=MEMBER).status_code == 401
    assert client.get("/api/v1/members").status_code == 401


def test_api_rate_limit_per_client_answers_429_problem(client, app):
    _, first, _ = make_client(["members:read"], name="Rapide")
    _, second, _ = make_client(["members:read"], name="Autre")
    app.config["API_RATE_LIMIT"] = "3/minute"
    try:
        statuses = [client.get("/api/v1/members", headers=first).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/members", headers=first)
        assert limited.content_type == "application/problem+json"
        assert limited.json["type"].endswith("#trop-de-requetes")
        # Another client has its own bucket.
        assert client.get("/api/v1/members", headers=second).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "600/minute"


def test_api_change_feed_waits_for_late_commits_on_postgresql(client, app):
    """On PostgreSQL ids are not given in commit order: the feed serves a declaration only once
    it is API_FEED_SETTLE_SECONDS old, so a slower transaction is never skipped by a cursor."""
    from datetime import timedelta

    from models.base import utcnow
    from services.integration import resources as api_resources

    company = make_company("00010")
    employee = make_employee(company)
    db.session.add(EmployeeChange(employee_id=employee.id, company_id=company.id, kind="embauche"))
    db.session.commit()
    app.config["API_FEED_SETTLE_SECONDS"] = 5
    try:
        now = utcnow()
        fresh = api_resources.change_feed(0, 10, now=now)
        later = api_resources.change_feed(0, 10, now=now + timedelta(seconds=6))
    finally:
        app.config["API_FEED_SETTLE_SECONDS"] = 0
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    assert len(fresh) == (0 if postgresql else 1)  # SQLite serialises writers: no wait needed
    assert len(later) == 1


def test_api_every_operation_needs_its_own_scope(client, app):
    """Walk the registered operations: a client holding every scope but the one an operation
    names gets 403 on it, before any body is read."""
    from blueprints.api.core import OPERATIONS
    from models.integration import SCOPES

    checked = 0
    for op in OPERATIONS:
        if op.scope is None:
            continue
        _, headers, _ = make_client([s for s in SCOPES if s != op.scope], name=f"Sans {op.scope}")
        path = "/api/v1" + op.rule.replace("<int:", "<").split("<")[0]
        for arg in op.rule.split("<")[1:]:
            path += "1" + arg.split(">", 1)[1]
        response = client.open(path, method=op.method, json={}, headers=headers)
        assert response.status_code == 403, f"{op.method} {path}: {response.status_code}"
        assert response.json["type"].endswith("#droit-manquant")
        checked += 1
    assert checked == len([op for op in OPERATIONS if op.scope]) >= 20
