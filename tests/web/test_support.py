"""Nous contacter (routing, attachments checked by content), Mes messages, and the FAQ."""

import base64
import io

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, ContactMessage, OutboxMessage
from models.companies import ROLE_ACCOUNTANT
from services.support import faq
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_member

CONTACT = "/entreprises/00010/contact"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200


@pytest.fixture
def member(client):
    company = make_company("00010", name="Ferme du Trieux")
    user = make_member(company, email="gerant@ferme.fr")
    db.session.commit()
    login(client, user)
    return user


def _send(client, subject="autre", body="Bonjour, une question.", attachment=None):
    data = {"subject": subject, "body": body, "csrf_token": csrf_token(client, CONTACT)}
    if attachment is not None:
        data["attachment"] = (io.BytesIO(attachment[1]), attachment[0])
    return client.post(CONTACT, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("subject", "config_key"),
    [
        ("cotisation", "SERVICE_BILLING_EMAIL"),
        ("rendez_vous", "SERVICE_PLANNING_EMAIL"),
        ("salaries", "SERVICE_STAFF_EMAIL"),
        ("acces", "SERVICE_SUPPORT_EMAIL"),
        ("autre", "SERVICE_SUPPORT_EMAIL"),
    ],
)
def test_support_message_is_routed_by_subject_and_acknowledged(client, member, app, subject, config_key):
    response = _send(client, subject)
    assert response.status_code == 303 and response.headers["Location"].endswith("/entreprises/00010/messages")
    message = db.session.execute(select(ContactMessage)).scalar_one()
    assert message.recipient == app.config[config_key] and message.status == "nouveau"
    mails = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    assert mails[0].recipients == [app.config[config_key]] and mails[0].reply_to == "gerant@ferme.fr"
    assert "Ferme du Trieux" in mails[0].body_text
    assert mails[1].recipients == ["gerant@ferme.fr"] and "bien reçu" in mails[1].body_text
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "contact.sent")).scalar_one()


@pytest.mark.parametrize(
    ("name", "data", "ctype"), [("facture.pdf", PDF, "application/pdf"), ("photo.png", PNG, "image/png")]
)
def test_support_attachment_accepted_by_content(client, member, name, data, ctype):
    assert _send(client, "cotisation", attachment=(name, data)).status_code == 303
    message = db.session.execute(select(ContactMessage)).scalar_one()
    assert message.attachment_type == ctype and message.attachment_data == data
    mail = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().first()
    assert mail.attachments[0]["content_type"] == ctype
    assert base64.b64decode(mail.attachments[0]["data_b64"]) == data


def test_support_pdf_named_png_gets_its_real_extension(client, member):
    _send(client, attachment=("scan.png", PDF))
    message = db.session.execute(select(ContactMessage)).scalar_one()
    assert message.attachment_name == "scan.pdf" and message.attachment_type == "application/pdf"


@pytest.mark.parametrize(
    ("name", "data"),
    [("facture.pdf", EXE), ("notes.pdf", b"juste du texte, pas un PDF"), ("x.pdf", b"GIF89a" + b"\x00" * 40)],
)
def test_support_renamed_executable_is_refused_with_a_clear_message(client, member, name, data):
    response = _send(client, attachment=(name, data))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "n&#39;est pas un PDF, un PNG ou un JPEG" in html
    assert "Bonjour, une question." in html  # input kept
    assert not db.session.execute(select(ContactMessage)).first()
    assert not db.session.execute(select(OutboxMessage)).first()


def test_support_attachment_over_5_mb_is_refused(client, member):
    response = _send(client, attachment=("gros.pdf", PDF + b"0" * (5 * 1024 * 1024)))
    assert response.status_code == 422 and "5 Mo" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("", "Bonjour", "Choisissez l&#39;objet"),
        ("inconnu", "Bonjour", "Not a valid choice"),
        ("autre", "", "Écrivez votre message"),
        ("autre", "x" * 5001, "5000 caractères au maximum"),
    ],
)
def test_support_bad_input_is_422(client, member, subject, body, message):
    response = _send(client, subject, body)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True) or subject == "inconnu"


def test_support_contact_subject_preset_from_link(client, member):
    html = client.get(f"{CONTACT}?sujet=acces&objet=identite").get_data(as_text=True)
    assert '<option selected value="acces">' in html or 'value="acces" selected' in html
    assert "raison sociale" in html


