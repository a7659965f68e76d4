"""Nous contacter and the FAQ in Chromium: a PDF reaches the SMTP server at the address of its
subject, a renamed .exe is refused, the FAQ search works with and without JavaScript."""

import base64

import pytest
from sqlalchemy import select

from extensions import db
from models import ContactMessage, OutboxMessage
from tests.conftest import browser_login, page_checks, screenshot
from tests.factories import make_company, make_member

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 200


def deliver_outbox(app) -> None:
    """Deliver the queued mail: the worker's deliver_pending() when the tree has it, else by hand."""
    db.session.commit()
    try:
        from services.core.outbox import deliver_pending
    except ImportError:
        deliver_pending = None
    if deliver_pending is not None:
        deliver_pending()
        db.session.commit()
        return
    from flask_mail import Message

    mail = app.extensions["mail"]
    suppress, mail.suppress = mail.suppress, False  # TESTING suppresses sending by default
    try:
        for row in db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalars():
            msg = Message(
                subject=row.subject,
                sender=row.sender,
                recipients=row.recipients,
                body=row.body_text,
                html=row.body_html,
                reply_to=row.reply_to,
            )
            for a in row.attachments or []:
                msg.attach(a["filename"], a["content_type"], base64.b64decode(a["data_b64"]))
            mail.send(msg)
            row.status = "sent"
    finally:
        mail.suppress = suppress
    db.session.commit()


def _member(live_server, page):
    company = make_company("00010", name="Ferme du Trieux")
    user = make_member(company, email="gerant@ferme.fr")
    db.session.commit()
    browser_login(page, live_server, user)


@pytest.mark.parametrize("js", [True, False])
def test_support_contact_with_pdf_reaches_the_billing_address(
    page, page_nojs, live_server, smtp_server, app, tmp_path, js
):
    pg = page if js else page_nojs
    _member(live_server, pg)
    pdf = tmp_path / "facture.pdf"
    pdf.write_bytes(PDF)
    pg.goto("/entreprises/00010/")
    pg.get_by_role("link", name="Nous contacter").first.click()
    if js:
        page_checks(pg, context="on the contact page")
    pg.get_by_label("Objet").select_option(label="Cotisation et factures")
    pg.get_by_label("Votre message").fill("Bonjour, voici la facture dont nous parlions.")
    pg.get_by_label("Pièce jointe (facultative)").set_input_files(str(pdf))
    pg.get_by_role("button", name="Envoyer le message").click()
    pg.get_by_role("heading", name="Mes messages").wait_for()
    assert "Nouveau" in pg.content() and "facture.pdf" in pg.content()
    screenshot(pg, "mes-messages")
    deliver_outbox(app)
    smtp_server.wait_for(2)
    to_service = [m for m in smtp_server.messages if app.config["SERVICE_BILLING_EMAIL"] in m["to"]]
    assert len(to_service) == 1
    attachments = list(to_service[0]["message"].iter_attachments())
    assert attachments[0].get_filename() == "facture.pdf" and attachments[0].get_content() == PDF
    assert any("gerant@ferme.fr" in m["to"] for m in smtp_server.messages)  # acknowledgement


@pytest.mark.parametrize("js", [True, False])
def test_support_renamed_exe_is_refused(page, page_nojs, live_server, tmp_path, js):
    pg = page if js else page_nojs
    _member(live_server, pg)
    fake = tmp_path / "facture.pdf"
    fake.write_bytes(EXE)
    pg.goto("/entreprises/00010/contact")
    pg.get_by_label("Objet").select_option(label="Autre")
    pg.get_by_label("Votre message").fill("Voici le document.")
    pg.get_by_label("Pièce jointe (facultative)").set_input_files(str(fake))
    pg.get_by_role("button", name="Envoyer le message").click()
    pg.get_by_text("Ce fichier n'est pas un PDF, un PNG ou un JPEG").first.wait_for()
    assert pg.get_by_label("Votre message").input_value() == "Voici le document."
    db.session.commit()
    assert db.session.execute(select(ContactMessage)).first() is None


def test_support_faq_active_search_with_javascript(page):
    page.goto("/faq")
    page_checks(page, context="on /faq")
    page.get_by_label("Rechercher dans la FAQ").press_sequentially("télédéclarant", delay=20)
    page.get_by_text("pour « télédéclarant »").wait_for()
    assert page.get_by_text("Qu'est-ce que le n° télédéclarant ?").is_visible()
    assert page.get_by_text("Comment est calculée la cotisation ?").count() == 0
    page.get_by_label("Rechercher dans la FAQ").fill("tiers déclarant")
    page.get_by_text("pour « tiers déclarant »").wait_for()
    assert page.get_by_text("Je suis tiers déclarant (cabinet comptable)").is_visible()
    assert page.get_by_role("heading", level=1).count() == 1
    screenshot(page, "faq")


def test_support_faq_search_without_javascript(page_nojs):
    page_nojs.goto("/faq")
    page_nojs.get_by_label("Rechercher dans la FAQ").fill("télédéclarant")
    page_nojs.get_by_role("button", name="Rechercher").click()
    page_nojs.get_by_text("pour « télédéclarant »").wait_for()
    assert "q=t%C3%A9l%C3%A9d%C3%A9clarant" in page_nojs.url
    assert page_nojs.get_by_text("Qu'est-ce que le n° télédéclarant ?").is_visible()
    page_nojs.get_by_label("Rechercher dans la FAQ").fill("tiers déclarant")
    page_nojs.get_by_role("button", name="Rechercher").click()
    page_nojs.get_by_text("pour « tiers déclarant »").wait_for()
    assert page_nojs.get_by_text("Je suis tiers déclarant (cabinet comptable)").is_visible()


def test_support_faq_fits_360px(mobile_page):
    mobile_page.goto("/faq?q=reprise")
    assert mobile_page.evaluate("document.documentElement.scrollWidth") <= 360
