"""Issue 20's papercuts: French messages and words, what each role's home promises, a hire's
history."""

import io

from sqlalchemy import select

from extensions import db
from models import EmployeeChange
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_member

BASE = "/entreprises/00010/salaries"
HEADER = (
    "nom_naissance;nom_usage;prenoms;sexe;date_naissance;nir;date_entree;nature_contrat;apprenti;poste;pcs_ese;"
    "risques;autre_risque_justification;travail_nuit;rqth\r\n"
)


def test_csv_import_errors_are_in_french(client):
    company = make_company("00010")
    login(client, make_member(company))
    db.session.commit()
    bad = HEADER + "MARTIN;;Paul;X;17/05/1990;;08/01/2024;99;non;Boulanger;;;;non;non\r\n"
    token = csrf_token(client, f"{BASE}/import")
    response = client.post(
        f"{BASE}/import",
        data={"csrf_token": token, "file": (io.BytesIO(bad.encode()), "liste.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid" not in html and "choix valide" in html


def test_accountant_home_promises_no_appointment_requests(client):
    company = make_company("00010")
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    employer = make_member(company)
    db.session.commit()
    login(client, accountant)
    html = client.get("/entreprises/00010/").get_data(as_text=True)
    assert "demandes de rendez-vous" not in html and "importer la DSN du mois" in html
    login(client, employer)
    assert "effectuer vos demandes de rendez-vous" in client.get("/entreprises/00010/").get_data(as_text=True)


def test_hire_history_has_no_default_old_values(client):
    company = make_company("00010")
    login(client, make_member(company))
    db.session.commit()
    token = csrf_token(client, f"{BASE}/nouveau")
    data = {
        "csrf_token": token,
        "birth_name": "Le Bihan",
        "first_names": "Anne",
        "sex": "F",
        "birth_date": "1995-10-03",
        "entry_date": "2026-01-05",
        "contract_nature": "02",
        "job_title": "Vendeuse",
    }
    assert client.post(f"{BASE}/nouveau", data=data).status_code == 303
    change = db.session.scalars(select(EmployeeChange)).one()
    assert change.changes["contract_nature"] == [None, "02"]
    html = client.get(f"{BASE}/historique").get_data(as_text=True)
    assert "Nature du contrat :\n        CDD" in html or "Nature du contrat : CDD" in " ".join(html.split())
    assert "CDI → CDD" not in html


def test_employee_list_sorts_names_without_case_or_accents(client):
    from tests.factories import make_employee

    company = make_company("00010")
    for name in ("GUILLOU", "Guéguen", "de Kerros", "Dupont", "ÉLIÈS", "Eon"):
        make_employee(company, birth_name=name, first_names="Anne")
    login(client, make_member(company))
    db.session.commit()
    html = client.get(f"{BASE}/").get_data(as_text=True)
    order = [html.find(f">{name} Anne<") for name in ("DE KERROS", "DUPONT", "ÉLIÈS", "EON", "GUÉGUEN", "GUILLOU")]
    assert -1 not in order and order == sorted(order)


def test_duplicate_in_a_sibling_site_is_warned(client):
    from datetime import date

    from tests.factories import make_employee

    member = make_company("00010", name="Boulangerie Le Goff")
    paimpol = make_company("00010-2", name="Boulangerie Le Goff", city="Paimpol", parent=member)
    dinan = make_company("00010-5", name="Boulangerie Le Goff", city="Dinan", parent=member)
    make_employee(dinan, birth_name="Le Bihan", first_names="Anne", birth_date=date(1995, 10, 3))
    login(client, make_member(paimpol))
    db.session.commit()
    data = {
        "csrf_token": csrf_token(client, "/entreprises/00010-2/salaries/nouveau"),
        "birth_name": "LE BIHAN",
        "first_names": "anne",
        "sex": "F",
        "birth_date": "1995-10-03",
        "entry_date": "2026-01-05",
        "contract_nature": "01",
        "job_title": "Vendeuse",
    }
    response = client.post("/entreprises/00010-2/salaries/nouveau", data=data)
    html = response.get_data(as_text=True)
    assert "Ce salarié est peut-être déjà déclaré" in html
    assert "(établissement 00010-5 - Boulangerie Le Goff (Dinan))" in html
    assert '/entreprises/00010-2/salaries/1"' not in html  # no link into a site this user cannot open
    data["confirm_duplicate"] = "y"
    assert client.post("/entreprises/00010-2/salaries/nouveau", data=data).status_code == 303


def test_export_then_reimport_updates_instead_of_duplicate_errors(client):
    from models import Employee
    from tests.factories import make_employee

    member = make_company("00010")
    site = make_company("00010-2", parent=member, city="Paimpol")
    make_employee(member, birth_name="DURAND", first_names="Louis", job_title="Technicien")
    make_employee(site, birth_name="LE GOFF", first_names="Yann", job_title="Vendeur")
    login(client, make_member(member))
    db.session.commit()
    exported = client.get(f"{BASE}/export.csv").get_data().decode("utf-8")
    header = exported.splitlines()[0].lstrip("\ufeff").split(";")
    assert header[:15] == HEADER.strip().split(";")  # the import's columns, in its order

    def reimport(text):
        token = csrf_token(client, f"{BASE}/import")
        return client.post(
            f"{BASE}/import",
            data={"csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), "salaries.csv")},
            content_type="multipart/form-data",
        )

    same = reimport(exported)
    assert same.status_code == 303
    assert "0 salarié(s) importé(s), 0 mis à jour, 2 inchangé(s)." in client.get(f"{BASE}/").get_data(as_text=True)
    edited = exported.replace(";Vendeur;", ";Responsable de rayon;") + (
        "KERMARREC;;Erwan;M;12/02/2006;;03/11/2026;02;oui;Apprenti;;;;non;non;00010-2;;;\r\n"
    )
    assert reimport(edited).status_code == 303
    people = {e.birth_name: e for e in db.session.scalars(select(Employee))}
    assert len(people) == 3 and people["LE GOFF"].job_title == "Responsable de rayon"
    assert people["KERMARREC"].company_id == site.id and people["LE GOFF"].company_id == site.id
    bad_site = reimport(exported.replace(";00010-2;", ";99999;"))
    assert (
        bad_site.status_code == 422
        and "n&#39;est ni l&#39;entreprise ni l&#39;un de ses sites" in bad_site.get_data(as_text=True)
    )
