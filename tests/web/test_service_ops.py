"""Back-office operations: the request queue (place on a slot, refuse), visits (outcome, PDF
documents, no-show fee billed once) and contact messages (answer, in progress, attachment)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.billing import Document, InvoiceLine, PendingFee
from models.outbox import OutboxMessage
from models.planning import AppointmentRequest, Visit
from models.support import ContactMessage
from services import billing
from services.core.database import write_intent
from services.planning import appointment_requests, common
from tests.conftest import count_queries, csrf_token, login
from tests.factories import (
    make_company,
    make_declaration_company,
    make_employee,
    make_member,
    make_slot,
    make_tariff,
    make_visit,
)
from tests.web.service_helpers import staff_logged_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _request(company=None, *, reason="reprise", employer=None, **data):
    company = company or make_company("00010", name="Boulangerie Le Goff")
    employer = employer or make_member(company, email=f"gerant{company.code}@legoff.test")
    employee = make_employee(company, birth_name="Martin", first_names="Julie")
    req = appointment_requests.create_request(
        company,
        {"employee_id": employee.id, "reason": reason, "absence_type": "maladie", **data},
        employer,
    )
    db.session.commit()
    return req


def _audit(action: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    ).scalar_one()


def _mails(template_subject: str) -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.subject == template_subject)).scalars())


# --------------------------------------------------------------------------- requests


def test_service_requests_queue_oldest_first_with_fixed_query_count(client):
    staff_logged_in(client)
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company)
    for i in range(3):
        _request(company, employer=employer, reason="reprise" if i % 2 == 0 else "mi_carriere")
    client.get("/service/demandes")
    with count_queries() as few:
        response = client.get("/service/demandes")
    assert response.status_code == 200
    for _ in range(25):
        _request(company, employer=employer)
    with count_queries() as many:
        response = client.get("/service/demandes")
    assert len(many) == len(few)
    assert "Page 1 sur 2" in response.text
    text = client.get("/service/demandes?motif=mi_carriere").text
    assert "1 demande" in text and "Visite de mi-carrière" in text
    assert "0 demande" in client.get("/service/demandes?statut=refusee").text


def test_service_request_placed_on_a_slot_confirms_the_visit_and_mails_the_employer(client):
    agent = staff_logged_in(client)
    req = _request(wished_from=date.today() + timedelta(days=5), wished_to=date.today() + timedelta(days=15))
    slot = make_slot()
    other = make_company("00020")
    make_slot(reserved_company=other)  # reserved to another member: never offered
    db.session.commit()
    url = f"/service/demandes/{req.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert "(période souhaitée)" in page.text
    assert page.text.count("(période souhaitée)") == 1
    assert '<option selected value="reprise">' in page.text or 'value="reprise" selected' in page.text
    response = client.post(
        f"{url}/placer", data={"slot": slot.id, "visit_type": "reprise", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 303
    db.session.rollback()
    visit = db.session.execute(select(Visit).where(Visit.request_id == req.id)).scalar_one()
    assert (visit.status, visit.visit_type, visit.active_slot_id) == ("confirmee", "reprise", slot.id)
    req = db.session.get(AppointmentRequest, req.id)
    assert req.status == "planifiee" and req.answered_by_id == agent.id
    assert _mails("Rendez-vous confirmé")[0].recipients == "gerant00010@legoff.test" or _mails("Rendez-vous confirmé")
    assert _audit("service.request_placed") == 1
    # The employer sees the visit in Mon planning.
    employer = (
        req.company
        and db.session.execute(
            select(AppointmentRequest.created_by_id).where(AppointmentRequest.id == req.id)
        ).scalar_one()
    )
    from models.users import User

    login(client, db.session.get(User, employer))
    planning_page = client.get("/entreprises/00010/planning/")
    assert 'class="visit visit--confirmee"' in planning_page.text and "– MARTIN Julie" in planning_page.text


def test_service_request_on_a_taken_slot_answers_409(client):
    staff_logged_in(client)
    req = _request()
    slot = make_slot()
    make_visit(make_employee(req.company), slot)
    db.session.commit()
    url = f"/service/demandes/{req.id}"
    response = client.post(
        f"{url}/placer", data={"slot": slot.id, "visit_type": "reprise", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 409
    assert "Ce créneau vient d&#39;être pris" in response.text or "Ce créneau vient d'être pris" in response.text
    db.session.rollback()
    assert db.session.get(AppointmentRequest, req.id).status == "en_attente"


def test_service_request_bad_input_answers_422(client):
    staff_logged_in(client)
    req = _request()
    url = f"/service/demandes/{req.id}"
    response = client.post(
        f"{url}/placer", data={"slot": "abc", "visit_type": "nope", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 422
    assert "Choisissez un créneau." in response.text
    response = client.post(f"{url}/refuser", data={"message": "", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in response.text
    response = client.post(f"{url}/refuser", data={"message": "x" * 2001, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422
    assert "x" * 2001 in response.text  # input kept


def test_service_request_refused_with_a_message(client):
    staff_logged_in(client)
    req = _request()
    url = f"/service/demandes/{req.id}"
    response = client.post(
        f"{url}/refuser", data={"message": "Appelez-nous au 02 96.", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 303
    db.session.rollback()
    req = db.session.get(AppointmentRequest, req.id)
    assert (req.status, req.service_answer) == ("refusee", "Appelez-nous au 02 96.")
    assert "Appelez-nous au 02 96." in _mails("Votre demande de rendez-vous")[0].body_text
    assert _audit("service.request_declined") == 1
    again = client.post(f"{url}/refuser", data={"message": "Encore", "csrf_token": csrf_token(client, url)})
    assert again.status_code == 409


# --------------------------------------------------------------------------- visits


def _visit(status="confirmee", days=-1):
    from datetime import UTC, datetime

    company = make_company("00010", name="Boulangerie Le Goff")
    make_member(company, email="gerant@legoff.test")
    employee = make_employee(company, birth_name="Martin", first_names="Julie")
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    visit = make_visit(employee, make_slot(start), status=status, visit_type="reprise")
    db.session.commit()
    return visit


def test_service_visits_list_fixed_query_count_and_filters(client):
    staff_logged_in(client)
    visit = _visit()
    window = f"du={date.today() - timedelta(days=3)}&au={date.today() + timedelta(days=20)}"
    client.get(f"/service/visites?{window}")
    with count_queries() as few:
        response = client.get(f"/service/visites?{window}")
    assert "MARTIN Julie" in response.text
    employee = make_employee(visit.company)
    for _ in range(30):
        make_visit(employee, status="proposee")
    db.session.commit()
    with count_queries() as many:
        response = client.get(f"/service/visites?statut=proposee&{window}")
    assert len(many) == len(few)
    assert "30 visites" in response.text and "Page 1 sur 2" in response.text
    assert "0 visite" in client.get("/service/visites?adherent=99999").text
    assert client.get("/service/visites?du=nope&au=2020-13-01&centre=x").status_code == 200


def test_service_visit_done_with_attestation_reaches_the_employer(client):
    staff_logged_in(client)
    visit = _visit()
    url = f"/service/visites/{visit.id}"
    response = client.post(
        f"{url}/resultat",
        data={
            "outcome": "realisee",
            "document_kind": "attestation",
            "document": (io.BytesIO(PDF), "Julie Martin attestation.pdf"),
            "csrf_token": csrf_token(client, url),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.rollback()
    visit = db.session.get(Visit, visit.id)
    assert visit.status == "realisee" and visit.outcome_recorded_at is not None
    document = db.session.execute(select(Document)).scalar_one()
    day = visit.starts_at.astimezone(common.PARIS).date()
    assert document.filename == f"attestation-{day.isoformat()}-{visit.id}.pdf"
    assert (document.company_id, document.employee_id, document.year) == (visit.company_id, visit.employee_id, day.year)
    assert _audit("service.visit_outcome") == 1 and _audit("service.visit_document_added") == 1
    # The employer finds it in "Mon espace documentaire" and downloads it.
    from models.users import User

    employer = db.session.execute(select(User).where(User.email == "gerant@legoff.test")).scalar_one()
    login(client, employer)
    assert document.title in client.get("/entreprises/00010/documents").text
    download = client.get(f"/entreprises/00010/documents/{document.id}/telecharger")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"


def test_service_visit_upload_refused_when_not_a_pdf(client):
    staff_logged_in(client)
    visit = _visit()
    url = f"/service/visites/{visit.id}"
    response = client.post(
        f"{url}/resultat",
        data={
            "outcome": "realisee",
            "document_kind": "avis",
            "document": (io.BytesIO(b"MZ not a pdf at all"), "avis.pdf"),
            "csrf_token": csrf_token(client, url),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Ce fichier n&#39;est pas un PDF" in response.text
    db.session.rollback()
    assert db.session.get(Visit, visit.id).status == "confirmee"
    assert db.session.execute(select(func.count()).select_from(Document)).scalar_one() == 0
    bad = client.post(f"{url}/resultat", data={"outcome": "x", "csrf_token": csrf_token(client, url)})
    assert bad.status_code == 422 and "Choisissez le résultat de la visite." in bad.text


def test_service_no_show_fee_recorded_and_billed_once(client, app):
    staff_logged_in(client)
    company = make_declaration_company("00010", name="Boulangerie Le Goff")
    make_tariff()
    employer = make_member(company, email="gerante@legoff.test")
    employee = make_employee(company)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    visit = make_visit(employee, make_slot(yesterday), visit_type="reprise")  # outcomes from the start only
    db.session.commit()
    url = f"/service/visites/{visit.id}"
    response = client.post(
        f"{url}/resultat",
        data={"outcome": "absence_non_excusee", "bill_fee": "y", "csrf_token": csrf_token(client, url)},
    )
    assert response.status_code == 303
    again = client.post(f"{url}/facturer", data={"csrf_token": csrf_token(client, url)})
    assert again.status_code == 303
    db.session.rollback()
    fee = db.session.execute(select(PendingFee)).scalar_one()
    assert fee.amount == Decimal(app.config["NO_SHOW_FEE_AMOUNT"]) and fee.invoice_id is None
    assert _audit("service.no_show_fee_recorded") == 1

    tariff = billing.tariff_for_year(billing.today().year)
    with write_intent():
        _, invoice = billing.confirm_declaration(company, tariff, employer, attested=True)
        db.session.commit()
    lines = db.session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).scalars().all()
    fee_lines = [line for line in lines if line.code == "NO_SHOW"]
    assert len(fee_lines) == 1 and fee_lines[0].total_ht == fee.amount
    assert invoice.total_ht == sum(line.total_ht for line in lines)
    assert db.session.get(PendingFee, fee.id).invoice_id == invoice.id
    # A later correction (complement) does not bill it again.
    make_employee(company, entry_date=date(2020, 1, 6))
    db.session.commit()
    with write_intent():
        _, complement = billing.confirm_declaration(company, tariff, employer, attested=True)
        db.session.commit()
    if complement is not None:
        assert not [line for line in complement.lines if line.code == "NO_SHOW"]


# --------------------------------------------------------------------------- messages


def _message(attachment=None):
    from services.support import contact as support

    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerante@legoff.test", first_name="Nolwenn")
    message = support.send_message(company, employer, "autre", "Quand passe le camion ?", attachment)
    db.session.commit()
    return message, employer


def test_service_messages_list_answer_and_employer_reads_it(client):
    staff_logged_in(client)
    message, employer = _message(("plan.pdf", PDF))
    client.get("/service/messages")
    with count_queries() as few:
        client.get("/service/messages")
    for _ in range(30):
        _more = ContactMessage(
            company_id=message.company_id, user_id=None, subject="autre", recipient="x@y.test", body="b"
        )
        db.session.add(_more)
    db.session.commit()
    with count_queries() as many:
        listing = client.get("/service/messages?statut=nouveau")
    assert len(many) == len(few) and "Page 1 sur 2" in listing.text

    url = f"/service/messages/{message.id}"
    page = client.get(url)
    assert "Quand passe le camion ?" in page.text
    attachment = client.get(f"{url}/piece-jointe")
    assert attachment.data == PDF and attachment.headers["Content-Type"] == "application/pdf"
    assert _audit("service.contact_attachment_downloaded") == 1

    assert client.post(f"{url}/en-cours", data={"csrf_token": csrf_token(client, url)}).status_code == 303
    db.session.rollback()
    assert db.session.get(ContactMessage, message.id).status == "en_cours"

    empty = client.post(f"{url}/repondre", data={"answer": " ", "csrf_token": csrf_token(client, url)})
    assert empty.status_code == 422
    long = client.post(f"{url}/repondre", data={"answer": "a" * 5001, "csrf_token": csrf_token(client, url)})
    assert long.status_code == 422 and "5000 caractères au plus." in long.text
    ok = client.post(f"{url}/repondre", data={"answer": "Mardi à 10 h.", "csrf_token": csrf_token(client, url)})
    assert ok.status_code == 303
    db.session.rollback()
    stored = db.session.get(ContactMessage, message.id)
    assert (stored.status, stored.answer) == ("repondu", "Mardi à 10 h.") and stored.answered_at is not None
    mail = _mails("Réponse à votre message")[0]
    assert "gerante@legoff.test" in mail.recipients and "Mardi à 10 h." in mail.body_text
    assert _audit("service.message_answered") == 1

    login(client, employer)
    assert "Mardi à 10 h." in client.get("/entreprises/00010/messages").text


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    "path",
    ["/service/demandes", "/service/visites", "/service/messages"],
)
def test_service_ops_lists_hidden_from_employers(client, path):
    company = make_company("00010")
    login(client, make_member(company))
    assert client.get(path).status_code == 404


def test_service_ops_unknown_ids_answer_404(client):
    staff_logged_in(client)
    for path in (
        "/service/demandes/999",
        "/service/visites/999",
        "/service/messages/999",
        "/service/messages/999/piece-jointe",
    ):
        assert client.get(path).status_code == 404


def test_service_dashboard_links_to_the_new_lists(client):
    staff_logged_in(client)
    text = client.get("/service/").text
    assert "/service/demandes" in text and "/service/visites?statut=proposee" in text
    assert "/service/messages?statut=nouveau" in text
