"""Back office: the member CSV upload checks the whole file like the CLI and imports once."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.companies import Company
from tests.conftest import csrf_token
from tests.web.service_helpers import staff_logged_in

SAMPLE = (Path(__file__).resolve().parents[2] / "docs" / "samples" / "adherents.csv").read_bytes()
URL = "/service/adherents/import"


def _post(client, data: bytes, *, dry_run=False, name="adherents.csv"):
    form = {"csrf_token": csrf_token(client, URL), "file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return client.post(URL, data=form, content_type="multipart/form-data")


def _count() -> int:
    return db.session.scalar(select(func.count(Company.id)))


def test_upload_imports_a_good_file_once(client):
    staff_logged_in(client)
    response = _post(client, SAMPLE)
    assert response.status_code == 200
    assert "Import terminé" in response.get_data(as_text=True)
    created = _count()
    assert created >= 4
    again = _post(client, SAMPLE)
    assert again.status_code == 200 and _count() == created
    assert "0 adhérent(s) ou site(s) créé(s)" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "adherents.import")) == 2


def test_upload_with_errors_names_the_lines_and_imports_nothing(client):
    staff_logged_in(client)
    lines = SAMPLE.decode("utf-8").splitlines()
    lines[2] = lines[2].replace("30246633904050", "12345678901234")  # bad SIRET on line 3
    lines.append(lines[1])  # duplicate code on the last line
    response = _post(client, ("\n".join(lines) + "\n").encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ligne 3" in html and f"Ligne {len(lines)}" in html and "rien n'a été importé" in html
    assert _count() == 0


def test_dry_run_writes_nothing(client):
    staff_logged_in(client)
    response = _post(client, SAMPLE, dry_run=True)
    assert response.status_code == 200 and "Vérification réussie" in response.get_data(as_text=True)
    assert _count() == 0


def test_missing_or_odd_file_answers_422(client):
    staff_logged_in(client)
    no_file = client.post(URL, data={"csrf_token": csrf_token(client, URL)})
    assert no_file.status_code == 422 and "Choisissez le fichier CSV" in no_file.get_data(as_text=True)
    binary = _post(client, b"\x00\xff\xfe" * 100, name="x.csv")
    assert binary.status_code == 422
    assert _count() == 0


def test_upload_page_refuses_members(client):
    from tests.conftest import login
    from tests.factories import make_company, make_member

    user = make_member(make_company("00010"))
    db.session.commit()
    login(client, user)
    assert client.get(URL).status_code == 404
