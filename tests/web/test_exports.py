"""CSV exports for the business software: documented columns, rows, admins only, audited."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from services import billing
from services.core.database import write_intent
from tests.factories import make_declaration_company, make_employee, make_member, make_tariff, make_visit
from tests.web.service_helpers import staff_logged_in


def _rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_exports_page_documents_every_column(client):
    staff_logged_in(client, role="admin")
    html = client.get("/service/exports").text
    for label in ("Adhérents et sites", "Salariés", "Visites", "Factures et avoirs", "Paiements"):
        assert label in html
    assert "<code>prochaine_visite</code>" in html and "<code>reste_du</code>" in html


def test_each_export_has_its_header_and_rows_and_is_audited(client):
    staff_logged_in(client, role="admin")
    company = make_declaration_company("00010", name="=Boulangerie")
    make_tariff()
    employer = make_member(company)
    employee = make_employee(company, birth_name="Martin", first_names="Julie", entry_date=date(2024, 1, 8))
    make_visit(employee)
    db.session.commit()
    with write_intent():
        billing.confirm_declaration(company, billing.tariff_for_year(billing.today().year), employer, attested=True)
        db.session.commit()

    members = _rows(client.get("/service/exports/adherents.csv"))
    assert members[0][:3] == ["code_adherent", "code_membre", "raison_sociale"]
    assert members[1][0] == "00010" and members[1][2] == "'=Boulangerie"  # neutralised
    employees = _rows(client.get("/service/exports/salaries.csv"))
    header = employees[0]
    row = next(dict(zip(header, r, strict=True)) for r in employees[1:] if r[2] == "Martin")
    assert row["nom_naissance"] == "Martin" and row["date_entree"] == "2024-01-08"
    assert row["type_prochaine_visite"] == "vip_embauche" and row["article"] == "R4624-10"
    assert "nir" not in ";".join(header).lower()
    visits = _rows(client.get("/service/exports/visites.csv"))
    assert len(visits) == 2 and visits[1][4] == "vip_embauche" and visits[1][5] == "confirmee"
    assert visits[1][2] == str(employee.id)
    invoices = _rows(client.get("/service/exports/factures.csv"))
    invoice = dict(zip(invoices[0], invoices[1], strict=True))
    assert invoice["code_adherent"] == "00010" and invoice["paye"] == "0.00"
    assert invoice["reste_du"] == invoice["total_ttc"]
    assert _rows(client.get("/service/exports/paiements.csv")) == [
        ["numero_facture", "code_adherent", "date_paiement", "montant", "moyen", "reference"]
    ]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "service.exported")) == 5
    assert client.get("/service/exports/inconnu.csv").status_code == 404


def test_agents_cannot_export(client):
    staff_logged_in(client, role="agent")
    assert client.get("/service/exports").status_code == 403
    assert client.get("/service/exports/salaries.csv").status_code == 403
