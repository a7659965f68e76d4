"""Ma cotisation and Mon espace documentaire: declaration review, confirmation, invoices,
payments, documents, access limits, audit and query counts."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import url_for
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Declaration, Document, Employee, EmployeeChange, Invoice, OutboxMessage
from models.companies import ROLE_ACCOUNTANT
from services import billing
from services.core.database import write_intent
from services.employees.register import update_employee
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_declaration_company, make_employee, make_member, make_tariff

HX = {"HX-Request": "true"}


def audit_actions():
    db.session.commit()
    return [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


@pytest.fixture
def setup(client):
    company = make_declaration_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    tariff = make_tariff()
    user = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    login(client, user)
    return company, tariff, user


def hire_data(token, **overrides):
    data = {
        "csrf_token": token,
        "birth_name": "Oublie",
        "first_names": "Marie",
        "sex": "F",
        "birth_date": "1995-03-02",
        "entry_date": f"{billing.today().year - 1}-09-01",
        "contract_nature": "01",
        "job_title": "Vendeuse",
        "category": "SI",
    }
    data.update(overrides)
    return data


def test_billing_cotisation_is_prefilled_from_the_register(client, setup):
    html = client.get("/entreprises/00010/cotisation").get_data(as_text=True)
    assert re.search(r'data-testid="headcount">10<', html)
    assert "SI 8, SIR 2" in html
    assert "1\u00a0300,32\u00a0€" in html and "1\u00a0083,60\u00a0€" in html
    assert "J&#39;atteste l&#39;exactitude de cette déclaration" in html
    assert html.count("<h1") == 1
    # The employees not counted load when their details open (htmx), or as a page.
    excluded_path = "/entreprises/00010/cotisation/non-comptes"
    assert "Salariés non comptés (2)" in html and f'hx-get="{excluded_path}"' in html
    assert f'href="{excluded_path}"' in html and "INTERIMAIRE Luc" not in html
    fragment = client.get(excluded_path, headers={**HX, "HX-Target": "div#non-comptes"}).get_data(as_text=True)
    page = client.get(excluded_path).get_data(as_text=True)
    for body in (fragment, page):
        assert "INTERIMAIRE Luc : Intérimaire (facturé à l&#39;acte)" in body
        assert "PARTI Jean : Sorti avant la date de référence" in body
    assert "<h1" not in fragment and 'id="non-comptes"' in fragment
    assert page.count("<h1") == 1 and "Retour à ma déclaration" in page


def test_billing_excluded_list_is_paginated(client, setup):
    company, _, _ = setup
    ref = billing.open_campaign().reference_date
    for i in range(billing.EXCLUDED_PER_PAGE + 3):
        make_employee(company, birth_name=f"Futur{i:03d}", entry_date=ref + timedelta(days=1))
    db.session.commit()
    path = "/entreprises/00010/cotisation/non-comptes"
    first = client.get(path).get_data(as_text=True)
    assert "Page 1 sur 2" in first and first.count("<li>") >= billing.EXCLUDED_PER_PAGE
    second = client.get(f"{path}?page=2", headers={**HX, "HX-Target": "div#non-comptes"}).get_data(as_text=True)
    assert "Page 2 sur 2" in second and "<h1" not in second
    assert second.count(" : ") == 5  # 55 not counted: 2 of the setup + 53, 50 on the first page


def test_billing_add_hire_updates_counts_and_history(client, setup):
    company, _, user = setup
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    response = client.post(path + "/salaries", data=hire_data(token), headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="declaration"' in body
    assert re.search(r'data-testid="headcount">11<', body) and "1\u00a0414,08\u00a0€" in body
    employee = db.session.execute(select(Employee).where(Employee.birth_name == "Oublie")).scalar_one()
    change = db.session.execute(select(EmployeeChange).where(EmployeeChange.employee_id == employee.id)).scalar_one()
    assert change.kind == "embauche" and change.actor_id == user.id
    assert "employee.created" in audit_actions()
    # Without JavaScript: redirect to the page (PRG).
    response = client.post(path + "/salaries", data=hire_data(token, birth_name="Second"))
    assert response.status_code == 303 and response.headers["Location"].endswith(path)


def test_billing_add_hire_rejects_bad_input_with_422(client, setup):
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    data = hire_data(
        token, birth_name="", first_names="x" * 200, job_title="Vendeuse\r\nBcc: x", birth_date="pas une date"
    )
    for headers in ({}, HX):
        response = client.post(path + "/salaries", data=data, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Ce champ est obligatoire." in html
        assert "Ce champ ne peut contenir qu&#39;une seule ligne." in html or "une seule ligne" in html
        assert "x" * 150 in html  # input kept
    assert db.session.execute(select(Employee).where(Employee.first_names == "x" * 200)).first() is None


def test_billing_departure_and_category_update_the_amount(client, setup):
    company, _, _ = setup
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    anne = db.session.execute(select(Employee).where(Employee.birth_name == "Salarie00")).scalar_one()
    year = billing.today().year
    bad = client.post(
        f"{path}/salaries/{anne.id}/depart", data={"csrf_token": token, "exit_date": "2001-01-01"}, headers=HX
    )
    assert bad.status_code == 422 and "précéder la date d" in bad.get_data(as_text=True)
    empty = client.post(f"{path}/salaries/{anne.id}/depart", data={"csrf_token": token, "exit_date": ""})
    assert empty.status_code == 422 and "Ce champ est obligatoire." in empty.get_data(as_text=True)
    ok = client.post(
        f"{path}/salaries/{anne.id}/depart", data={"csrf_token": token, "exit_date": f"{year - 1}-12-15"}, headers=HX
    )
    assert ok.status_code == 200 and re.search(r'data-testid="headcount">9<', ok.get_data(as_text=True))
    paul = db.session.execute(select(Employee).where(Employee.birth_name == "Salarie01")).scalar_one()
    bad = client.post(f"{path}/salaries/{paul.id}/categorie", data={"csrf_token": token, "category": "XYZ"}, headers=HX)
    assert bad.status_code == 422
    # Issue 17: a category beside the register's answers is refused, with the explanation...
    beside = client.post(
        f"{path}/salaries/{paul.id}/categorie", data={"csrf_token": token, "category": "SIA"}, headers=HX
    )
    assert beside.status_code == 422 and "La catégorie SIA contredit le registre" in beside.get_data(as_text=True)
    assert db.session.get(Employee, paul.id).category == "SI"
    # ... and "Corriger la catégorie" leads to the register, whose answers give the category.
    fix = client.get(f"{path}/salaries/{paul.id}").get_data(as_text=True)
    edit = f"/entreprises/00010/salaries/{paul.id}/modifier?retour=cotisation"
    assert edit in fix.replace("&amp;", "&") and "Corriger la catégorie dans le registre" in fix
    data = {
        "csrf_token": csrf_token(client, edit),
        "birth_name": paul.birth_name,
        "first_names": paul.first_names,
        "sex": paul.sex,
        "birth_date": paul.birth_date.isoformat(),
        "entry_date": paul.entry_date.isoformat(),
        "contract_nature": paul.contract_nature,
        "job_title": paul.job_title,
        "night_work": "y",
    }
    saved = client.post(edit, data=data)
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"{path}?corriger=1")
    html = client.get(path).get_data(as_text=True)
    # 6 SI + 1 SIA + 2 SIR = 568.80 + 138 + 325.20 = 1032.00 HT -> 1238.40 TTC
    assert "SI 6, SIA 1, SIR 2" in html and "1\u00a0238,40\u00a0€" in html
    kinds = db.session.execute(select(EmployeeChange.kind).order_by(EmployeeChange.id)).scalars().all()
    assert kinds == ["depart", "modification"]
    assert {"employee.departure_declared", "employee.updated"} <= set(audit_actions())


def test_billing_confirm_requires_the_statement_then_issues_the_invoice(client, setup):
    company, tariff, user = setup
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    refused = client.post(path + "/confirmer", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Cochez la case pour attester" in refused.get_data(as_text=True)
    assert db.session.execute(select(Declaration)).first() is None

    response = client.post(path + "/confirmer", data={"csrf_token": token, "attest": "y"})
    assert response.status_code == 303
    year = billing.today().year
    declaration = db.session.execute(select(Declaration)).scalar_one()
    assert declaration.status == "confirmed" and declaration.headcount == 10 and declaration.version == 1
    assert declaration.snapshot["counts"] == {"SI": 8, "SIR": 2}
    assert len(declaration.snapshot["employees"]) == 10
    invoice = db.session.execute(select(Invoice)).scalar_one()
    assert invoice.number == f"{year}-000001"
    assert [(line.code, line.quantity, str(line.total_ht)) for line in invoice.lines] == [
        ("SI", 8, "758.40"),
        ("SIR", 2, "325.20"),
    ]
    assert (invoice.total_ht, invoice.total_vat, invoice.total_ttc) == (
        Decimal("1083.60"),
        Decimal("216.72"),
        Decimal("1300.32"),
    )
    assert invoice.due_date == invoice.issue_date + timedelta(days=30)
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert mail.recipients == ["compta@legoff.test", "gerante@legoff.test"]
    assert mail.attachments[0]["filename"] == f"facture-{year}-000001.pdf"
    assert mail.attachments[0]["content_type"] == "application/pdf"
    assert "http://portail.test/entreprises/00010/documents" in mail.body_text
    assert {"declaration.confirmed", "invoice.issued"} <= set(audit_actions())

    page = client.get(path).get_data(as_text=True)
    assert "Déclaration " + str(year) + " confirmée" in page and "Corriger ma déclaration" in page
    again = client.post(path + "/confirmer", data={"csrf_token": token, "attest": "y"})
    assert again.status_code == 303
    assert db.session.execute(select(Invoice)).scalars().all() == [invoice]


def test_billing_correction_makes_a_new_version_and_a_complement_or_credit_note(client, setup):
    company, tariff, _ = setup
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    client.post(path + "/confirmer", data={"csrf_token": token, "attest": "y"})
    assert "Confirmer la correction" in client.get(path + "?corriger=1").get_data(as_text=True)
    client.post(path + "/salaries", data=hire_data(token))
    # The hire is SIR through the register (issue 17: a category is never set beside it).
    forgotten = db.session.execute(select(Employee).where(Employee.birth_name == "Oublie")).scalar_one()
    with write_intent():
        update_employee(forgotten, {"risks": ["amiante"]}, setup[2], "employeur")
        db.session.commit()
    client.post(path + "/confirmer", data={"csrf_token": token, "attest": "y", "correction": "1"})
    soudeur = db.session.execute(select(Employee).where(Employee.birth_name == "Soudeur0")).scalar_one()
    anne = db.session.execute(select(Employee).where(Employee.birth_name == "Salarie00")).scalar_one()
    year = billing.today().year
    for employee in (soudeur, anne):
        client.post(
            f"{path}/salaries/{employee.id}/depart", data={"csrf_token": token, "exit_date": f"{year - 1}-12-01"}
        )
    client.post(path + "/confirmer", data={"csrf_token": token, "attest": "y", "correction": "1"})

    versions = db.session.execute(select(Declaration.version, Declaration.status).order_by(Declaration.version)).all()
    assert versions == [(1, "superseded"), (2, "superseded"), (3, "confirmed")]
    invoices = db.session.execute(select(Invoice).order_by(Invoice.id)).scalars().all()
    assert [(i.number, i.kind, str(i.total_ttc)) for i in invoices] == [
        (f"{year}-000001", "invoice", "1300.32"),
        (f"{year}-000002", "complement", "195.12"),  # one SIR more: 162.60 HT
        (f"{year}-000003", "credit_note", "308.88"),  # one SIR and one SI less: 257.40 HT
    ]
    assert invoices[1].corrects_id == invoices[0].id and invoices[2].corrects_id == invoices[0].id
    assert [(line.code, line.quantity) for line in invoices[2].lines] == [("SI", 1), ("SIR", 1)]
    docs = db.session.execute(select(Document.kind, Document.filename).order_by(Document.id)).all()
    assert docs[2] == ("avoir", f"avoir-{year}-000003.pdf")
    # Net: the latest version's total.
    assert sum(i.total_ttc if i.kind != "credit_note" else -i.total_ttc for i in invoices) == Decimal("1186.56")


def test_billing_outside_the_campaign_says_when_it_opens(client):
    company = make_company("00010")
    user = make_member(company)
    now = billing.today()
    make_tariff(
        now.year + 1,
        reference_date=f"{now.year + 1}-01-01",
        campaign={
            "opens_on": (now + timedelta(days=40)).isoformat(),
            "closes_on": (now + timedelta(days=90)).isoformat(),
        },
    )
    db.session.commit()
    login(client, user)
    html = client.get("/entreprises/00010/cotisation").get_data(as_text=True)
    assert "Aucune campagne de déclaration en cours" in html and "ouvrira le" in html
    assert "Mes déclarations" in html
    token = csrf_token(client, "/entreprises/00010/cotisation")
    response = client.post("/entreprises/00010/cotisation/salaries", data=hire_data(token))
    assert response.status_code == 303
    assert db.session.execute(select(Employee)).first() is None


def _confirmed_invoice(company, user=None):
    with write_intent():
        _, invoice = billing.confirm_declaration(
            company, billing.tariff_for_year(billing.today().year), user, attested=True
        )
        db.session.commit()
    billing.publish_invoices([invoice.id])
    return invoice


def test_billing_documents_show_invoices_payments_and_status(client, setup, app):
    company, _, user = setup
    invoice = _confirmed_invoice(company, user)
    path = "/entreprises/00010/documents"
    html = client.get(path).get_data(as_text=True)
    assert invoice.number in html and "À payer" in html and "1\u00a0300,32\u00a0€" in html
    assert app.config["SERVICE_IBAN"] in html and f"{invoice.number} / 00010" in html
    billing.record_payment(invoice, "300.32", billing.today(), "virement", "VIR 123")
    db.session.commit()
    html = client.get(path).get_data(as_text=True)
    assert (
        "Partiellement payée" in html and "300,32\u00a0€ (Virement)" in html and "Reste à payer : 1\u00a0000,00" in html
    )
    invoice.due_date = billing.today() - timedelta(days=1)
    db.session.commit()
    assert "En retard" in client.get(path).get_data(as_text=True)
    billing.record_payment(invoice, Decimal("1000.00"), billing.today(), "cheque")
    db.session.commit()
    assert "Payée" in client.get(path).get_data(as_text=True)
    with pytest.raises(billing.BillingError):
        billing.record_payment(invoice, "1", billing.today(), "virement")
    assert audit_actions().count("payment.recorded") == 2


def test_billing_download_has_type_name_and_audit(client, setup):
    company, _, user = setup
    invoice = _confirmed_invoice(company, user)
    attestation = Document(
        company_id=company.id,
        kind="attestation",
        title="Attestation de suivi – VIP",
        employee_id=db.session.execute(select(Employee.id).limit(1)).scalar(),
        year=2026,
        content=b"%PDF-1.4 test",
        content_type="application/pdf",
        filename="attestation-123.pdf",
    )
    db.session.add(attestation)
    db.session.commit()
    response = client.get(f"/entreprises/00010/documents/{invoice.document_id}/telecharger")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="facture-{invoice.number}.pdf"'
    assert response.data.startswith(b"%PDF")
    response = client.get(f"/entreprises/00010/documents/{attestation.id}/telecharger")
    assert response.status_code == 200 and response.data == b"%PDF-1.4 test"
    assert audit_actions().count("document.downloaded") == 2


def test_billing_documents_filter_by_type_employee_and_year(client, setup):
    company, _, _ = setup
    first, second = db.session.execute(select(Employee).order_by(Employee.id).limit(2)).scalars().all()
    for kind, employee, year in (
        ("attestation", first, 2025),
        ("avis", second, 2026),
        ("convocation", first, 2026),
        ("document_service", None, 2026),
    ):
        db.session.add(
            Document(
                company_id=company.id,
                kind=kind,
                title=f"Doc {kind} {year}",
                year=year,
                employee_id=employee.id if employee else None,
                content=b"x",
                filename=f"{kind}.pdf",
            )
        )
    db.session.commit()
    path = "/entreprises/00010/documents"
    html = client.get(path).get_data(as_text=True)
    assert html.count('"Document">Doc ') == 4
    html = client.get(path, query_string={"type": "avis"}, headers=HX).get_data(as_text=True)
    assert "<html" not in html and "Doc avis 2026" in html and html.count('"Document">Doc ') == 1
    html = client.get(path, query_string={"salarie": str(first.id), "annee": "2026"}).get_data(as_text=True)
    assert "Doc convocation 2026" in html and "Doc attestation" not in html and "Doc avis" not in html
    assert client.get(path, query_string={"salarie": "999999", "annee": "x", "page": "abc"}).status_code == 200


def test_billing_accountant_sees_invoices_but_not_documents(client, setup):
    company, _, user = setup
    invoice = _confirmed_invoice(company, user)
    attestation = Document(
        company_id=company.id,
        kind="attestation",
        title="Attestation",
        year=2026,
        content=b"x",
        filename="attestation.pdf",
    )
    db.session.add(attestation)
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    html = client.get("/entreprises/00010/documents").get_data(as_text=True)
    assert invoice.number in html and "Mes documents" not in html
    assert client.get(f"/entreprises/00010/documents/{invoice.document_id}/telecharger").status_code == 200
    assert client.get(f"/entreprises/00010/documents/{attestation.id}/telecharger").status_code == 404
    # The tiers déclarant makes the declaration too.
    assert client.get("/entreprises/00010/cotisation").status_code == 200
    home = client.get("/entreprises/00010/").get_data(as_text=True)
    assert "Ma cotisation" in home and "Mon espace documentaire" in home


def _billing_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("billing."):
            yield rule


def test_billing_second_company_gets_404_everywhere(client, app):
    mine = make_declaration_company("00010")
    other = make_declaration_company("00020")
    make_tariff()
    user = make_member(mine)
    db.session.commit()
    invoice = _confirmed_invoice(other)
    other_employee = db.session.execute(
        select(Employee.id)
        .where(Employee.company_id == other.id, Employee.exit_date.is_(None))
        .order_by(Employee.id)
        .limit(1)
    ).scalar_one()
    login(client, user)
    token = csrf_token(client, "/entreprises/00010/cotisation")
    checked = 0
    for rule in _billing_rules(app):
        for code in ("00020", "00010"):
            values = {"code": code}
            if "employee_id" in rule.arguments:
                values["employee_id"] = other_employee
            if "document_id" in rule.arguments:
                values["document_id"] = invoice.document_id
            with app.test_request_context():
                path = url_for(rule.endpoint, **values)
            if code == "00010" and not ({"employee_id", "document_id"} & rule.arguments):
                continue
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                response = client.open(
                    path,
                    method=method,
                    data={"csrf_token": token, "attest": "y", "exit_date": "2025-12-01", "category": "SIR"},
                )
                assert response.status_code == 404, f"{method} {path}"
                checked += 1
    assert checked >= 8
    assert db.session.execute(select(Declaration).where(Declaration.company_id == other.id)).scalar_one().version == 1
    assert db.session.get(Employee, other_employee).exit_date is None


def test_billing_staff_and_strangers_are_refused(client, setup):
    from tests.factories import make_staff

    staff = make_staff()
    db.session.commit()
    login(client, staff)
    assert client.get("/entreprises/00010/cotisation").status_code == 404
    assert client.get("/entreprises/00010/documents").status_code == 404


def test_billing_lists_run_a_fixed_number_of_queries(client, setup):
    company, _, user = setup
    _confirmed_invoice(company, user)

    def add_rows(n):
        invoice = db.session.execute(select(Invoice)).scalars().first()
        employee_ids = db.session.execute(select(Employee.id)).scalars().all()
        for i in range(n):
            billing.record_payment(invoice, "1.00", billing.today(), "virement")
            db.session.add(
                Document(
                    company_id=company.id,
                    kind="attestation",
                    title=f"A{i}",
                    year=2026,
                    employee_id=employee_ids[i % len(employee_ids)],
                    content=b"x",
                    filename="a.pdf",
                )
            )
        db.session.commit()

    def measure(path):
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    client.get("/entreprises/00010/")  # the first visit also remembers the last company used
    add_rows(1)
    few = measure("/entreprises/00010/documents"), measure("/entreprises/00010/cotisation")
    add_rows(20)
    make_employee(company)
    make_employee(company, category="SIA")
    db.session.commit()
    many = measure("/entreprises/00010/documents"), measure("/entreprises/00010/cotisation?corriger=1")
    assert few[0] == many[0]
    assert measure("/entreprises/00010/cotisation") == few[1]


def test_billing_cli_tariff_and_payment(runner, tmp_path, setup):
    company, _, user = setup
    year = billing.today().year + 1
    grid = tmp_path / "grid.json"
    grid.write_text(
        '{"mode": "size_bands", "size_bands": [{"from": 1, "to": 10, "price": 110.10},'
        ' {"from": 11, "to": null, "price": "98.50"}], "entry_fee": {"amount": "30", "mode": "per_new_employee",'
        ' "cap": "150"}, "minimum": "120", "vat_rate": "20", "reference_date": "PREV-12-31",'
        ' "campaign": {"opens_on": "YEAR-01-05", "closes_on": "YEAR-02-28"}}'.replace("PREV", str(year - 1)).replace(
            "YEAR", str(year)
        )
    )
    result = runner.invoke(args=["billing", "tariff", "set", str(year), "--from-json", str(grid)])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["billing", "tariff", "show", str(year)])
    assert '"price": "110.10"' in shown.output and '"cap": "150.00"' in shown.output
    grid.write_text('{"mode": "per_category"}')
    bad = runner.invoke(args=["billing", "tariff", "set", str(year), "--from-json", str(grid)])
    assert bad.exit_code != 0 and "prices.SI" in bad.output

    invoice = _confirmed_invoice(company, user)
    result = runner.invoke(
        args=[
            "billing",
            "payment",
            "record",
            invoice.number,
            "1300,32",
            "--date",
            billing.today().isoformat(),
            "--method",
            "virement",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "payee" in result.output
    unknown = runner.invoke(args=["billing", "payment", "record", "1999-000001", "10"])
    assert unknown.exit_code != 0 and "introuvable" in unknown.output
    assert "tariff.set" in audit_actions()


def test_billing_status_for_mes_entreprises(setup):
    company, _, user = setup
    other = make_company("00020")
    db.session.commit()
    status = billing.billing_status([company.id, other.id])
    assert status[company.id]["declaration_due"] is True
    invoice = _confirmed_invoice(company, user)
    status = billing.billing_status([company.id, other.id])
    assert status[company.id] == {"declaration_due": False, "amount_due": invoice.total_ttc}
    assert status[other.id]["amount_due"] == Decimal("0.00")


def test_billing_invoice_pdf_carries_the_legal_mentions(app, setup):
    company, _, user = setup
    app.config["INVOICE_PDF_PLAIN"] = True
    try:
        invoice = _confirmed_invoice(company, user)
    finally:
        app.config["INVOICE_PDF_PLAIN"] = False
    pdf = pdf_text(db.session.get(Document, invoice.document_id).content)
    for text in (
        invoice.number,
        "Boulangerie Le Goff",
        "Code adhérent : 00010",
        "SIRET : 00000000000000",
        "FR00000000000",
        "Cotisation - suivi individuel (SI)\n8\n94,80 EUR\n758,40 EUR",
        "758,40\xa0EUR",
        "1\xa0083,60\xa0EUR",
        "216,72\xa0EUR",
        "1\xa0300,32\xa0EUR",
        "40 EUR",
        "pénalités de retard",
        "IBAN",
        date.today().strftime("%d/%m/%Y"),
    ):
        assert text.replace("\xa0", " ") in pdf, text
    # The real rendering embeds DejaVu (Unicode: € and –) and compresses.
    real = _confirmed_invoice_pdf_unicode(invoice)
    assert real.startswith(b"%PDF") and b"DejaVuSans" in real


def pdf_text(raw: bytes) -> str:
    """The text shown by an uncompressed core-font PDF (INVOICE_PDF_PLAIN), one string per line."""
    strings = re.findall(rb"\((.*?)\) Tj", raw)
    text = "\n".join(s.replace(rb"\(", b"(").replace(rb"\)", b")").decode("latin-1") for s in strings)
    return text.replace("\xa0", " ")


def _confirmed_invoice_pdf_unicode(invoice):
    from services.billing.pdf import render_invoice_pdf

    return render_invoice_pdf(billing.invoice_render_data(invoice))


def test_billing_invoice_left_unpublished_is_repaired_by_the_cli(runner, setup):
    company, _, user = setup
    with write_intent():
        _, invoice = billing.confirm_declaration(
            company, billing.tariff_for_year(billing.today().year), user, attested=True
        )
        db.session.commit()
    assert invoice.document_id is None and db.session.execute(select(OutboxMessage)).first() is None
    result = runner.invoke(args=["billing", "invoice", "publish"])
    assert result.exit_code == 0 and "1 facture" in result.output
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).document_id is not None
    assert len(db.session.execute(select(OutboxMessage)).all()) == 1
    assert "0 facture" in runner.invoke(args=["billing", "invoice", "publish"]).output


# --------------------------------------------------------------------------- large companies


@pytest.mark.parametrize(
    "counting,prices,entry_fee",
    [
        ({"min_contract_days": 30, "exclude_interim": True, "include_suspended": False}, None, None),
        (
            {"min_contract_days": 0, "exclude_interim": False, "include_suspended": True, "include_apprentices": False},
            {"SI": "94.80", "SIA": "138.00", "SIR": "162.60", "apprenti": "50.00"},
            {"amount": "40.00", "mode": "per_new_employee"},
        ),
        (
            {"min_contract_days": 90, "exclude_interim": True, "include_suspended": True},
            {"SI": "94.80", "SIA": "138.00", "SIR": "162.60", "apprenti": "50.00"},
            {"amount": "40.00", "mode": "per_company"},
        ),
    ],
)
def test_billing_review_in_sql_agrees_with_the_python_rules(app, counting, prices, entry_fee):
    """The review page's SQL aggregates count exactly what the confirmation's snapshot counts."""
    overrides = {"counting": counting}
    if prices:
        overrides["prices"] = prices
    if entry_fee:
        overrides["entry_fee"] = entry_fee
    tariff = make_tariff(**overrides)
    ref = tariff.reference_date
    company = make_declaration_company("00010")
    make_employee(company, apprentice=True, birth_name="Apprenti")
    make_employee(company, contract_suspended=True, birth_name="Suspendu")
    make_employee(company, entry_date=ref - timedelta(days=20), contract_end_date=ref + timedelta(days=9))
    make_employee(company, entry_date=ref - timedelta(days=20), contract_end_date=ref + timedelta(days=10))
    make_employee(company, entry_date=ref - timedelta(days=100), exit_date=ref + timedelta(days=5))
    make_employee(company, entry_date=ref - timedelta(days=29), exit_date=ref)
    make_employee(company, entry_date=ref + timedelta(days=1), birth_name="Futur")
    make_employee(company, entry_date=ref - timedelta(days=400), category="SIA")
    make_employee(company, exit_date=ref - timedelta(days=400), birth_name="Ancien")
    db.session.commit()
    full = billing.preview_declaration(company, tariff)
    review = billing.review_declaration(company, tariff, per_page=4)
    assert review.counts == full.counts
    assert review.new_employees == full.new_employees and review.headcount == full.headcount
    assert review.amount == full.amount
    assert review.pages == -(-full.headcount // 4)
    pages = [billing.review_declaration(company, tariff, page=p, per_page=4) for p in range(1, review.pages + 1)]
    assert [(r.employee.id, r.category, r.new) for p in pages for r in p.counted] == [
        (r.employee.id, r.category, r.new) for r in full.counted
    ]
    past_last = billing.review_declaration(company, tariff, page=review.pages + 5, per_page=4)
    assert past_last.page == review.pages
    assert [r.employee.id for r in past_last.counted] == [r.employee.id for r in pages[-1].counted]
    assert review.excluded_total == len(full.excluded)
    listing = billing.excluded_employees(company, tariff, per_page=3)
    assert listing.total == len(full.excluded) and listing.pages == -(-len(full.excluded) // 3)
    excluded = [
        r for p in range(1, listing.pages + 1) for r in billing.excluded_employees(company, tariff, p, per_page=3).rows
    ]
    assert [(r.employee.id, r.reason) for r in excluded] == [(r.employee.id, r.reason) for r in full.excluded]


def test_billing_long_list_is_paginated_and_fixes_load_on_demand(client, setup, app):
    company, _, _ = setup
    per_page = billing.REVIEW_PER_PAGE  # 25: the setup's 10 counted + 45 make 3 pages (25, 25, 5)
    assert per_page == 25
    for i in range(45):
        make_employee(company, birth_name=f"Zeta{i:03d}", first_names="Eve")
    db.session.commit()
    path = "/entreprises/00010/cotisation"
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'data-testid="headcount">55<', html)  # the whole company, not the page
    assert html.count('data-label="Correction"') == 25 and "Page 1 sur 3" in html
    assert 'name="exit_date"' not in html and html.count('name="csrf_token"') <= 3  # hire, confirm, logout
    assert f'href="{path}?page=2"' in html
    second = client.get(f"{path}?page=3", headers={**HX, "HX-Target": "div#declaration"})
    fragment = second.get_data(as_text=True)
    assert second.status_code == 200 and "<h1" not in fragment and "Page 3 sur 3" in fragment
    assert fragment.count('data-label="Correction"') == 5 and "ZETA044 Eve" in fragment
    beyond = client.get(f"{path}?page=9").get_data(as_text=True)  # past the last page: the last one
    assert "Page 3 sur 3" in beyond and beyond.count('data-label="Correction"') == 5

    last = db.session.execute(select(Employee).where(Employee.birth_name == "Zeta044")).scalar_one()
    fix_path = f"{path}/salaries/{last.id}?page=3"
    assert f'href="{fix_path}"' in fragment
    row = client.get(fix_path, headers={**HX, "HX-Target": f"td#corriger-{last.id}"})
    row_html = row.get_data(as_text=True)
    assert row.status_code == 200 and "<h1" not in row_html and 'hx-post="' in row_html
    assert 'name="page" value="3"' in row_html and len(row_html) < 4000
    page = client.get(fix_path).get_data(as_text=True)  # without JavaScript: a page of its own
    assert page.count("<h1") == 1 and "hx-post" not in page and "Retour à ma déclaration" in page
    token = csrf_token(client, path)
    bad = client.post(
        f"{path}/salaries/{last.id}/depart", data={"csrf_token": token, "exit_date": "2001-01-01", "page": "3"}
    )
    assert bad.status_code == 422 and bad.get_data(as_text=True).count("<h1") == 1
    bad_hx = client.post(
        f"{path}/salaries/{last.id}/depart",
        data={"csrf_token": token, "exit_date": "2001-01-01", "page": "3"},
        headers=HX,
    )
    bad_html = bad_hx.get_data(as_text=True)
    assert bad_hx.status_code == 422 and "Page 3 sur 3" in bad_html
    assert f'id="sortie-{last.id}"' in bad_html and 'aria-invalid="true"' in bad_html
    ok = client.post(
        f"{path}/salaries/{last.id}/depart",
        data={"csrf_token": token, "exit_date": f"{billing.today().year - 1}-12-15", "page": "3"},
    )
    assert ok.status_code == 303 and ok.headers["Location"].endswith(f"{path}?page=3")
    assert re.search(r'data-testid="headcount">54<', client.get(path).get_data(as_text=True))


def test_billing_blank_hire_fields_are_the_fields_of_an_empty_form(app):
    """The add-a-hire fields rendered once per process are exactly what the template renders
    for an empty form; a form with errors is rendered each time, with its errors."""
    from flask import render_template

    from blueprints.billing.forms import HireForm
    from blueprints.billing.routes import blank_hire_fields

    with app.test_request_context("/"):
        fresh = render_template("billing/_hire_fields.html", hire_form=HireForm(formdata=None, meta={"csrf": False}))
        assert str(blank_hire_fields()) == fresh
        assert blank_hire_fields() is blank_hire_fields() or app.jinja_env.auto_reload
        assert 'id="birth_name"' in fresh and "aria-invalid" not in fresh and "csrf_token" not in fresh


def test_billing_blank_confirm_fields_are_the_fields_of_an_empty_form(app, client, setup):
    """The attestation box rendered once per process is the one of an empty form; a refused
    confirmation renders its error, and the page posts the request's CSRF token."""
    from flask import render_template

    from blueprints.billing.forms import ConfirmForm
    from blueprints.billing.routes import blank_confirm_fields

    with app.test_request_context("/"):
        fresh = render_template(
            "billing/_confirm_fields.html", confirm_form=ConfirmForm(formdata=None, meta={"csrf": False})
        )
        assert str(blank_confirm_fields()) == fresh
        assert 'id="attest"' in fresh and "field--error" not in fresh and "csrf_token" not in fresh
    path = "/entreprises/00010/cotisation"
    token = csrf_token(client, path)
    refused = client.post(f"{path}/confirmer", data={"csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Cochez la case" in html and "field--error" in html
