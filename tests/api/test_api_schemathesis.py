"""Schemathesis against /api/v1/openapi.json: for every operation, generated requests (a
bounded number per operation, so the suite stays fast) never get a 5xx, and every answer
matches the document (status, content type, headers, body schema)."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from extensions import db
from services import billing
from tests.api.helpers import make_client
from tests.factories import make_company, make_employee, make_slot, make_visit

MAX_EXAMPLES = 6


@pytest.fixture
def seeded():
    """A member with a site, employees, a visit, a request and an invoice: ids 1 exist."""
    from models.billing import Invoice
    from models.planning import AppointmentRequest

    company = make_company("00010")
    make_company("00010-1", parent=company)
    employee = make_employee(company)
    make_visit(employee, make_slot())
    db.session.add(
        AppointmentRequest(company_id=company.id, employee_id=employee.id, reason="a_la_demande", details="Motif")
    )
    db.session.add(
        Invoice(
            number="2026-000001",
            company_id=company.id,
            year=2026,
            issue_date=date(2026, 2, 1),
            due_date=date(2026, 3, 3),
            buyer_name=company.name,
            buyer_code="00010",
            vat_rate=20,
            total_ht=100,
            total_vat=20,
            total_ttc=120,
        )
    )
    db.session.commit()
    assert billing  # the payment service used by POST /invoices/{id}/payments
    _, headers, _ = make_client()
    return headers


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return schema, [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_schemathesis_no_5xx_and_answers_match_the_document(app, seeded, mode):
    """Valid requests and invalid ones (wrong types, missing fields, odd strings) alike."""
    schema, operations = _operations(app)
    assert len(operations) >= 20
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            with app.app_context():  # each call with its own session, as in production
                response = case.call(headers=seeded)
            case.validate_response(
                response,
                checks=[
                    checks.not_a_server_error,
                    checks.status_code_conformance,
                    checks.content_type_conformance,
                    checks.response_schema_conformance,
                    checks.response_headers_conformance,
                ],
                headers=seeded,
            )

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    from sqlalchemy import func, select

    from models.audit import AuditEvent

    calls = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "api.call"))
    assert calls >= 2 * len(operations)  # the generated requests did reach the views