def test_support_tiers_declarant_may_write_too(client, member):
    accountant = make_member(db.session.get(type(member), member.id).memberships[0].company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    assert _send(client).status_code == 303


def test_support_another_company_is_404(client, member):
    make_company("00020")
    db.session.commit()
    assert client.get("/entreprises/00020/contact").status_code == 404
    assert client.get("/entreprises/00020/messages").status_code == 404
    token = csrf_token(client, CONTACT)
    response = client.post("/entreprises/00020/contact", data={"subject": "autre", "body": "x", "csrf_token": token})
    assert response.status_code == 404
    assert not db.session.execute(select(ContactMessage)).first()


def test_support_my_messages_lists_status_with_fixed_queries(client, member):
    _send(client, "cotisation", "Première question")
    with count_queries() as few:
        html = client.get("/entreprises/00010/messages").get_data(as_text=True)
    assert "Première question" in html and "Nouveau" in html and "Cotisation et factures" in html
    for i in range(5):
        _send(client, "autre", f"Question {i}")
    with count_queries() as many:
        client.get("/entreprises/00010/messages")
    assert len(many) == len(few)


def test_support_my_messages_shows_only_mine(client, member):
    company = db.session.get(type(member), member.id).memberships[0].company
    colleague = make_member(company)
    db.session.commit()
    _send(client, body="Message de moi")
    login(client, colleague)
    assert "Message de moi" not in client.get("/entreprises/00010/messages").get_data(as_text=True)


def test_support_my_messages_paginates(client, member):
    company = db.session.get(type(member), member.id).memberships[0].company
    for i in range(25):
        db.session.add(
            ContactMessage(
                company_id=company.id,
                user_id=member.id,
                subject="autre",
                recipient="x@y.fr",
                body=f"Message numéro {i:02d}",
            )
        )
    db.session.commit()
    first = client.get("/entreprises/00010/messages").get_data(as_text=True)
    assert "Page 1 sur 2" in first and "Message numéro 24" in first and "Message numéro 00" not in first
    second = client.get("/entreprises/00010/messages?page=2").get_data(as_text=True)
    assert "Message numéro 00" in second
    assert client.get("/entreprises/00010/messages?page=abc").status_code == 200


# --------------------------------------------------------------------------- FAQ


def test_faq_is_public_and_grouped_by_theme(client):
    response = client.get("/faq")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("<h1") == 1
    for text in (
        "Créer son compte et se connecter",
        "Qu&#39;est-ce que le n° télédéclarant ?",
        "Vérifiez vos courriers indésirables",
        "Ajouter une entreprise",
        "Qu&#39;est-ce qu&#39;une visite de reprise ?",
        "SIR – suivi individuel renforcé",
        "Mot de passe oublié",
    ):
        assert text in html, text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("télédéclarant", "Qu&#39;est-ce que le n° télédéclarant ?"),
        ("teledeclarant", "Qu&#39;est-ce que le n° télédéclarant ?"),
        ("tiers déclarant", "Je suis tiers déclarant"),
        ("TIERS-DECLARANT", "Je suis tiers déclarant"),
        ("reprise", "visite de reprise"),
    ],
)
def test_faq_search_full_page_and_fragment(client, query, expected):
    full = client.get("/faq", query_string={"q": query}).get_data(as_text=True)
    assert "<html" in full and expected in full
    fragment = client.get("/faq", query_string={"q": query}, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and expected in body and "HX-Request" in fragment.headers["Vary"]
    assert "Comment est calculée la cotisation" not in body


def test_faq_search_without_match_says_so(client):
    html = client.get("/faq?q=zzzzzz").get_data(as_text=True)
    assert "0 réponse pour « zzzzzz »" in html


def test_faq_query_is_escaped(client):
    html = client.get("/faq", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html


def test_faq_markdown_is_rendered_safely(tmp_path):
    (tmp_path / "t.md").write_text(
        "theme: Test\norder: 1\n---\n\n## Question <b>?\n\nTexte **gras** <script>alert(1)</script> "
        "[lien](javascript:alert(1)) [ok](https://example.com)\n",
        encoding="utf-8",
    )
    themes = faq.load(tmp_path)
    answer = themes[0].questions[0].answer_html
    assert "<strong>gras</strong>" in answer and "<script>" not in answer and 'href="javascript' not in answer
    assert 'href="https://example.com"' in answer


def test_faq_is_cached_until_a_file_changes(tmp_path):
    import os

    path = tmp_path / "t.md"
    path.write_text("theme: A\n---\n## Q1\n\nR1\n", encoding="utf-8")
    first = faq.load(tmp_path)
    assert faq.load(tmp_path) is first
    path.write_text("theme: A\n---\n## Q1\n\nR1\n\n## Q2\n\nR2\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert len(faq.load(tmp_path)[0].questions) == 2
