"""Letters in bulk: every active member or site without a n° télédéclarant gets a new one, in
one PDF (one page each, code order); the list of who got one; confirmation required."""

from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models.companies import Company
from tests.conftest import csrf_token
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in


def test_the_new_members_get_their_letters_in_one_pdf_and_the_list_says_who(client):
    staff_logged_in(client)
    make_company("00030", teledeclarant=None, name="Ty Coz")
    make_company("00020", teledeclarant=None, name="Garage des Côtes")
    make_company("00010", name="Déjà équipé")
    make_company("00040", teledeclarant=None, active=False)
    db.session.commit()
    page = client.get("/service/adherents/courriers").text
    assert "2 adhérents ou sites en attente" in page and "00020 - Garage des Côtes" in page
    token = csrf_token(client, "/service/adherents/courriers")

    refused = client.post("/service/adherents/courriers", data={"csrf_token": token})
    assert refused.status_code == 422 and "Cochez la case pour confirmer" in refused.text
    assert db.session.scalar(select(Company.teledeclarant_hash).where(Company.code == "00020")) is None

    response = client.post("/service/adherents/courriers", data={"csrf_token": token, "confirm": "1"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert re.search(rb"/Count (\d+)", response.data).group(1) == b"2"  # one page per letter
    hashes = dict(db.session.execute(select(Company.code, Company.teledeclarant_hash)).all())
    assert hashes["00020"] and hashes["00030"] and hashes["00040"] is None
    page = client.get("/service/adherents/courriers").text
    assert "0 adhérent ou site en attente" in page
    assert "2 courriers : 00020, 00030" in page


def test_only_staff_generate_letters(client):
    from tests.conftest import login

    company = make_company("00020", teledeclarant=None)
    user = make_member(make_company("00010"))
    db.session.commit()
    login(client, user)
    assert client.get("/service/adherents/courriers").status_code == 404
    assert company.teledeclarant_hash is None
