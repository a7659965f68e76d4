"""A member, whole, for the staff: register with categories and due visits, coordinates with
history, users' access, radiation and reinstatement; fixed queries; staff only."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.companies import ROLE_ACCOUNTANT, Company, Membership
from models.outbox import OutboxMessage
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_employee, make_member
from tests.web.service_helpers import staff_logged_in

TODAY = date.today()


def _member():
    company = make_company("00010", name="Boulangerie Le Goff", address="1 rue du Port", city="Saint-Brieuc")
    make_company("00010-2", parent=company, name="Boulangerie Le Goff", city="Paimpol")
    employer = make_member(company, email="claire@goff.test")
    make_employee(
        company, birth_name="Kerleau", first_names="Yann", risks=["amiante"], category="SIR", entry_date=TODAY
    )
    make_employee(
        company,
        birth_name="Martin",
        first_names="Julie",
        night_work=True,
        category="SIA",
        entry_date=TODAY - timedelta(days=400),
    )
    db.session.commit()
    return company, employer


def test_the_register_shows_each_category_its_reasons_and_the_due_visit(client):
    staff_logged_in(client)
    _member()
    html = client.get("/service/adherents/00010").text
    assert "Registre du personnel" in html and "2 salariés" in html
    assert "Le poste expose à l&#39;amiante (article R4624-23 du Code du travail)." in html
    assert "Le salarié travaille de nuit (article R4624-17)." in html
    assert f"Examen médical d&#39;aptitude (SIR) – {TODAY:%d/%m/%Y} (R4624-24)" in html
    assert "En retard" in html  # Martin's VIP before assignment (night work) was due at entry


def test_the_member_page_runs_a_fixed_number_of_queries(client):
    staff_logged_in(client)
    company, _ = _member()
    client.get("/service/adherents/00010")
    with count_queries() as few:
        assert client.get("/service/adherents/00010").status_code == 200
    for i in range(40):
        make_employee(company, birth_name=f"Nom{i:02d}")
        make_member(company, email=f"u{i}@goff.test", role=ROLE_ACCOUNTANT)
    db.session.commit()
    with count_queries() as many:
        html = client.get("/service/adherents/00010").text
    assert len(many) == len(few)
    assert "Page 1 sur 2" in html
    assert "Page 2 sur 2" in client.get("/service/adherents/00010?page=2").text


def test_editing_the_address_keeps_the_history_and_bad_input_is_refused(client):
    staff = staff_logged_in(client)
    _member()
    token = csrf_token(client, "/service/adherents/00010/coordonnees")
    page = client.get("/service/adherents/00010/coordonnees").text
    assert 'value="1 rue du Port"' in page
    form = {
        "csrf_token": token,
        "name": "Boulangerie Le Goff",
        "address": "8 quai Armez",
        "postal_code": "22000",
        "city": "Saint-Brieuc",
        "adhesion_date": "2019-03-01",
    }
    response = client.post("/service/adherents/00010/coordonnees", data={**form, "postal_code": "22"})
    assert response.status_code == 422 and "Le code postal compte 5 chiffres." in response.text
    assert 'value="8 quai Armez"' in response.text  # the input is kept
    assert db.session.scalar(select(Company.address).where(Company.code == "00010")) == "1 rue du Port"
    response = client.post("/service/adherents/00010/coordonnees", data={**form, "siret": "12345678901234"})
    assert response.status_code == 422 and "Le SIRET n&#39;est pas valide" in response.text
    response = client.post("/service/adherents/00010/coordonnees", data={**form, "name": " "})
    assert response.status_code == 422 and "Ce champ est obligatoire." in response.text

    response = client.post("/service/adherents/00010/coordonnees", data=form)
    assert response.status_code == 303
    company = db.session.scalar(select(Company).where(Company.code == "00010"))
    assert (company.address, company.adhesion_date) == ("8 quai Armez", date(2019, 3, 1))
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.updated"))
    assert event.actor_id == staff.id and event.details["changes"]["address"] == ["1 rue du Port", "8 quai Armez"]
    html = client.get("/service/adherents/00010").text
    assert "Adresse « 1 rue du Port » → « 8 quai Armez »" in html
    assert "Date d&#39;adhésion « — » → « 2019-03-01 »" in html
    assert "<dd>01/03/2019</dd>" in html


def test_users_access_revoke_make_administrator_and_resend(client):
    staff_logged_in(client)
    company, employer = _member()
    accountant = make_member(company, role=ROLE_ACCOUNTANT, email="cabinet@compta.test")
    db.session.commit()
    token = csrf_token(client, "/service/adherents/00010")
    own = db.session.scalar(select(Membership).where(Membership.user_id == accountant.id))
    boss = db.session.scalar(select(Membership).where(Membership.user_id == employer.id))

    response = client.post(f"/service/adherents/00010/utilisateurs/{boss.id}/revoquer", data={"csrf_token": token})
    assert response.status_code == 409  # the last employer stays
    response = client.post(f"/service/adherents/00010/utilisateurs/{own.id}/acces", data={"csrf_token": token})
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    response = client.post(f"/service/adherents/00010/utilisateurs/{own.id}/administrateur", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.refresh(own)
    assert own.role == "employeur"
    response = client.post(f"/service/adherents/00010/utilisateurs/{boss.id}/revoquer", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.refresh(boss)
    assert boss.revoked_at is not None
    other = make_company("00020")
    stranger = make_member(other)
    db.session.commit()
    alien = db.session.scalar(select(Membership).where(Membership.user_id == stranger.id))
    response = client.post(f"/service/adherents/00010/utilisateurs/{alien.id}/revoquer", data={"csrf_token": token})
    assert response.status_code == 404


def test_radiation_locks_the_members_users_out_and_reinstatement_lets_them_back(client):
    staff_logged_in(client)
    company, employer = _member()
    token = csrf_token(client, "/service/adherents/00010")
    response = client.post(
        "/service/adherents/00010/radiation", data={"csrf_token": token, "radiation_date": "", "radiation_reason": "x"}
    )
    assert response.status_code == 422 and "Saisissez la date de radiation" in response.text
    response = client.post(
        "/service/adherents/00010/radiation",
        data={"csrf_token": token, "radiation_date": TODAY.isoformat(), "radiation_reason": ""},
    )
    assert response.status_code == 422 and "Indiquez le motif de la radiation." in response.text
    response = client.post(
        "/service/adherents/00010/radiation",
        data={"csrf_token": token, "radiation_date": TODAY.isoformat(), "radiation_reason": "Cessation d'activité"},
    )
    assert response.status_code == 303
    rows = {c.code: (c.active, c.radiation_date) for c in db.session.scalars(select(Company))}
    assert rows == {"00010": (False, TODAY), "00010-2": (False, TODAY)}
    assert "Adhérent radié le" in client.get("/service/adherents/00010").text
    assert "Réintégrer l'adhérent" in client.get("/service/adherents/00010").text

    login(client, employer)
    assert client.get("/entreprises/00010/").status_code in (403, 404)
    assert client.get("/entreprises/00010-2/").status_code in (403, 404)

    staff_logged_in(client, email="agent2@aist22.test")
    response = client.post(
        "/service/adherents/00010/reintegration",
        data={"csrf_token": csrf_token(client, "/service/adherents/00010"), "reinstate_date": TODAY.isoformat()},
    )
    assert response.status_code == 303
    assert db.session.scalar(select(Company.active).where(Company.code == "00010")) is True
    login(client, employer)
    assert client.get("/entreprises/00010/").status_code == 200


def test_only_staff_act_on_a_member(client):
    company, employer = _member()
    login(client, employer)
    token = csrf_token(client, "/entreprises/00010/")
    response = client.post(
        "/service/adherents/00010/radiation",
        data={"csrf_token": token, "radiation_date": TODAY.isoformat(), "radiation_reason": "x"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(Company.active).where(Company.code == "00010")) is True
