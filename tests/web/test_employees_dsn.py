"""Importer une DSN over HTTP: check without writing, apply the ticked lines in one
transaction, refusals (other company, broken line, encoding, forged form), access, queries."""

import io
import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Employee, EmployeeChange
from models.companies import ROLE_ACCOUNTANT
from tests.conftest import count_queries, csrf_token, login
from tests.dsn_fixtures import make_bakery, sample
from tests.factories import make_company, make_employee, make_member, make_membership

BASE = "/entreprises/00010/salaries"


@pytest.fixture
def bakery():
    return make_bakery()


@pytest.fixture
def accountant(client, bakery):
    user = make_member(bakery[0], role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, user)
    return user


def check(client, content: bytes, base: str = BASE):
    token = csrf_token(client, f"{base}/dsn")
    return client.post(
        f"{base}/dsn",
        data={"csrf_token": token, "file": (io.BytesIO(content), "dsn.txt")},
        content_type="multipart/form-data",
    )


def form_of(html: str) -> tuple[str, list[str]]:
    payload = re.search(r'name="payload" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="payload" name="payload" type="hidden" value="([^"]+)"', html
    )
    keys = re.findall(r'name="appliquer" value="([^"]+)"', html)
    return payload.group(1), keys


def apply(client, payload: str, keys: list[str], base: str = BASE):
    token = csrf_token(client, f"{base}/dsn")
    return client.post(f"{base}/dsn/appliquer", data={"csrf_token": token, "payload": payload, "appliquer": keys})


def counts():
    return (
        db.session.scalar(select(func.count(Employee.id))),
        db.session.scalar(select(func.count(EmployeeChange.id))),
    )


def test_dsn_check_shows_the_reconciliation_and_writes_nothing(client, accountant, bakery):
    before = counts()
    response = check(client, sample())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    main = html[html.find("<main") : html.find("</main>")]
    assert "DSN de novembre 2026" in html, main
    assert "Nouvelles embauches (2)" in html and "Changements (1)" in html and "Départs (1)" in html, main
    assert "KERMARREC Erwan" in html and "Apprenti boulanger-pâtissier, CDD (apprentissage)" in html
    assert "LE BIHAN Anne" in html and "00010-5 - Boulangerie Le Goff (Dinan)" in html
    assert "Poste : Boulanger → Chef boulanger" in html
    assert "LE GOFF Yann</strong> – fin de contrat le 30/11/2026 (Fin de contrat à durée déterminée)" in html
    assert "absents de la DSN (1)" in html and "ROBIN Hugo" in html
    assert "1 salarié sans changement" in html  # DURAND Léa ("LÉA", "VENDEUSE" in the file)
    # Nothing of the file in clear in the page: the NIR travels sealed.
    assert "295102901920753" not in html and "1690.12" not in html
    assert counts() == before


def test_dsn_apply_writes_through_the_employee_service(client, accountant, bakery):
    member, paimpol, dinan, people = bakery
    payload, keys = form_of(check(client, sample()).get_data(as_text=True))
    assert len(keys) == 4
    response = apply(client, payload, keys)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{BASE}/historique")
    hires = {
        e.birth_name: e
        for e in db.session.scalars(select(Employee).where(Employee.birth_name.in_(["KERMARREC", "LE BIHAN"])))
    }
    assert hires["KERMARREC"].company_id == paimpol.id and hires["KERMARREC"].apprentice
    assert hires["KERMARREC"].contract_nature == "02" and hires["KERMARREC"].first_names == "Erwan"
    assert hires["LE BIHAN"].company_id == dinan.id and hires["LE BIHAN"].nir_hash
    db.session.refresh(people["martin"])
    db.session.refresh(people["le_goff"])
    assert people["martin"].job_title == "Chef boulanger"
    assert people["le_goff"].exit_reason == "fin_cdd" and people["le_goff"].exit_date.isoformat() == "2026-11-30"
    assert people["robin"].exit_date is None  # absent from the file: told, not changed
    kinds = sorted(db.session.scalars(select(EmployeeChange.kind)))
    assert kinds == ["depart", "embauche_dsn", "embauche_dsn", "modification"]
    hire_change = db.session.scalars(select(EmployeeChange).where(EmployeeChange.kind == "embauche_dsn")).first()
    assert all(old is None for old, _ in hire_change.changes.values())  # a hire has no "before"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "employee.dsn_applied")).one()
    assert event.details["hires"] == 2 and event.details["departures"] == 1 and event.details["changes"] == 1
    history = client.get(f"{BASE}/historique").get_data(as_text=True)
    assert "La DSN est appliquée : 2 embauches, 1 modification, 1 départ." in history
    assert "Embauche (import DSN)" in history
    # The same file again: nothing left to apply.
    again = check(client, sample()).get_data(as_text=True)
    assert "Votre liste du personnel est à jour" in again


