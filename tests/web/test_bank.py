"""Bank statements: a real-format camt.053 (a matched transfer, an unmatched transfer, a
direct debit collected then returned) imported twice changes the books once; CSV; the list
of lines waiting for a person. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import BankLine, BankStatement, Invoice, Payment
from services.billing import bank, manual
from services.billing.common import BillingError
from services.core.database import write_intent
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in

SAMPLE = (Path(__file__).parent.parent / "data" / "camt053_sample.xml").read_bytes()
ON = date(2026, 11, 2)


@pytest.fixture
def invoices(client):
    """2026-000001 (1 200,00 € TTC) for 00010; 2026-000002 (600,00 €) for 00020."""
    first = make_company("00010", name="Boulangerie Le Goff")
    second = make_company("00020", name="Garage Morvan")
    db.session.commit()
    with write_intent():
        a = manual.issue_manual_invoice(
            first, label="Cotisation", quantity=1, unit_price="1000", reason="R", actor=None, on=ON
        )
        b = manual.issue_manual_invoice(
            second, label="Cotisation", quantity=1, unit_price="500", reason="R", actor=None, on=ON
        )
        db.session.commit()
    assert (a.number, b.number) == ("2026-000001", "2026-000002")
    return a, b


def books():
    db.session.expire_all()
    return (
        db.session.execute(select(func.count()).select_from(BankStatement)).scalar_one(),
        db.session.execute(select(func.count()).select_from(BankLine)).scalar_one(),
        sorted((str(p.amount), p.method, p.rejected_on) for p in db.session.execute(select(Payment)).scalars()),
    )


def test_camt053_imported_twice_changes_the_books_once(invoices):
    a, b = invoices
    with write_intent():
        result = bank.import_statement(SAMPLE, "releve.xml")
        db.session.commit()
    assert result.counts == {"matched": 2, "unmatched": 1, "rejected": 1}
    first = books()
    assert first == (
        1,
        4,
        [("1200.00", "virement", None), ("600.00", "prelevement", date(2026, 11, 28))],
    )
    db.session.expire_all()
    a, b = db.session.get(Invoice, a.id), db.session.get(Invoice, b.id)
    assert a.amount_due == Decimal("0.00") and a.payment_status(date(2026, 11, 30)) == "payee"
    # The returned direct debit re-opens the invoice.
    assert b.amount_due == Decimal("600.00") and b.payment_status(date(2026, 11, 30)) == "a_payer"
    waiting = bank.unmatched_lines()
    assert [(w.amount, w.counterparty) for w in waiting] == [(Decimal("350.00"), "SARL KERBRAT MENUISERIE")]
    with write_intent():
        again = bank.import_statement(SAMPLE, "releve-copie.xml")
        db.session.commit()
    assert again.already and books() == first


def test_csv_statement_and_overlapping_lines(invoices):
    a, _ = invoices
    data = (
        b"date;montant;libelle;reference\n"
        b"24/11/2026;1 200,00;VIR BOULANGERIE LE GOFF;2026-000001\n"
        b"25/11/2026;-12,50;FRAIS TENUE COMPTE;\n"
    )
    with write_intent():
        result = bank.import_statement(data, "releve.csv")
        db.session.commit()
    assert result.counts == {"matched": 1, "ignored": 1}
    with write_intent():
        assert bank.import_statement(data, "releve.csv").already
        db.session.rollback()
    with pytest.raises(BillingError, match="En-tête"):
        bank.parse_statement(b"a;b\n1;2\n", "x.csv")
    with pytest.raises(BillingError, match="camt.053"):
        bank.parse_statement(b"<?xml version='1.0'?><Document xmlns='urn:other'/>", "x.xml")
    # External entities are never resolved.
    evil = b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>"
    with pytest.raises(BillingError):
        bank.parse_statement(evil, "x.xml")


def test_staff_import_a_statement_and_resolve_the_waiting_line(client, invoices):
    staff_logged_in(client)
    page = client.get("/service/banque")
    assert page.status_code == 200 and page.get_data(as_text=True).count("<h1") == 1
    token = csrf_token(client, "/service/banque")
    empty = client.post("/service/banque/releves", data={"csrf_token": token})
    assert empty.status_code == 422 and "Choisissez le fichier" in empty.get_data(as_text=True)
    from io import BytesIO

    response = client.post(
        "/service/banque/releves",
        data={"csrf_token": token, "fichier": (BytesIO(SAMPLE), "releve.xml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    html = client.get("/service/banque").get_data(as_text=True)
    assert "SARL KERBRAT MENUISERIE" in html and "350,00" in html
    line = bank.unmatched_lines()[0]
    bad = client.post(
        f"/service/banque/lignes/{line.id}/rapprocher", data={"csrf_token": token, "invoice_number": "2099-999999"}
    )
    assert bad.status_code == 422 and "Numéro de facture inconnu" in bad.get_data(as_text=True)
    ok = client.post(
        f"/service/banque/lignes/{line.id}/rapprocher", data={"csrf_token": token, "invoice_number": "2026-000002"}
    )
    assert ok.status_code == 303 and bank.unmatched_lines() == []
    db.session.expire_all()
    assert db.session.get(Invoice, invoices[1].id).amount_due == Decimal("250.00")


def test_bank_pages_are_staff_only(client, invoices):
    user = make_member(invoices[0].company, email="gerante@legoff.test")
    db.session.commit()
    login(client, user)
    assert client.get("/service/banque").status_code in (302, 303, 403, 404)


def test_staff_lists_run_a_fixed_number_of_queries(client, invoices):
    from tests.conftest import count_queries

    staff_logged_in(client)

    def queries(path: str) -> int:
        client.get(path)
        with count_queries() as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    with write_intent():
        bank.import_statement(SAMPLE, "releve.xml")
        db.session.commit()
    few = {path: queries(path) for path in ("/service/banque", "/service/factures/anciennete", "/service/prelevements")}
    more = make_company("00030", name="Crêperie Ty Breizh")
    db.session.commit()
    with write_intent():
        for _ in range(6):
            manual.issue_manual_invoice(more, label="X", quantity=1, unit_price="100", reason="R", actor=None, on=ON)
        csv = "date;montant;libelle;reference\n" + "".join(f"2{i}/11/2026;{i + 1},00;VIR {i};\n" for i in range(6))
        bank.import_statement(csv.encode(), "autre.csv")
        db.session.commit()
    assert {path: queries(path) for path in few} == few
