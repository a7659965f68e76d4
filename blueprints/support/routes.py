"""Nous contacter, Mes messages (company-scoped) and the FAQ (public)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.htmx import render
from blueprints.login_session import client_ip
from blueprints.navigation import page_arg
from blueprints.scoping import company_view
from blueprints.security import public
from blueprints.support import bp
from blueprints.support.forms import ContactForm
from extensions import db
from services.support import contact as support_service
from services.support import faq as faq_service

IDENTITY_PRESET = (
    "Bonjour,\n\nNous souhaitons faire modifier la raison sociale et/ou le SIRET de notre entreprise. "
    "Vous trouverez le justificatif (extrait Kbis ou avis de situation Insee) en pièce jointe.\n\n"
    "Nouvelle valeur : "
)


def _contact_page(company, form, status=200):
    return render_template(
        "support/contact.html",
        company=company,
        form=form,
        subjects=support_service.SUBJECTS,
        max_message=support_service.MAX_MESSAGE,
    ), status


@bp.route("/entreprises/<code>/contact", methods=["GET", "POST"])
@company_view()
def contact(company):
    """Nous contacter: subject, message, optional attachment (PDF, PNG, JPEG, 5 Mo)."""
    form = ContactForm()
    if request.method == "GET":
        subject = request.args.get("sujet", "")
        if subject in support_service.SUBJECTS:
            form.subject.data = subject
        if request.args.get("objet") == "identite":
            form.body.data = IDENTITY_PRESET
        return _contact_page(company, form)
    if not form.validate():
        return _contact_page(company, form, 422)
    attachment = None
    upload = form.attachment.data
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.stream.read(support_service.MAX_ATTACHMENT + 1)
        try:
            support_service.check_attachment(upload.filename, data)
        except support_service.AttachmentError as exc:
            form.attachment.errors = [str(exc)]
            return _contact_page(company, form, 422)
        attachment = (upload.filename, data)
    message = support_service.send_message(
        company, current_user, form.subject.data, form.body.data, attachment, ip=client_ip()
    )
    db.session.commit()
    flash(
        f"Votre message n° {message.id} a été envoyé au service. Un accusé de réception vous a été adressé par e-mail.",
        "success",
    )
    return redirect(url_for("support.messages", code=company.code), code=303)


@bp.get("/entreprises/<code>/messages")
@company_view()
def messages(company):
    """Mes messages: what I sent the service for this company, with its status."""
    page = page_arg(most=10_000)
    rows, total = support_service.messages_of(company, current_user, page)
    pages = max(1, -(-total // support_service.PAGE_SIZE))
    return render_template(
        "support/messages.html",
        company=company,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        subject_label=support_service.subject_label,
    )


@bp.get("/faq")
@public
def faq():
    """The FAQ, grouped by theme, searchable as one types (htmx) or with the button (no JS)."""
    query = (request.args.get("q") or "")[:100]
    themes = faq_service.search(query)
    count = sum(len(t.questions) for t in themes)
    return render("support/faq.html", "support/_faq_results.html", themes=themes, query=query, count=count)