def test_dsn_recognises_an_employee_without_nir_by_names_and_birth_date(client, accountant, bakery):
    martin = bakery[3]["martin"]
    martin.nir_encrypted = martin.nir_hash = None
    db.session.commit()
    html = check(client, sample()).get_data(as_text=True)
    assert "Nouvelles embauches (2)" in html and "Changements (1)" in html
    assert "N° de sécurité sociale : non renseigné → celui de la DSN ; Poste : Boulanger → Chef boulanger" in html
    payload, keys = form_of(html)
    assert apply(client, payload, [f"modification-{martin.id}"]).status_code == 303
    db.session.refresh(martin)
    assert martin.nir_hash and martin.job_title == "Chef boulanger"


def test_dsn_apply_only_the_ticked_lines(client, accountant, bakery):
    payload, keys = form_of(check(client, sample()).get_data(as_text=True))
    hires = [k for k in keys if k.startswith("embauche")]
    assert apply(client, payload, hires[:1]).status_code == 303
    assert db.session.scalar(select(func.count(Employee.id))) == 5
    assert db.session.scalar(select(func.count(EmployeeChange.id))) == 1


def test_dsn_apply_nothing_ticked_is_422(client, accountant, bakery):
    payload, _ = form_of(check(client, sample()).get_data(as_text=True))
    before = counts()
    response = apply(client, payload, [])
    assert response.status_code == 422
    assert "Cochez au moins une ligne à appliquer." in response.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize(
    "content, message",
    [
        (
            sample("dsn-autre-entreprise.dsn"),
            "Ligne 30 : l'établissement SIRET 123 456 782 00010 n'est ni Boulangerie Le Goff",
        ),
        (sample("dsn-ligne-cassee.dsn"), "Ligne 58 : cette ligne ne suit pas le format d'une DSN"),
        (sample().decode("latin-1").encode("utf-16"), "UTF-16"),
        (
            sample().replace(b"S21.G00.30.006,'14031988'", b"S21.G00.30.006,'31021988'"),
            "Ligne 41 : la date de naissance « 31021988 » n'existe pas.",
        ),
        (
            sample().replace(b"188032227804593", b"188032227804594"),
            "Ligne 37 : Le numéro de sécurité sociale n'est pas valide",
        ),
        (sample().replace(b"MARTIN", b"MAR\x85IN"), "Ligne 38 : caractère illisible"),
        (b"", "Choisissez le fichier DSN à importer."),
        (b"nom;prenom\r\nMARTIN;Paul\r\n", "Ligne 1 : cette ligne ne suit pas le format d'une DSN"),
    ],
)
def test_dsn_refused_files_write_nothing(client, accountant, bakery, content, message):
    before = counts()
    response = check(client, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html.replace("&#39;", "'"), html[-3000:]
    assert 'aria-invalid="true"' in html
    assert counts() == before


def test_dsn_utf8_file_is_read_too(client, accountant, bakery):
    utf8 = sample().decode("latin-1").encode("utf-8")
    html = check(client, utf8).get_data(as_text=True)
    assert "Nouvelles embauches (2)" in html and "Apprenti boulanger-pâtissier" in html


def test_dsn_forged_or_foreign_payload_is_refused(client, accountant, bakery):
    other = make_company("00020", siret="00000000000042")
    make_employee(other)
    make_membership(accountant, other, ROLE_ACCOUNTANT)
    db.session.commit()
    payload, keys = form_of(check(client, sample()).get_data(as_text=True))
    before = counts()
    forged = apply(client, payload[:-6] + "AAAAAA", keys)
    assert forged.status_code == 422 and "envoyez-le à nouveau" in forged.get_data(as_text=True)
    # A check made for one company cannot be applied to another the same person serves.
    foreign = apply(client, payload, keys, base="/entreprises/00020/salaries")
    assert foreign.status_code == 422
    assert counts() == before


def test_dsn_site_user_cannot_import_the_other_site(client, bakery):
    member, paimpol, dinan, _ = bakery
    user = make_member(paimpol)
    db.session.commit()
    login(client, user)
    response = check(client, sample(), base="/entreprises/00010-2/salaries")
    assert response.status_code == 422
    assert "ce fichier concerne une autre entreprise" in response.get_data(as_text=True)


def test_dsn_other_company_member_gets_404(client, bakery):
    intruder = make_member(make_company("00020"))
    db.session.commit()
    login(client, intruder)
    assert client.get(f"{BASE}/dsn").status_code == 404


def test_dsn_check_runs_a_fixed_number_of_queries(client, accountant, bakery):
    member, paimpol, dinan, _ = bakery
    check(client, sample())  # warm up
    with count_queries() as small:
        check(client, sample())
    for _ in range(40):
        make_employee(dinan)
    db.session.commit()
    with count_queries() as large:
        check(client, sample())
    assert len(large) == len(small)
