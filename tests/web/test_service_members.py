"""Back office on members: dashboard, search (fixed query count), member page, sites, the
n° télédéclarant letter."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.companies import ROLE_ACCOUNTANT, Company
from services.auth.company_credentials import CompanyCredentialError, verify_company_credentials
from services.staff import dashboard as staff_dashboard
from tests.conftest import count_queries, csrf_token
from tests.factories import make_company, make_employee, make_member
from tests.web.service_helpers import staff_logged_in


def test_service_dashboard_counts_link_to_lists(client, app):
    staff_logged_in(client)
    html = client.get("/service/").get_data(as_text=True)
    assert "Demandes de rendez-vous en attente" in html
    assert "Visites proposées non confirmées" in html
    assert "Messages de contact nouveaux" in html  # models.support.ContactMessage (feat/account)


def test_service_dashboard_renders_registered_providers(client, app):
    key = "test.invoices"

    def overdue():
        return staff_dashboard.DashboardItem("overdue", "Factures en retard", 4, endpoint="service.members")

    staff_dashboard.register(overdue, key=key)
    try:
        staff_logged_in(client)
        html = client.get("/service/").get_data(as_text=True)
        assert "Factures en retard" in html and 'href="/service/adherents"' in html
    finally:
        staff_dashboard._DASHBOARD.pop(key)


def test_service_member_search_by_code_name_siret_town(client):
    make_company("00010", name="Boulangerie Le Goff", city="Paimpol", siret="73282932000074")
    make_company("00020", name="Garage Morvan", city="Dinan", siret="35600000000048")
    staff_logged_in(client)
    for query, expected, absent in (
        ("00010", "Boulangerie Le Goff", "Garage Morvan"),
        ("goff", "Boulangerie Le Goff", "Garage Morvan"),
        ("356 000 000", "Garage Morvan", "Boulangerie Le Goff"),
        ("dinan", "Garage Morvan", "Boulangerie Le Goff"),
    ):
        html = client.get("/service/adherents", query_string={"q": query}).get_data(as_text=True)
        assert expected in html and absent not in html, query
    fragment = client.get("/service/adherents?q=goff", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Boulangerie Le Goff" in fragment
    odd = client.get("/service/adherents", query_string={"q": "%_\\' OR 1=1 --\x00" + "é" * 500})
    assert odd.status_code == 200


def test_service_member_search_runs_a_fixed_number_of_queries(client):
    staff_logged_in(client)
    make_company("00001")
    db.session.commit()
    with count_queries() as few:
        assert client.get("/service/adherents?q=0").status_code == 200
    for i in range(2, 40):
        make_company(f"{i:05d}")
    db.session.commit()
    with count_queries() as many:
        html = client.get("/service/adherents?q=0").get_data(as_text=True)
    assert len(many) == len(few)
    assert "Page 1 sur 2" in html
    assert "00039" in client.get("/service/adherents?q=0&page=2").get_data(as_text=True)


def test_service_member_page_shows_sites_users_roles_and_employees(client):
    company = make_company("00010", name="Boulangerie Le Goff")
    make_company("00010-2", parent=company, city="Paimpol")
    make_member(company, email="claire@goff.test")
    make_member(company, role=ROLE_ACCOUNTANT, email="cabinet@compta.test")
    make_employee(company)
    make_employee(company, exit_date=date(2020, 1, 1))
    staff_logged_in(client)
    html = client.get("/service/adherents/00010").get_data(as_text=True)
    for text in (
        "00010 - Boulangerie Le Goff",
        "00010-2",
        "claire@goff.test",
        "Employeur",
        "cabinet@compta.test",
        "Tiers déclarant",
        "Générer un nouveau n° télédéclarant",
    ):
        assert text in html, text
    assert "<dt>Salariés présents</dt><dd>1</dd>" in html


def test_service_member_page_renders_section_providers(client):
    make_company("00010")

    def invoices(company):
        return staff_dashboard.MemberSection(
            "invoices", "Factures", [staff_dashboard.SectionRow(f"Facture de {company.code}", "120,00 €")]
        )

    staff_dashboard.register_member_section(invoices, key="test.invoices")
    try:
        staff_logged_in(client)
        html = client.get("/service/adherents/00010").get_data(as_text=True)
        assert "Facture de 00010" in html
    finally:
        staff_dashboard._MEMBER_SECTIONS.pop("test.invoices")


def test_service_site_creation_takes_next_free_number(client):
    parent = make_company("00010")
    make_company("00010-2", parent=parent)
    agent = staff_logged_in(client)
    token = csrf_token(client, "/service/adherents/00010")
    response = client.post(
        "/service/adherents/00010/sites",
        data={"csrf_token": token, "name": "Boulangerie Le Goff", "city": "Dinan", "siret": "732 829 320 00074"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/service/adherents/00010-3"
    site = db.session.execute(select(Company).where(Company.code == "00010-3")).scalar_one()
    assert site.parent_id == parent.id and site.siret == "73282932000074" and site.teledeclarant_hash is None
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "company.site_created")).scalar_one()
    assert event.actor_id == agent.id and event.company_id == site.id


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "city": "Dinan"}, "Ce champ est obligatoire."),
        ({"name": "Site", "city": "Dinan", "siret": "12345678901234"}, "pas valide (14 chiffres"),
        ({"name": "Site\r\nBcc: x@y", "city": "Dinan"}, "une seule ligne"),
        ({"name": "x" * 201, "city": "Dinan"}, "Nom du site"),
    ],
)
def test_service_site_creation_bad_input_answers_422(client, data, message):
    make_company("00010")
    staff_logged_in(client)
    token = csrf_token(client, "/service/adherents/00010")
    response = client.post("/service/adherents/00010/sites", data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(Company).where(Company.parent_id.is_not(None))).first() is None


def test_service_site_of_a_site_is_refused(client):
    parent = make_company("00010")
    make_company("00010-2", parent=parent)
    staff_logged_in(client)
    token = csrf_token(client, "/service/adherents/00010")
    response = client.post("/service/adherents/00010-2/sites", data={"csrf_token": token, "name": "X", "city": "Y"})
    assert response.status_code == 404


def test_service_teledeclarant_letter_replaces_the_number(client, monkeypatch):
    make_company("00010", teledeclarant="OLD1-OLD2-OLD3", name="Boulangerie Le Goff")
    agent = staff_logged_in(client)
    monkeypatch.setattr("services.staff.team_and_members.generate_teledeclarant", lambda: "NEWA-NEWB-NEWC")
    token = csrf_token(client, "/service/adherents/00010")
    refused = client.post("/service/adherents/00010/teledeclarant", data={"csrf_token": token})
    assert refused.status_code == 422 and "Cochez la case" in refused.get_data(as_text=True)
    response = client.post("/service/adherents/00010/teledeclarant", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == 'attachment; filename="courrier-teledeclarant-00010.pdf"'
    db.session.expire_all()
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    assert "NEWA" not in (company.teledeclarant_hash or "")
    with pytest.raises(CompanyCredentialError):
        verify_company_credentials("00010", "OLD1-OLD2-OLD3", ip="10.0.0.1")
    assert verify_company_credentials("00010", "newa newb newc", ip="10.0.0.1").id == company.id
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "company.teledeclarant_renewed")
    ).scalars()
    event = events.one()
    assert event.actor_id == agent.id and "NEWA" not in str(event.details)
    assert "NEWA" not in client.get("/service/adherents/00010").get_data(as_text=True)


def test_service_teledeclarant_letter_for_a_new_site(client):
    parent = make_company("00010")
    make_company("00010-2", parent=parent, teledeclarant=None)
    staff_logged_in(client)
    token = csrf_token(client, "/service/adherents/00010-2")
    response = client.post("/service/adherents/00010-2/teledeclarant", data={"csrf_token": token, "confirm": "y"})
    assert response.data.startswith(b"%PDF")
    db.session.expire_all()
    assert db.session.execute(select(Company.teledeclarant_hash).where(Company.code == "00010-2")).scalar_one()


def test_service_unknown_member_routes_answer_404(client):
    staff_logged_in(client)
    token = csrf_token(client, "/service/")
    assert client.get("/service/adherents/00099").status_code == 404
    assert client.post("/service/adherents/00099/sites", data={"csrf_token": token}).status_code == 404
    assert client.post("/service/adherents/00099/teledeclarant", data={"csrf_token": token}).status_code == 404
