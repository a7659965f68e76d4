"""Staff operations on a member's account (manual invoice and credit note with a reason,
refund, payment allocated to invoices, adhesion date), aged receivables, and who counts /
the grid's bracket (stage 29 and mandat social 80, adhesion date and entry fee, decimals)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Company, Invoice, Payment, Refund
from services import billing
from services.billing import ledger, manual
from services.billing.common import TariffError
from services.core.database import write_intent
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_declaration_company, make_employee, make_member, make_tariff
from tests.web.service_helpers import staff_logged_in

NB = "\u00a0"
ACCOUNT = "/service/adherents/00010/compte"


def eur(text: str) -> str:
    return text.replace(" ", NB) + NB + "€"


def audit_actions():
    db.session.commit()
    return [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


@pytest.fixture
def member(client):
    company = make_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    db.session.commit()
    return company


def test_staff_issue_a_manual_invoice_then_a_credit_note_with_reasons(client, member):
    staff_logged_in(client)
    page = client.get(ACCOUNT)
    assert page.status_code == 200 and page.get_data(as_text=True).count("<h1") == 1
    token = csrf_token(client, ACCOUNT)
    bad = client.post(
        ACCOUNT + "/facture",
        data={
            "csrf_token": token,
            "facture-label": "Absence",
            "facture-quantity": "1",
            "facture-unit_price": "80,005",
            "facture-reason": "",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Ce champ est obligatoire." in html and "80,005" in html
    assert db.session.execute(select(func.count()).select_from(Invoice)).scalar_one() == 0
    ok = client.post(
        ACCOUNT + "/facture",
        data={
            "csrf_token": token,
            "facture-label": "Absence non excusée du 12/03",
            "facture-quantity": "1",
            "facture-unit_price": "80,00",
            "facture-reason": "Rendez-vous manqué sans prévenir",
        },
    )
    assert ok.status_code == 303
    invoice = db.session.execute(select(Invoice)).scalar_one()
    assert invoice.total_ttc == Decimal("96.00") and invoice.reason == "Rendez-vous manqué sans prévenir"
    assert invoice.document_id is not None  # the PDF is in the member's document space
    too_much = client.post(
        ACCOUNT + "/avoir",
        data={
            "csrf_token": token,
            "avoir-invoice_id": str(invoice.id),
            "avoir-amount_ht": "81",
            "avoir-reason": "Geste",
        },
    )
    assert too_much.status_code == 422 and "dépasseraient son total" in too_much.get_data(as_text=True)
    note = client.post(
        ACCOUNT + "/avoir",
        data={
            "csrf_token": token,
            "avoir-invoice_id": str(invoice.id),
            "avoir-amount_ht": "80",
            "avoir-reason": "Geste commercial",
        },
    )
    assert note.status_code == 303
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.amount_due == Decimal("0.00") and invoice.payment_status(billing.today()) == "payee"
    credit = db.session.execute(select(Invoice).where(Invoice.kind == "credit_note")).scalar_one()
    assert credit.corrects_id == invoice.id and credit.reason == "Geste commercial"
    html = client.get(ACCOUNT).get_data(as_text=True)
    assert f"Avoir (corrige la facture {invoice.number}) – Geste commercial" in html
    assert audit_actions().count("invoice.issued") == 2 and "credit_note.applied" in audit_actions()
    invoice_page = client.get(f"/service/factures/{invoice.id}").get_data(as_text=True)
    assert "Avoirs imputés" in invoice_page and credit.number in invoice_page
    note_page = client.get(f"/service/factures/{credit.id}").get_data(as_text=True)
    assert "Avoir de la facture" in note_page and "motif : Geste commercial" in note_page


def test_staff_allocate_a_payment_to_invoices_and_refund_a_credit(client, member):
    with write_intent():
        first = manual.issue_manual_invoice(member, label="A", quantity=1, unit_price="100", reason="R", actor=None)
        second = manual.issue_manual_invoice(member, label="B", quantity=1, unit_price="50", reason="R", actor=None)
        db.session.commit()
    staff_logged_in(client)
    token = csrf_token(client, ACCOUNT)
    data = {
        "csrf_token": token,
        "paiement-invoice_ids": [str(first.id), str(second.id)],
        "paiement-amount": "200,00",
        "paiement-paid_on": billing.today().isoformat(),
        "paiement-method": "virement",
        "paiement-reference": "VIR 123",
    }
    over = client.post(ACCOUNT + "/paiement", data=data)
    assert over.status_code == 422 and "dépasse le reste à payer des factures choisies" in over.get_data(as_text=True)
    data["paiement-amount"] = "150,00"
    assert client.post(ACCOUNT + "/paiement", data=data).status_code == 303
    db.session.expire_all()
    assert [p.amount for p in db.session.execute(select(Payment).order_by(Payment.id)).scalars()] == [
        Decimal("120.00"),
        Decimal("30.00"),
    ]
    with write_intent():
        note = manual.issue_manual_credit_note(
            db.session.get(Invoice, first.id), amount_ht="100", reason="Annulation", actor=None
        )
        db.session.commit()
    assert note.credit_remaining == Decimal("120.00")
    data = {
        "csrf_token": token,
        "remboursement-credit_note_id": str(note.id),
        "remboursement-amount": "120,00",
        "remboursement-refunded_on": billing.today().isoformat(),
        "remboursement-method": "virement",
    }
    assert client.post(ACCOUNT + "/remboursement", data=data).status_code == 303
    assert db.session.execute(select(Refund)).scalar_one().amount == Decimal("120.00")
    assert ledger.member_account(member).balance == Decimal("30.00")  # the second invoice: 60 - 30


def test_aged_receivables_by_days_past_due(client, member):
    today = billing.today()
    other = make_company("00020", name="Garage Morvan")
    db.session.commit()
    with write_intent():
        for company, days, price in (
            (member, 10, "100"),
            (member, 45, "10"),
            (member, 75, "20"),
            (other, 120, "50"),
            (other, -5, "5"),
        ):
            invoice = manual.issue_manual_invoice(
                company, label="X", quantity=1, unit_price=price, reason="R", actor=None
            )
            invoice.due_date = today - timedelta(days=days)
        db.session.commit()
    aged = ledger.aged_receivables()
    rows = {row.code: row.buckets for row in aged.rows}
    assert rows["00010"] == {
        "non_echu": Decimal("0.00"),
        "0_30": Decimal("120.00"),
        "31_60": Decimal("12.00"),
        "61_90": Decimal("24.00"),
        "plus_90": Decimal("0.00"),
    }
    assert rows["00020"]["plus_90"] == Decimal("60.00") and rows["00020"]["non_echu"] == Decimal("6.00")
    assert aged.total == Decimal("222.00")
    staff_logged_in(client)
    html = client.get("/service/factures/anciennete").get_data(as_text=True)
    assert html.count("<h1") == 1 and eur("222,00") in html and "Plus de 90 jours" in html


def test_member_account_pages_need_staff(client, member):
    user = make_member(member, email="gerante@legoff.test")
    db.session.commit()
    login(client, user)
    assert client.get(ACCOUNT).status_code in (302, 303, 403, 404)
    assert client.get("/service/factures/anciennete").status_code in (302, 303, 403, 404)


# --------------------------------------------------------------------------- who counts, the grid


def test_interns_and_corporate_officers_do_not_count_by_default_with_the_reason(app):
    tariff = make_tariff()
    company = make_declaration_company("00010")
    make_employee(company, birth_name="Stagiaire", contract_nature="29")
    make_employee(company, birth_name="Gerant", contract_nature="80")
    db.session.commit()
    preview = billing.preview_declaration(company, tariff)
    reasons = {e.employee.birth_name: e.reason for e in preview.excluded}
    assert reasons["Stagiaire"].startswith("Stagiaire (convention de stage")
    assert reasons["Gerant"].startswith("Mandataire social")
    review = billing.review_declaration(company, tariff)
    assert review.counts == preview.counts and preview.headcount == 10
    listing = billing.excluded_employees(company, tariff)
    assert any("Mandataire social" in e.reason for e in listing.rows)
    # Configuration per year: the service may count them.
    tariff.excluded_natures = []
    db.session.commit()
    assert billing.preview_declaration(company, tariff).headcount == 12
    assert billing.review_declaration(company, tariff).headcount == 12


def test_adhesion_date_decides_the_entry_fee(app):
    tariff = make_tariff(entry_fee={"amount": "45.00", "mode": "per_company"})
    company = make_declaration_company("00010")
    db.session.commit()
    lines = lambda: [line.code for line in billing.preview_declaration(company, tariff).amount.lines]  # noqa: E731
    assert "ENTRY" not in lines()  # registered before the portal: no adhesion date, no entry fee
    company.adhesion_date = tariff.reference_date - timedelta(days=100)
    assert "ENTRY" in lines()
    company.adhesion_date = tariff.reference_date - timedelta(days=800)
    assert "ENTRY" not in lines()


def test_staff_edit_the_adhesion_date(client, member):
    staff_logged_in(client)
    token = csrf_token(client, ACCOUNT)
    bad = client.post(ACCOUNT + "/adhesion", data={"csrf_token": token, "adhesion-adhesion_date": "2099-01-01"})
    assert bad.status_code == 422 and "aujourd" in bad.get_data(as_text=True)
    ok = client.post(ACCOUNT + "/adhesion", data={"csrf_token": token, "adhesion-adhesion_date": "2019-04-01"})
    assert ok.status_code == 303
    db.session.expire_all()
    assert member.adhesion_date == date(2019, 4, 1) and "company.adhesion_date_set" in audit_actions()


def test_grid_refuses_three_decimals_and_prices_outside_the_bracket(app):
    year = 2026
    base = {
        "prices": {"SI": "94.80", "SIA": "138.00", "SIR": "162.60"},
        "reference_date": f"{year}-01-01",
        "campaign": {"opens_on": f"{year}-01-05", "closes_on": f"{year}-02-28"},
    }
    with pytest.raises(TariffError, match="deux décimales"):
        billing.set_tariff(year, {**base, "prices": {**base["prices"], "SI": "94.805"}})
    with pytest.raises(TariffError, match="hors de la fourchette.*92,80.*139,20"):
        billing.set_tariff(year, {**base, "prices": {**base["prices"], "SI": "92.79"}})
    with pytest.raises(TariffError, match="hors de la fourchette"):
        billing.set_tariff(year, {**base, "prices": {**base["prices"], "SI": "139.21"}})
    bands = {
        **base,
        "mode": "size_bands",
        "size_bands": [{"from": 1, "to": 10, "price": "110"}, {"from": 11, "to": None, "price": "80"}],
    }
    with pytest.raises(TariffError, match=r"size_bands\[1\]\.price"):
        billing.set_tariff(year, bands)
    tariff = billing.set_tariff(year, {**base, "prices": {**base["prices"], "SI": "92.80"}})
    assert tariff.price_si == Decimal("92.80") and tariff.excluded_natures == ["29", "80"]
    assert billing.national_bracket(2025).low == Decimal("92.40")  # 80 % of 115,50
    # 2025 bracket: 92,40 - 138,60.
    with pytest.raises(TariffError, match="138,60"):
        billing.set_tariff(2025, {**base, "reference_date": "2025-01-01", "prices": {**base["prices"], "SI": "140"}})


def test_tariff_form_shows_the_bracket(client):
    staff_logged_in(client, role="admin")
    make_tariff(2026)
    db.session.commit()
    html = client.get("/service/tarifs/2026").get_data(as_text=True)
    assert "Fourchette légale 2026 : 92,80" in html and "139,20" in html
    assert "Compter les stagiaires" in html and "Compter les mandataires sociaux" in html


def test_member_import_carries_the_adhesion_date(app):
    from services.staff.member_import import apply_member_import, parse_member_csv

    header = (
        "code_adherent;raison_sociale;siret;adresse;code_postal;ville;telephone;email;num_teledeclarant;date_adhesion"
    )
    lines = [
        header,
        "00031;Ancien adhérent;73282932000074;1 rue A;22000;Saint-Brieuc;;;ABCDEFGH;15/03/2009",
        "00032;Nouvel adhérent;73282932000074;2 rue B;22000;Saint-Brieuc;;;ABCDEFGH;",
    ]
    result = parse_member_csv("\n".join(lines).encode())
    assert result.ok, result.errors
    apply_member_import(result.rows)
    db.session.commit()
    dates = dict(db.session.execute(select(Company.code, Company.adhesion_date)).all())
    assert dates["00031"] == date(2009, 3, 15) and dates["00032"] is None
    bad = parse_member_csv("\n".join([header, lines[1].replace("15/03/2009", "31/02/2009")]).encode())
    assert not bad.ok and "date d'adhésion" in str(bad.errors[0])
    # Re-importing without the column keeps the date.
    without = [header.rsplit(";", 1)[0], lines[1].rsplit(";", 1)[0]]
    apply_member_import(parse_member_csv("\n".join(without).encode()).rows)
    db.session.commit()
    assert db.session.execute(select(Company.adhesion_date).where(Company.code == "00031")).scalar_one() == date(
        2009, 3, 15
    )
