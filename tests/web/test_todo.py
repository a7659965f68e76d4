"""The member home's "À faire": items by right, counts, links, a fixed number of queries."""

from datetime import UTC, datetime, timedelta

from extensions import db
from models.companies import ROLE_ACCOUNTANT
from models.planning import AppointmentRequest
from services.companies import todo
from tests.conftest import count_queries, login
from tests.factories import make_company, make_employee, make_member, make_slot, make_tariff, make_visit


def _home(client, code="00010") -> str:
    response = client.get(f"/entreprises/{code}/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_todo_lists_each_item_with_count_and_link(client):
    company = make_company("00010")
    late = make_employee(company, birth_name="Retard")  # hired in 2024, VIP never done
    make_employee(company, birth_name="Sir", risks=["amiante"], category="SIR")
    proposed = make_visit(late, make_slot(), status="proposee")
    other = make_employee(company, birth_name="Demande")
    db.session.add(
        AppointmentRequest(
            company_id=company.id,
            employee_id=other.id,
            reason="a_la_demande",
            status="refusee",
            answered_at=datetime.now(UTC) - timedelta(days=2),
        )
    )
    make_tariff()
    user = make_member(company)
    db.session.commit()
    login(client, user)
    html = _home(client)
    assert 'aria-labelledby="a-faire"' in html
    # `late` has a proposed visit: only the two others are counted.
    assert "2 visites en retard" in html and "/entreprises/00010/salaries/?a_prevoir=1&amp;tri=visite" in html
    assert "1 rendez-vous proposé à confirmer" in html and 'href="/entreprises/00010/planning/"' in html
    assert "1 demande de rendez-vous traitée par le service" in html
    assert "Déclaration annuelle des effectifs à faire" in html and 'href="/entreprises/00010/cotisation"' in html
    assert proposed.status == "proposee"


def test_todo_follows_the_role(client):
    company = make_company("00010")
    late = make_employee(company)
    make_visit(late, make_slot(), status="proposee")
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    html = _home(client)
    assert "visite en retard" not in html  # the proposed visit is planned: not late
    assert "à confirmer" not in html  # no planning right


def test_todo_nothing_to_do(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    assert "Rien à faire pour le moment" in _home(client)


def test_todo_fixed_number_of_queries(client):
    company = make_company("00010")
    make_tariff()
    user = make_member(company)
    make_employee(company)
    db.session.commit()
    login(client, user)
    _home(client)
    with count_queries() as few:
        _home(client)
    for index in range(30):
        employee = make_employee(company, birth_name=f"Salarie{index}")
        if index % 3 == 0:
            make_visit(employee, make_slot(), status="proposee")
    db.session.commit()
    with count_queries() as many:
        _home(client)
    assert len(many) == len(few)


def test_todo_visits_due_counts_from_the_rules():
    from datetime import date

    company = make_company("00010")
    make_employee(company, entry_date=date(2026, 10, 5))  # VIP due 05/01/2027: not this month
    make_employee(company, entry_date=date(2026, 9, 20))  # VIP due 20/12/2026: this month
    make_employee(company, entry_date=date(2026, 8, 1))  # VIP due 01/11/2026: late
    make_employee(company, entry_date=date(2026, 8, 1), exit_date=date(2026, 9, 1))  # gone
    db.session.commit()
    assert todo.visits_due_counts([company.id], date(2026, 12, 4)) == (1, 1)


def test_booking_preselects_the_employee_of_the_company_only(client):
    company = make_company("00010")
    mine = make_employee(company, birth_name="Lemeur", first_names="Erwan")
    make_employee(company, birth_name="Abalain")
    theirs = make_employee(make_company("00020"), birth_name="Etranger")
    slot = make_slot()
    user = make_member(company)
    db.session.commit()
    login(client, user)
    slots = client.get(f"/entreprises/00010/planning/creneaux?salarie={mine.id}").get_data(as_text=True)
    assert "Rendez-vous pour <strong>LEMEUR Erwan</strong>" in slots
    assert f"/creneaux/{slot.id}/reserver?salarie={mine.id}" in slots
    book = client.get(f"/entreprises/00010/planning/creneaux/{slot.id}/reserver?salarie={mine.id}")
    assert f'<option selected value="{mine.id}">' in book.get_data(as_text=True)
    foreign = client.get(f"/entreprises/00010/planning/creneaux?salarie={theirs.id}").get_data(as_text=True)
    assert "ETRANGER" not in foreign and "reserver?salarie" not in foreign


def test_employee_page_offers_booking_only_when_due_and_allowed(client):
    company = make_company("00010")
    due = make_employee(company)
    planned = make_employee(company)
    make_visit(planned, make_slot())
    employer = make_member(company)
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, employer)
    assert "Prendre rendez-vous" in client.get(f"/entreprises/00010/salaries/{due.id}").get_data(as_text=True)
    assert "Prendre rendez-vous" not in client.get(f"/entreprises/00010/salaries/{planned.id}").get_data(as_text=True)
    login(client, accountant)
    assert "Prendre rendez-vous" not in client.get(f"/entreprises/00010/salaries/{due.id}").get_data(as_text=True)
