"""The member's account: invoice − credit notes − payments = amount still due, everywhere it is
read (employer pages, reminder, staff receivables, "Mes entreprises"), credit surplus used by
the next invoice or refunded, the balance. Runs on SQLite and PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from extensions import db
from models import OutboxMessage
from models.billing import CreditApplication, Invoice
from services import billing
from services.billing import admin as billing_admin
from services.billing import ledger, manual
from services.billing.common import BillingError
from services.billing.signals import billing_attention
from services.core.database import write_intent
from tests.conftest import count_queries, login
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in

NB = "\u00a0"


def eur(text: str) -> str:
    return text.replace(" ", NB) + NB + "€"


@pytest.fixture
def member(client):
    company = make_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    user = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    return company, user


def reported_case(company):
    """The issue's case: invoice 2 874,48 € TTC, credit note 227,52 € correcting it."""
    with write_intent():
        invoice = manual.issue_manual_invoice(
            company, label="Cotisation", quantity=1, unit_price="2395.40", reason="Cotisation annuelle", actor=None
        )
        note = manual.issue_manual_credit_note(invoice, amount_ht="189.60", reason="Correction", actor=None)
        db.session.commit()
    return invoice, note


def test_credit_note_then_partial_payment_gives_the_amount_still_due(member):
    company, _ = member
    invoice, note = reported_case(company)
    assert (invoice.total_ttc, note.total_ttc) == (Decimal("2874.48"), Decimal("227.52"))
    assert note.corrects_id == invoice.id and note.credit_remaining == Decimal("0.00")
    assert invoice.amount_due == Decimal("2646.96")
    with write_intent():
        billing.record_payment(invoice, "1000.00", billing.today(), "virement", "2026-000002")
        db.session.commit()
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.amount_due == Decimal("1646.96")
    assert invoice.payment_status(billing.today()) == "partielle"
    account = ledger.member_account(company)
    assert account.total_due == Decimal("1646.96") and account.balance == Decimal("1646.96")
    assert [(e.kind, e.debit, e.credit) for e in account.entries] == [
        ("facture", Decimal("2874.48"), Decimal("0.00")),
        ("avoir", Decimal("0.00"), Decimal("227.52")),
        ("paiement", Decimal("0.00"), Decimal("1000.00")),
    ]
    assert account.entries[-1].balance == Decimal("1646.96")
    # The staff's SQL reads agree with the Python rule.
    assert billing.billing_status([company.id])[company.id]["amount_due"] == Decimal("1646.96")
    assert [i.id for i in billing_admin.search_invoices(status="partielle").items] == [invoice.id]
    assert billing_admin.search_invoices(status="payee").items == []


def test_payment_above_the_amount_still_due_is_refused(member):
    company, _ = member
    invoice, _ = reported_case(company)
    with pytest.raises(BillingError, match="2\u00a0646,96"):
        billing.record_payment(invoice, "2874.48", billing.today(), "virement")
    with write_intent():
        billing.record_payment(invoice, "2646.96", billing.today(), "virement")
        db.session.commit()
    assert invoice.payment_status(billing.today()) == "payee"
    assert billing_admin.search_invoices(status="payee").items == [invoice]


def test_employer_sees_the_amount_due_and_never_the_credit_note_number(client, member):
    company, user = member
    invoice, note = reported_case(company)
    login(client, user)
    html = client.get("/entreprises/00010/documents").get_data(as_text=True)
    assert "Reste à payer : " + eur("2 646,96") in html
    assert f"Corrige la facture {invoice.number}" in html
    payer = html.split("Comment payer ?")[1]
    assert f"« {invoice.number} / 00010 »" in payer and note.number not in payer
    account = client.get("/entreprises/00010/releve-de-compte")
    page = account.get_data(as_text=True)
    assert account.status_code == 200 and page.count("<h1") == 1
    assert f'data-testid="total-due">{eur("2 646,96")}<' in page
    assert f"Avoir (corrige la facture {invoice.number})" in page
    assert f"« {invoice.number} / 00010 »" in page


def test_overdue_status_and_reminder_read_the_amount_still_due(client, member):
    company, _ = member
    invoice, _ = reported_case(company)
    invoice.due_date = billing.today() - timedelta(days=1)
    db.session.commit()
    assert invoice.payment_status(billing.today()) == "en_retard"
    assert billing_admin.count_overdue() == 1
    assert billing_attention([company.id]) == {company.id: ["Facture en retard"]}
    with write_intent():
        billing_admin.send_reminder(invoice, None)
        db.session.commit()
    message = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    assert "Reste à payer : " + eur("2 646,96") in message.body_text
    assert "2" + NB + "874,48" in message.body_text  # the invoice's total, for reference
    staff_logged_in(client)
    listing = client.get("/service/factures?statut=en_retard").get_data(as_text=True)
    assert invoice.number in listing and eur("2 646,96") in listing


