"""SEPA direct debit: the employer signs a mandate (IBAN/BIC checked), finds it as a PDF,
revokes it; the staff export a pain.008.001.02 batch that validates against the XSD shipped
in tests/data, with the pre-notification e-mails in the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from extensions import db
from models import Document, OutboxMessage, SepaMandate
from services import billing
from services.billing import manual, sepa
from services.core.database import write_intent
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_member
from tests.web.service_helpers import staff_logged_in

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent.parent / "data" / "pain.008.001.02.xsd")))
PATH = "/entreprises/00010/prelevement"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture
def member(client):
    company = make_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    user = make_member(company, email="gerante@legoff.test", first_name="Claire", last_name="Le Goff")
    db.session.commit()
    return company, user


def sign(client, **overrides):
    token = csrf_token(client, PATH)
    data = {
        "csrf_token": token,
        "debtor_name": "Boulangerie Le Goff",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "bic": "",
        "accept": "y",
        **overrides,
    }
    return client.post(PATH, data=data)


def test_employer_signs_finds_and_revokes_a_mandate(client, member):
    company, user = member
    login(client, user)
    page = client.get(PATH)
    assert page.status_code == 200 and page.get_data(as_text=True).count("<h1") == 1
    bad = sign(client, iban="FR76 3000 6000 0112 3456 7890 180")
    assert bad.status_code == 422 and "IBAN invalide" in bad.get_data(as_text=True)
    assert "FR76 3000 6000 0112 3456 7890 180" in bad.get_data(as_text=True)  # input kept
    unchecked = sign(client, accept="")
    assert unchecked.status_code == 422 and "Cochez la case" in unchecked.get_data(as_text=True)
    bad_bic = sign(client, bic="NOTABIC!")
    assert bad_bic.status_code == 422 and "BIC invalide" in bad_bic.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(SepaMandate)).scalar_one() == 0
    assert sign(client).status_code == 303
    mandate = db.session.execute(select(SepaMandate)).scalar_one()
    assert mandate.reference == "RUM-00010-0001" and mandate.bic == "AGRIFRPPXXX"
    assert mandate.creditor_id == "FR72ZZZ123456" and mandate.iban == "FR7630006000011234567890189"
    html = client.get(PATH).get_data(as_text=True)
    assert "RUM-00010-0001" in html and "FR76 •••• •••• 0189" in html
    document = db.session.get(Document, mandate.document_id)
    assert document.kind == "mandat" and document.content.startswith(b"%PDF")
    assert "Mandat de prélèvement SEPA RUM-00010-0001" in client.get("/entreprises/00010/documents").get_data(
        as_text=True
    )
    token = csrf_token(client, PATH)
    assert client.post(PATH + "/revoquer", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(SepaMandate, mandate.id).revoked_on == billing.today()


def test_mandate_pages_are_company_scoped(client, member):
    other = make_company("00020", name="Garage Morvan")
    stranger = make_member(other, email="garage@morvan.test")
    db.session.commit()
    login(client, stranger)
    assert client.get(PATH).status_code == 404


def test_staff_export_a_pain008_batch_that_validates_and_prenotifies(client, member):
    company, user = member
    login(client, user)
    sign(client)
    with write_intent():
        invoice = manual.issue_manual_invoice(
            company, label="Cotisation", quantity=1, unit_price="500", reason="R", actor=None
        )
        db.session.commit()
    staff_logged_in(client)
    page = client.get("/service/prelevements").get_data(as_text=True)
    assert f"facture {invoice.number}" in page and "premier prélèvement" in page
    token = csrf_token(client, "/service/prelevements")
    early = client.post(
        "/service/prelevements",
        data={
            "csrf_token": token,
            "collection_date": (billing.today() + timedelta(days=3)).isoformat(),
            "invoice_ids": [str(invoice.id)],
        },
    )
    assert early.status_code == 422 and "14 jours" in early.get_data(as_text=True)
    when = billing.today() + timedelta(days=15)
    response = client.post(
        "/service/prelevements",
        data={"csrf_token": token, "collection_date": when.isoformat(), "invoice_ids": [str(invoice.id)]},
    )
    assert response.status_code == 200 and response.mimetype == "application/xml"
    document = etree.fromstring(response.data)
    XSD.assertValid(document)
    assert document.findtext(".//p:EndToEndId", namespaces=NS) == invoice.number
    assert document.findtext(".//p:InstdAmt", namespaces=NS) == "600.00"
    assert document.findtext(".//p:MndtId", namespaces=NS) == "RUM-00010-0001"
    assert document.findtext(".//p:SeqTp", namespaces=NS) == "FRST"
    assert document.findtext(".//p:ReqdColltnDt", namespaces=NS) == when.isoformat()
    message = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    assert invoice.number in message.subject and "600,00" in message.body_text and "RUM-00010-0001" in message.body_text
    assert set(message.recipients) == {"compta@legoff.test", "gerante@legoff.test"}
    db.session.expire_all()
    assert db.session.execute(select(SepaMandate)).scalar_one().first_collected_on == when
    # Not proposed again until the statement shows the collection.
    again = client.get("/service/prelevements").get_data(as_text=True)
    assert "Aucune facture à prélever." in again and "en attente d'encaissement" in again
    assert sepa.due_debits() == []


def test_bank_details_checks():
    assert sepa.check_bank_details("DE89 3704 0044 0532 0130 00", "").bic == "COBADEFFXXX"
    with pytest.raises(sepa.MandateError, match="IBAN invalide"):
        sepa.check_bank_details("FR00", "")
    with pytest.raises(sepa.MandateError, match="zone SEPA"):
        sepa.check_bank_details("BR1500000000000010932840814P2", "")
