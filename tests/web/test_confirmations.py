"""Confirmation before destructive actions: a GET shows the question and writes nothing (a page,
or a fragment for htmx); the POST acts. Cancel a visit, remove an access (departure: see
test_employees.test_employees_departure_and_cancel)."""

from sqlalchemy import select

from extensions import db
from models import Membership
from models.companies import ROLE_ACCOUNTANT
from models.planning import Visit
from tests.conftest import login
from tests.factories import make_company, make_employee, make_member, make_membership, make_slot, make_user, make_visit

HX = {"HX-Request": "true"}


def test_cancel_visit_asks_first(client):
    company = make_company("00010")
    employee = make_employee(company, birth_name="Le Goff", first_names="Anne")
    visit = make_visit(employee, make_slot())
    user = make_member(company)
    db.session.commit()
    login(client, user)
    listing = client.get("/entreprises/00010/planning/").get_data(as_text=True)
    assert f'href="/entreprises/00010/planning/visites/{visit.id}/annuler"' in listing
    page = client.get(f"/entreprises/00010/planning/visites/{visit.id}/annuler")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Annuler le rendez-vous</h1>" in html
    assert "Annuler le rendez-vous de LE GOFF Anne ?" in html and "Oui, annuler le rendez-vous" in html
    fragment = client.get(f"/entreprises/00010/planning/visites/{visit.id}/annuler", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True) and "Oui, annuler" in fragment.get_data(as_text=True)
    assert db.session.scalar(select(Visit.status)) == "confirmee"
    other = make_member(make_company("00020"))
    db.session.commit()
    login(client, other)
    assert client.get(f"/entreprises/00010/planning/visites/{visit.id}/annuler").status_code == 404


def test_remove_access_asks_first(client):
    company = make_company("00010")
    boss = make_member(company)
    accountant = make_user(first_name="Cabinet", last_name="Compta")

    membership = make_membership(accountant, company, ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, boss)
    page = client.get(f"/entreprises/00010/utilisateurs/{membership.id}/retirer")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Retirer l&#39;accès de Cabinet Compta ?" in html
    assert db.session.scalar(select(Membership.revoked_at).where(Membership.id == membership.id)) is None
    login(client, accountant)
    assert client.get(f"/entreprises/00010/utilisateurs/{membership.id}/retirer").status_code == 403
