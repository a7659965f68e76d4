"""Mes salariés over HTTP: declaration, validation, edit, departure, history, access, queries, NIR."""

from datetime import date

import pytest
from flask import url_for
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Employee, EmployeeChange
from models.companies import ROLE_ACCOUNTANT
from services.core import crypto
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_employee, make_member

NIR = "295109912611193"
BASE = "/entreprises/00010/salaries"


@pytest.fixture
def company():
    return make_company("00010", name="Boulangerie Le Goff")


@pytest.fixture
def employer(client, company):
    user = make_member(company)
    db.session.commit()
    login(client, user)
    return user


def declaration(**overrides):
    data = {
        "birth_name": "Le Bihan",
        "usage_name": "",
        "first_names": "Anne",
        "sex": "F",
        "birth_date": "1995-10-03",
        "nir": "2 95 10 99 126 111 93",
        "entry_date": "2026-01-05",
        "contract_nature": "01",
        "job_title": "Vendeuse",
        "pcs_ese": "554a",
        "other_risk_justification": "",
        "category": "",
    }
    data.update(overrides)
    return data


def post(client, path, data, page=None):
    data = {**data, "csrf_token": csrf_token(client, page or path)}
    return client.post(path, data=data)


def test_employees_declare_then_read(client, employer):
    response = post(client, f"{BASE}/nouveau", declaration(risks=["habilitation_electrique"], night_work="y"))
    assert response.status_code == 303, response.get_data(as_text=True)
    employee = db.session.execute(select(Employee)).scalar_one()
    assert employee.category == "SIR"
    assert employee.nir_hash == crypto.nir_hash(NIR)
    assert NIR not in employee.nir_encrypted and crypto.decrypt_nir(employee.nir_encrypted) == NIR
    change = db.session.execute(select(EmployeeChange)).scalar_one()
    assert change.kind == "embauche" and change.actor_role == "employeur"
    assert change.changes["nir"] == [None, "modifié"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "LE BIHAN Anne" in html and "2 95 10 ** *** *** 93" in html and NIR not in html
    assert "Suivi individuel renforcé (SIR), car le poste expose à une habilitation électrique." in html
    assert "Examen médical d&#39;aptitude" in html and "avant l&#39;affectation" in html
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "employee.created")).scalar_one()
    assert NIR not in str(audit.details)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"birth_name": ""}, "birth_name", "Indiquez le nom de naissance."),
        ({"birth_name": "A\nB"}, "birth_name", "Ce champ doit tenir sur une seule ligne"),
        ({"birth_name": "x" * 101}, "birth_name", "101"),
        ({"nir": "295109912611194"}, "nir", "clé"),
        ({"sex": "M"}, "nir", "sexe"),
        ({"birth_date": "1996-10-03"}, "nir", "année"),
        ({"pcs_ese": "55A4"}, "pcs_ese", "684a"),
        ({"birth_date": "pas une date"}, "birth_date", "date de naissance valide"),
        ({"category": "SI", "night_work": "y"}, "category", "contredit"),
        ({"category": "SIR"}, "category", "contredit"),
        ({"sex": ""}, "sex", "Indiquez le sexe."),
        ({"contract_nature": "99"}, "contract_nature", "N&#39;est pas un choix valide"),
    ],
)
def test_employees_invalid_declaration_is_422_and_writes_nothing(client, employer, overrides, field, message):
    response = post(client, f"{BASE}/nouveau", declaration(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html and f'id="{field}-erreur"' in html
    if message != "101":
        assert message in html
    assert 'value="Vendeuse"' in html  # input kept
    assert db.session.execute(select(Employee)).first() is None
    assert db.session.execute(select(EmployeeChange)).first() is None


def test_employees_invalid_declaration_fragment_is_the_form(client, employer):
    token = csrf_token(client, f"{BASE}/nouveau")
    response = client.post(
        f"{BASE}/nouveau", data={**declaration(birth_name=""), "csrf_token": token}, headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and 'id="formulaire-salarie"' in html


def test_employees_probable_duplicate_needs_confirmation(client, employer, company):
    make_employee(company, birth_name="Le Bihan", first_names="Anne", sex="F", birth_date=date(1995, 10, 3))
    response = post(client, f"{BASE}/nouveau", declaration(nir=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Ce salarié est peut-être déjà déclaré" in html
    assert db.session.execute(select(Employee).where(Employee.job_title == "Vendeuse")).first() is None
    response = post(client, f"{BASE}/nouveau", declaration(nir="", confirm_duplicate="y"))
    assert response.status_code == 303
    assert len(db.session.execute(select(Employee)).all()) == 2


def test_employees_duplicate_by_nir(client, employer, company):
    make_employee(company, birth_name="Autre", nir_hash=crypto.nir_hash(NIR))
    response = post(client, f"{BASE}/nouveau", declaration())
    assert "Ce salarié est peut-être déjà déclaré" in response.get_data(as_text=True)


def test_employees_edit_in_place_and_history(client, employer, company):
    employee = make_employee(company, job_title="Vendeuse")
    path = f"{BASE}/{employee.id}/modifier"
    form = client.get(path, headers={"HX-Request": "true"})
    assert form.status_code == 200 and 'id="fiche"' in form.get_data(as_text=True)
    assert "<html" not in form.get_data(as_text=True)
    data = {
        "birth_name": employee.birth_name,
        "first_names": "Louis",
        "sex": "M",
        "birth_date": "1990-05-17",
        "entry_date": "2024-01-08",
        "contract_nature": "01",
        "job_title": "Responsable de rayon",
        "csrf_token": csrf_token(client, f"{BASE}/{employee.id}"),
    }
    response = client.post(path, data=data, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Responsable de rayon" in html and 'id="fiche"' in html
    assert 'hx-swap-oob="true"' in html and "Vendeuse → Responsable de rayon" in html
    change = db.session.execute(select(EmployeeChange).where(EmployeeChange.kind == "modification")).scalar_one()
    assert change.changes == {"job_title": ["Vendeuse", "Responsable de rayon"]}
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "employee.updated")).scalar_one()


def test_employees_departure_and_cancel(client, employer, company):
    employee = make_employee(company)
    # First a confirmation step: nothing written yet.
    step = post(client, f"{BASE}/{employee.id}/depart", {"exit_date": "2026-03-31", "exit_reason": "demission"})
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and "Confirmer le départ de" in html and "31/03/2026" in html
    assert 'name="confirme" value="oui"' in html
    db.session.refresh(employee)
    assert employee.exit_date is None
    response = post(
        client,
        f"{BASE}/{employee.id}/depart",
        {"exit_date": "2026-03-31", "exit_reason": "demission", "confirme": "oui"},
    )
    assert response.status_code == 303
    db.session.refresh(employee)
    assert employee.exit_date == date(2026, 3, 31) and employee.exit_reason == "demission"
    bad = post(client, f"{BASE}/{employee.id}/depart", {"exit_date": "", "exit_reason": "zzz"}, page=f"{BASE}/")
    assert bad.status_code == 422
    response = post(client, f"{BASE}/{employee.id}/annuler-depart", {}, page=f"{BASE}/{employee.id}")
    assert response.status_code == 303
    db.session.refresh(employee)
    assert employee.exit_date is None
    kinds = db.session.execute(select(EmployeeChange.kind).order_by(EmployeeChange.id)).scalars().all()
    assert kinds == ["depart", "annulation_depart"]
    html = client.get(f"{BASE}/historique").get_data(as_text=True)
    assert "Déclaration de départ" in html and "Annulation du départ" in html and "Démission" in html
    filtered = client.get(f"{BASE}/historique?type=depart").get_data(as_text=True)
    assert "Annulation du départ</strong>" not in filtered
    actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert "employee.departure_declared" in actions and "employee.departure_cancelled" in actions


def test_employees_departure_before_entry_refused(client, employer, company):
    employee = make_employee(company, entry_date=date(2024, 1, 8))
    response = post(client, f"{BASE}/{employee.id}/depart", {"exit_date": "2023-01-01", "exit_reason": "demission"})
    assert response.status_code == 422 and "précéder" in response.get_data(as_text=True)


def test_employees_list_search_filters_and_count(client, employer, company):
    make_employee(company, birth_name="Martin", first_names="Paul", job_title="Boulanger")
    make_employee(
        company, birth_name="Nicolas", first_names="Jeanne", job_title="Vendeuse", category="SIA", night_work=True
    )
    make_employee(company, birth_name="Gone", first_names="Ex", exit_date=date(2020, 1, 1))
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "2 salariés" in html and "MARTIN Paul" in html and "GONE" not in html
    assert 'hx-trigger="input changed delay:300ms, search' in html and 'hx-push-url="true"' in html
    fragment = client.get(f"{BASE}/?q=boulan", headers={"HX-Request": "true", "HX-Target": "resultats"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "MARTIN Paul" in body and "NICOLAS" not in body and "1 salarié" in body
    assert "GONE Ex" in client.get(f"{BASE}/?statut=sortis").get_data(as_text=True)
    assert "NICOLAS" not in client.get(f"{BASE}/?categorie=SI").get_data(as_text=True)
    assert "NICOLAS Jeanne" in client.get(f"{BASE}/?tri=visite&a_prevoir=1").get_data(as_text=True)
    for odd in ("?q=%25_%00", "?page=abc", "?page=-3", "?tri=zzz&statut=x", "?q=" + "é" * 500):
        assert client.get(f"{BASE}/{odd}").status_code == 200


def test_employees_pagination(client, employer, company):
    """25 rows per page (docs/EMPLOYEES.md); a page past the end shows the last one."""
    for i in range(55):
        make_employee(company, birth_name=f"Nom{i:03d}")
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "55 salariés" in html and "Page 1 sur 3" in html and "NOM024" in html and "NOM025" not in html
    page2 = client.get(f"{BASE}/?page=2").get_data(as_text=True)
    assert "NOM025" in page2 and "NOM049" in page2 and "NOM050" not in page2 and "Page 2 sur 3" in page2
    last = client.get(f"{BASE}/?page=9", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "NOM054" in last and "Page 3 sur 3" in last and "55 salariés" in last
    searched = client.get(f"{BASE}/?q=nom0&page=2").get_data(as_text=True)  # NOM000-NOM054
    assert "55 salariés" in searched and "NOM025" in searched and "Page 2 sur 3" in searched


def test_employees_search_ignores_accents_and_case_and_follows_every_write(client, employer, company):
    """The search matches the folded `search_text` (no accents, lower case), kept by every write."""
    from services.employees import register as service

    employee = make_employee(company, birth_name="Lefèvre", first_names="Hélène", job_title="Pâtissière")
    make_employee(company, birth_name="Cœur", usage_name="Dupré", first_names="Zoé", job_title="Vendeuse")
    db.session.commit()
    assert employee.search_text == "lefevre helene patissiere"

    def found(q):
        return client.get(f"{BASE}/", query_string={"q": q}, headers={"HX-Request": "true"}).get_data(as_text=True)

    for q in ("HELENE", "hélène", "lefe", "Patiss", "lefevre helene", "COEUR", "dupre", "zoe vend"):
        assert "1 salarié " in found(q), q
    assert "Aucun salarié" in found("helene vendeuse")  # every word must match
    assert "Aucun salarié" in found("100%") and "Aucun salarié" in found("_")  # LIKE wildcards are text
    service.update_employee(employee, {"job_title": "Boulangère", "usage_name": "Martín"}, employer, "employeur")
    db.session.commit()
    assert employee.search_text == "lefevre martin helene boulangere"
    assert "1 salarié " in found("boulang") and "1 salarié " in found("martin") and "Aucun" in found("patiss")


@pytest.mark.parametrize("query", ["", "?q=nom", "?tri=visite", "?a_prevoir=1", "?tri=entree"])
def test_employees_list_runs_a_fixed_number_of_queries(client, employer, company, query):
    client.get(f"{BASE}/")  # the first visit also remembers the company as the last one used

    def run(n):
        for _ in range(n):
            make_employee(company)
        db.session.commit()
        with count_queries() as statements:
            client.get(f"{BASE}/{query}", headers={"HX-Request": "true"})
        return len(statements)

    assert run(2) == run(30)


def test_employees_site_filter_for_a_member_with_sites(client, employer, company):
    site = make_company("00010-2", parent=company, city="Dinan")
    dinannais = make_employee(site, birth_name="Dinannais")
    make_employee(company, birth_name="Briochin")
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "DINANNAIS" in html and "BRIOCHIN" in html and "00010-2 - " in html
    # The row of a site's employee names the site; so does the row answered alone (Annuler).
    assert html.count("<small>00010-2</small>") == 1
    row = client.get(f"{BASE}/{dinannais.id}/ligne/lecture", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "DINANNAIS" in row and "<small>00010-2</small>" in row
    html = client.get(f"{BASE}/?site=00010-2").get_data(as_text=True)
    assert "DINANNAIS" in html and "BRIOCHIN" not in html


def test_employees_nir_reveal_is_post_and_audited(client, employer, company):
    employee = make_employee(
        company,
        sex="F",
        birth_date=date(1995, 10, 3),
        nir_encrypted=crypto.encrypt_nir(NIR),
        nir_hash=crypto.nir_hash(NIR),
    )
    assert client.get(f"{BASE}/{employee.id}/nir").status_code == 405
    response = post(client, f"{BASE}/{employee.id}/nir", {}, page=f"{BASE}/{employee.id}")
    assert response.status_code == 200 and "2 95 10 99 126 111 93" in response.get_data(as_text=True)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "employee.nir_viewed")).scalar_one()
    assert event.target_id == employee.id and not event.details


def test_employees_nir_never_in_audit_or_logs(client, employer, caplog):
    caplog.set_level("DEBUG")
    post(client, f"{BASE}/nouveau", declaration())
    employee = db.session.execute(select(Employee)).scalar_one()
    post(client, f"{BASE}/{employee.id}/nir", {}, page=f"{BASE}/{employee.id}")
    for details in db.session.execute(select(AuditEvent.details)).scalars():
        assert NIR not in str(details)
    for change in db.session.execute(select(EmployeeChange.changes)).scalars():
        assert NIR not in str(change)
    assert NIR not in caplog.text and "99 126 111" not in caplog.text


def test_employees_tiers_declarant_can_do_everything(client, company):
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    assert post(client, f"{BASE}/nouveau", declaration()).status_code == 303
    employee = db.session.execute(select(Employee)).scalar_one()
    assert (
        post(
            client,
            f"{BASE}/{employee.id}/depart",
            {"exit_date": "2026-03-31", "exit_reason": "autre", "confirme": "oui"},
        ).status_code
        == 303
    )
    assert post(client, f"{BASE}/{employee.id}/annuler-depart", {}, page=f"{BASE}/").status_code == 303
    assert client.get(f"{BASE}/historique").status_code == 200
    assert client.get(f"{BASE}/export.csv").status_code == 200
    roles = set(db.session.execute(select(EmployeeChange.actor_role)).scalars())
    assert roles == {"tiers_declarant"}


def _employee_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("employees.")]


def test_employees_other_company_gets_404_on_every_route(app, client, company):
    theirs = make_employee(company)
    other = make_company("00020")
    intruder = make_member(other)
    db.session.commit()
    login(client, intruder)
    rules = _employee_rules(app)
    assert len(rules) >= 10
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        for rule in rules:
            for code in ("00010", "00020"):
                values = {"code": code}
                if "employee_id" in rule.arguments:
                    values["employee_id"] = theirs.id
                elif code == "00020":
                    continue  # routes without an id are the intruder's own
                with app.test_request_context():
                    path = url_for(rule.endpoint, **values)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = client.open(
                        path, method=method, data={"exit_date": "2026-01-01", "exit_reason": "autre"}
                    )
                    assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    db.session.refresh(theirs)
    assert theirs.exit_date is None


def test_employees_site_user_cannot_reach_parent_employees(client, company):
    site = make_company("00010-2", parent=company)
    theirs = make_employee(company)
    user = make_member(site)
    db.session.commit()
    login(client, user)
    assert client.get(f"/entreprises/00010-2/salaries/{theirs.id}").status_code == 404


def test_employees_staff_gets_404(client, company):
    from tests.factories import make_staff

    staff = make_staff()
    db.session.commit()
    login(client, staff)
    assert client.get(f"{BASE}/").status_code == 404


def test_employees_rubrique_on_member_home(client, employer):
    html = client.get("/entreprises/00010/").get_data(as_text=True)
    assert "Mes salariés" in html and "gérer les départs, déclarer un nouveau salarié" in html


# --------------------------------------------------------------------------- CSV


CSV_OK = (
    "nom_naissance;nom_usage;prenoms;sexe;date_naissance;nir;date_entree;nature_contrat;apprenti;poste;pcs_ese;"
    "risques;autre_risque_justification;travail_nuit;rqth\r\n"
    "DURAND;;Louis;M;17/05/1990;;08/01/2024;01;non;Technicien;684a;habilitation_electrique;;non;non\r\n"
    "LE BIHAN;;Anne;F;03/10/1995;295109912611193;05/01/2026;02;oui;Vendeuse;;;;oui;non\r\n"
)


def upload(client, content: bytes, name="liste.csv"):
    import io

    token = csrf_token(client, f"{BASE}/import")
    return client.post(
        f"{BASE}/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_employees_csv_template_download(client, employer):
    response = client.get(f"{BASE}/modele.csv")
    text = response.get_data().decode("utf-8")
    assert response.status_code == 200 and text.startswith("\ufeffnom_naissance;nom_usage;prenoms")


def test_employees_csv_import_applies_all_lines(client, employer):
    response = upload(client, ("\ufeff" + CSV_OK).encode())
    assert response.status_code == 303
    employees = db.session.execute(select(Employee).order_by(Employee.birth_name)).scalars().all()
    assert [(e.birth_name, e.category, e.apprentice) for e in employees] == [
        ("DURAND", "SIR", False),
        ("LE BIHAN", "SIA", True),
    ]
    assert employees[1].nir_hash == crypto.nir_hash(NIR)
    assert all(e.search_text.startswith(e.birth_name.lower()) for e in employees)  # the search finds them
    kinds = set(db.session.execute(select(EmployeeChange.kind)).scalars())
    assert kinds == {"import"}


def test_employees_csv_import_errors_write_nothing(client, employer):
    bad = CSV_OK + "MARTIN;;Paul;X;31/02/1990;;08/01/2024;01;non;;684;;;non;non\r\n"
    response = upload(client, bad.encode("cp1252"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ligne 4 : Sexe" in html and "Ligne 4 : Date de naissance" in html and "Ligne 4 : Poste" in html
    assert db.session.execute(select(Employee)).first() is None
    for odd in (b"", b"\x00\x01binary", b"a;b\r\n1;2\r\n", b"nom_naissance\r\n"):
        assert upload(client, odd).status_code == 422


def test_employees_csv_export_streams_with_bom(client, employer, company):
    make_employee(
        company, birth_name="=HYPERLINK", first_names="Zoé", job_title="Vendeuse", nir_encrypted=crypto.encrypt_nir(NIR)
    )
    response = client.get(f"{BASE}/export.csv")
    assert response.is_streamed
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeffnom_naissance;nom_usage;prenoms;sexe;date_naissance;nir;")
    assert "'=HYPERLINK;;Zoé" in body and NIR not in body
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="salaries-00010-') and "HYPERLINK" not in disposition


def test_employees_visits_shown_and_used_for_next_visit(client, employer, company):
    from datetime import UTC, datetime

    from models.planning import Visit

    employee = make_employee(company, entry_date=date(2020, 1, 6))
    db.session.add_all(
        [
            Visit(
                company_id=company.id,
                employee_id=employee.id,
                starts_at=datetime(2021, 3, 2, 9, tzinfo=UTC),
                visit_type="vip_embauche",
                status="realisee",
            ),
            Visit(
                company_id=company.id,
                employee_id=employee.id,
                starts_at=datetime(2030, 3, 2, 9, tzinfo=UTC),
                visit_type="a_la_demande",
                status="confirmee",
            ),
            Visit(
                company_id=company.id,
                employee_id=employee.id,
                starts_at=datetime(2022, 3, 2, 9, tzinfo=UTC),
                visit_type="vip_periodique",
                status="annulee",
            ),
        ]
    )
    db.session.commit()
    html = client.get(f"{BASE}/{employee.id}").get_data(as_text=True)
    assert "02/03/2021" in html and "02/03/2030" in html and "02/03/2022" not in html
    assert "02/03/2026" in html and "5 ans après la dernière visite du 02/03/2021" in html
    listing = client.get(f"{BASE}/").get_data(as_text=True)
    assert "02/03/2021" in listing and "02/03/2026" in listing


def test_employees_list_order_size_and_capped_rules(client, employer, company, monkeypatch):
    """Name order = the index order; a 25-row fragment stays under 15 KB; the rules in Python
    are capped (performance, docs/EMPLOYEES.md)."""
    from services.employees import listing as queries

    for i in range(55):
        make_employee(
            company,
            birth_name=f"Nom{54 - i:03d}",
            first_names="Marie-Christine",
            job_title="Assistante de direction",
            usage_name="Aaa" if i == 0 else None,
        )
    db.session.commit()
    fragment = client.get(f"{BASE}/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert len(fragment.encode()) < 15_000
    names = [n for n in fragment.split('">') if n.startswith(("NOM", "AAA"))]
    assert names[0].startswith("NOM000") and "AAA Marie" not in fragment  # listed under the birth name NOM054
    assert "AAA Marie" in client.get(f"{BASE}/?page=3").get_data(as_text=True)
    assert "SIR – suivi individuel renforcé" in fragment  # the categories, explained once
    monkeypatch.setattr(queries, "COMPUTED_LIMIT", 10)
    html = client.get(f"{BASE}/?tri=visite").get_data(as_text=True)
    assert "calculés sur les 10 premiers salariés" in html and "10 salariés" in html


HX = {"HX-Request": "true"}


def test_employees_row_edit_in_place(client, employer, company):
    employee = make_employee(company, job_title="Vendeuse")
    db.session.commit()
    listing = client.get(f"{BASE}/", headers=HX).get_data(as_text=True)
    assert f'<a href="{employee.id}/modifier" hx-get="{employee.id}/ligne">Modifier</a>' in listing
    path = f"{BASE}/{employee.id}/ligne"
    form = client.get(path, headers=HX)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and html.lstrip().startswith("<tr") and "<html" not in html
    assert "Enregistrer" in html and "Annuler" in html and f'name="e{employee.id}-job_title"' in html
    token = csrf_token(client, f"{BASE}/{employee.id}")
    p = f"e{employee.id}-"
    response = client.post(
        path,
        data={
            f"{p}job_title": "Responsable de rayon",
            f"{p}contract_nature": "01",
            f"{p}night_work": "y",
            f"{p}csrf_token": token,
        },
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith("<tr") and "Responsable de rayon" in html
    assert "<td>SIA</td>" in html and "<form" not in html
    db.session.refresh(employee)
    assert employee.job_title == "Responsable de rayon" and employee.night_work and employee.category == "SIA"
    change = db.session.execute(select(EmployeeChange).where(EmployeeChange.kind == "modification")).scalar_one()
    assert change.changes["job_title"] == ["Vendeuse", "Responsable de rayon"]
    assert change.changes["category"] == ["SI", "SIA"]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "employee.updated")).scalar_one()
    assert event.details["fields"] == ["category", "job_title", "night_work"]


@pytest.mark.parametrize(
    ("job", "message"),
    [("", "Indiquez le poste."), ("A\nB", "Ce champ doit tenir sur une seule ligne"), ("x" * 121, "120")],
)
def test_employees_row_edit_invalid_is_422_row_with_message(client, employer, company, job, message):
    employee = make_employee(company, job_title="Vendeuse")
    db.session.commit()
    p = f"e{employee.id}-"
    response = client.post(
        f"{BASE}/{employee.id}/ligne",
        data={f"{p}job_title": job, f"{p}contract_nature": "01", f"{p}csrf_token": csrf_token(client, f"{BASE}/")},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.lstrip().startswith("<tr")
    assert f'id="{p}job_title-erreur"' in html and message in html
    db.session.refresh(employee)
    assert employee.job_title == "Vendeuse"
    assert db.session.execute(select(EmployeeChange)).first() is None


def test_employees_row_edit_cancel_and_without_js(client, employer, company):
    employee = make_employee(company, job_title="Vendeuse")
    db.session.commit()
    restored = client.get(f"{BASE}/{employee.id}/ligne/lecture", headers=HX)
    html = restored.get_data(as_text=True)
    assert restored.status_code == 200 and html.lstrip().startswith("<tr") and "Vendeuse" in html
    assert "<form" not in html and "Modifier" in html
    # Without JavaScript the link is the edit page; the row URLs send there or to the list.
    assert client.get(f"{BASE}/{employee.id}/ligne").headers["Location"].endswith(f"/{employee.id}/modifier")
    assert client.get(f"{BASE}/{employee.id}/ligne/lecture").headers["Location"].endswith("/salaries/")
    p = f"e{employee.id}-"
    invalid = client.post(
        f"{BASE}/{employee.id}/ligne",
        data={f"{p}job_title": "", f"{p}contract_nature": "01", f"{p}csrf_token": csrf_token(client, f"{BASE}/")},
    )
    assert invalid.status_code == 422 and "<h1>Modifier" in invalid.get_data(as_text=True)


def test_employees_row_edit_other_company_404(client, company):
    theirs = make_employee(company, job_title="Vendeuse")
    intruder = make_member(make_company("00020"))
    db.session.commit()
    login(client, intruder)
    token = csrf_token(client, "/entreprises/00020/salaries/")
    p = f"e{theirs.id}-"
    for code in ("00010", "00020"):
        path = f"/entreprises/{code}/salaries/{theirs.id}/ligne"
        assert client.get(path, headers=HX).status_code == 404
        assert client.get(f"{path}/lecture", headers=HX).status_code == 404
        data = {f"{p}job_title": "Pirate", f"{p}contract_nature": "01", f"{p}csrf_token": token}
        assert client.post(path, data=data, headers=HX).status_code == 404
    db.session.refresh(theirs)
    assert theirs.job_title == "Vendeuse"


@pytest.mark.parametrize(
    ("answers", "sentence"),
    [
        (
            {"risks": ["habilitation_electrique"]},
            "Suivi individuel renforcé (SIR), car le poste expose à une habilitation électrique.",
        ),
        ({"night_work": "y"}, "Suivi individuel adapté (SIA), car le salarié travaille de nuit."),
        ({}, "Suivi individuel (SI) : aucun risque particulier ni situation de suivi adapté n&#39;est déclaré."),
    ],
)
def test_employees_category_preview(client, employer, answers, sentence):
    response = post(client, f"{BASE}/categorie", declaration(**answers), page=f"{BASE}/nouveau")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="categorie-derivee"' in html and sentence in html
    assert "<html" not in html and len(html) < 400
    assert db.session.execute(select(Employee)).first() is None
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action.like("employee.%"))).first() is None


def test_employees_category_preview_wired_in_forms(client, employer, company):
    employee = make_employee(company)
    db.session.commit()
    for path in (f"{BASE}/nouveau", f"{BASE}/{employee.id}/modifier"):
        html = client.get(path).get_data(as_text=True)
        assert f'hx-post="{BASE}/categorie" hx-trigger="change"' in html and 'hx-include="closest form"' in html


def test_employees_category_preview_other_company_404(client, company):
    intruder = make_member(make_company("00020"))
    db.session.commit()
    login(client, intruder)
    token = csrf_token(client, "/entreprises/00020/salaries/nouveau")
    response = client.post(f"{BASE}/categorie", data={"night_work": "y", "csrf_token": token}, headers=HX)
    assert response.status_code == 404
