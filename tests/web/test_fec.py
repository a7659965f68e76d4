"""The FEC (A47 A-1 LPF) of a year: 18 columns, tab-separated, every entry balanced, and the
whole file too. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from extensions import db
from services import billing
from services.billing import fec, ledger, manual
from services.core.database import write_intent
from tests.conftest import login
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in

YEAR = 2026


def books():
    company = make_company("00010", name="Boulangerie Le Goff")
    db.session.commit()
    with write_intent():
        first = manual.issue_manual_invoice(
            company, label="Cotisation", quantity=3, unit_price="94.80", reason="R", actor=None, on=date(YEAR, 2, 1)
        )
        billing.record_payment(first, "100.00", date(YEAR, 2, 10), "virement", "VIR 1")
        payment = billing.record_payment(first, "241.28", date(YEAR, 3, 1), "prelevement", first.number)
        payment.rejected_on = date(YEAR, 3, 4)
        db.session.flush()
        db.session.refresh(first)
        billing.record_payment(first, "241.28", date(YEAR, 3, 8), "virement", "VIR 2")
        note = manual.issue_manual_credit_note(
            first, amount_ht="94.80", reason="Salarié parti", actor=None, on=date(YEAR, 3, 10)
        )
        ledger.record_refund(note, "10.00", date(YEAR, 3, 20), "virement")
        manual.issue_manual_invoice(
            company, label="Hors période", quantity=1, unit_price="80", reason="R", actor=None, on=date(YEAR + 1, 1, 5)
        )
        db.session.commit()
    return first


def parse(text: str):
    lines = text.split("\r\n")
    assert lines[-1] == ""
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:-1]]
    return header, rows


def test_fec_of_a_year_has_18_columns_and_balances(app):
    books()
    header, rows = parse(fec.fec_text(date(YEAR, 1, 1), date(YEAR, 12, 31)))
    assert tuple(header) == fec.COLUMNS and len(header) == 18
    assert all(len(row) == 18 for row in rows)
    by_entry = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        debit, credit = (Decimal(row[i].replace(",", ".")) for i in (11, 12))
        by_entry[row[2]][0] += debit
        by_entry[row[2]][1] += credit
        assert row[3].startswith(str(YEAR)) and len(row[3]) == 8
    assert all(d == c for d, c in by_entry.values())
    total_debit = sum(d for d, _ in by_entry.values())
    assert total_debit == sum(c for _, c in by_entry.values())
    # invoice, 3 payments, a rejection, the credit note, the refund (the next year's invoice is out)
    assert sorted(by_entry) == ["BQ000001", "BQ000002", "BQ000003", "BQ000004", "BQ000005", "VE000001", "VE000002"]
    invoice_lines = [row for row in rows if row[2] == "VE000001"]
    assert [(r[4], r[6], r[11], r[12]) for r in invoice_lines] == [
        ("411000", "C00010", "341,28", "0,00"),
        ("706000", "", "0,00", "284,40"),
        ("445710", "", "0,00", "56,88"),
    ]
    name, content = fec.fec_file(date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert name == f"000000000FEC{YEAR}1231.txt" and "Adhérents".encode("iso8859_15") in content


def test_staff_download_the_fec(client):
    books()
    staff_logged_in(client)
    page = client.get("/service/comptabilite")
    assert page.status_code == 200 and page.get_data(as_text=True).count("<h1") == 1
    bad = client.get("/service/comptabilite?du=2026-12-31&au=2026-01-01")
    assert bad.status_code == 422 and "précède" in bad.get_data(as_text=True)
    response = client.get(f"/service/comptabilite?du={YEAR}-01-01&au={YEAR}-12-31")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.data.decode("iso8859_15").count("\r\n") == 1 + 3 + 2 + 2 + 2 + 2 + 3 + 2


def test_fec_is_staff_only(client):
    company = make_company("00010")
    user = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    login(client, user)
    assert client.get("/service/comptabilite").status_code in (302, 303, 403, 404)