def test_a_credit_note_settling_the_invoice_clears_overdue_and_attention(member):
    company, _ = member
    with write_intent():
        invoice = manual.issue_manual_invoice(
            company, label="Absence non excusée", quantity=1, unit_price="80", reason="RDV manqué", actor=None
        )
        invoice.due_date = billing.today() - timedelta(days=5)
        manual.issue_manual_credit_note(invoice, amount_ht="80.00", reason="Geste commercial", actor=None)
        db.session.commit()
    assert invoice.amount_due == Decimal("0.00") and invoice.payment_status(billing.today()) == "payee"
    assert billing_admin.count_overdue() == 0 and billing_attention([company.id]) == {}


def test_surplus_credit_is_used_by_the_next_invoice_or_refunded(member):
    company, _ = member
    with write_intent():
        first = manual.issue_manual_invoice(
            company, label="Visites intérim", quantity=2, unit_price="50", reason="Intérim", actor=None
        )
        billing.record_payment(first, "120.00", billing.today(), "virement")
        note = manual.issue_manual_credit_note(first, amount_ht="50", reason="Une visite annulée", actor=None)
        db.session.commit()
    assert first.amount_due == Decimal("0.00") and note.credit_remaining == Decimal("60.00")
    assert ledger.member_account(company).balance == Decimal("-60.00")  # in the member's favour
    with write_intent():
        second = manual.issue_manual_invoice(
            company, label="Absence", quantity=1, unit_price="25", reason="RDV manqué", actor=None
        )
        db.session.commit()
    assert second.amount_credited == Decimal("30.00") and second.amount_due == Decimal("0.00")
    assert note.credit_remaining == Decimal("30.00")
    with pytest.raises(BillingError, match="crédit restant"):
        ledger.record_refund(note, "30.01", billing.today(), "virement")
    with write_intent():
        ledger.record_refund(note, "30.00", billing.today(), "virement", "VIR-REMB-1")
        db.session.commit()
    account = ledger.member_account(company)
    assert account.balance == Decimal("0.00") and account.credit == Decimal("0.00")
    assert [e.kind for e in account.entries].count("remboursement") == 1


def test_credit_notes_never_exceed_the_invoice_and_prices_keep_their_cents(member):
    company, _ = member
    invoice, _ = reported_case(company)
    with pytest.raises(BillingError, match="dépasseraient son total"):
        manual.issue_manual_credit_note(invoice, amount_ht="2206.00", reason="Trop", actor=None)
    with pytest.raises(BillingError, match="deux décimales"):
        manual.issue_manual_invoice(company, label="X", quantity=1, unit_price="94.805", reason="R", actor=None)
    with pytest.raises(BillingError, match="Motif"):
        manual.issue_manual_invoice(company, label="X", quantity=1, unit_price="94.80", reason=" ", actor=None)
    db.session.rollback()
    assert db.session.execute(select(CreditApplication)).scalars().all() != []


def test_account_page_runs_a_fixed_number_of_queries(client, member):
    company, user = member
    login(client, user)

    def queries() -> int:
        with count_queries() as seen:
            assert client.get("/entreprises/00010/releve-de-compte").status_code == 200
        return len(seen)

    def one_more():
        invoice, _ = reported_case(company)
        with write_intent():
            billing.record_payment(invoice, "10", billing.today(), "cheque")
            db.session.commit()

    one_more()
    queries()  # the first request of the session also records its activity
    few = queries()
    for _ in range(4):
        one_more()
    assert queries() == few


def test_account_is_company_scoped(client, member):
    company, _ = member
    reported_case(company)
    other = make_company("00020", name="Garage Morvan")
    stranger = make_member(other, email="garage@morvan.test")
    db.session.commit()
    login(client, stranger)
    assert client.get("/entreprises/00010/releve-de-compte").status_code == 404
    assert client.get("/entreprises/00020/releve-de-compte").status_code == 200


def test_no_two_endpoints_share_a_url(app):
    """The account pages once shadowed "Mon compte" (/entreprises/<code>/compte): never again."""
    seen: dict[tuple[str, str], str] = {}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            other = seen.setdefault((rule.rule, method), rule.endpoint)
            assert other == rule.endpoint, f"{method} {rule.rule}: {other} and {rule.endpoint}"


def test_payments_and_refunds_are_never_rounded_silently(member):
    company, _ = member
    invoice, note = reported_case(company)
    with pytest.raises(BillingError, match="Deux décimales au plus"):
        billing.record_payment(invoice, "10.005", billing.today(), "virement")
    with pytest.raises(BillingError, match="positif"):
        billing.record_payment(invoice, "-1", billing.today(), "virement")
    with write_intent():
        payment = billing.record_payment(invoice, "1 000,50", billing.today(), "virement")
        db.session.commit()
    assert payment.amount == Decimal("1000.50")
