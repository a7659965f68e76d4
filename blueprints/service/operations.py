"""Back-office operations: appointment requests, visits and their outcome, contact messages."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, make_response, request, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from blueprints.base_form import PortailForm
from blueprints.htmx import hx_redirect, render
from blueprints.navigation import page_arg
from blueprints.service import bp
from blueprints.service.access import staff_required
from blueprints.service.forms import REQUIRED
from blueprints.service.slots import _to_int
from extensions import db
from models.base import utcnow
from models.billing import DOC_KINDS
from models.planning import REQUEST_REASONS, REQUEST_STATUSES, VISIT_STATUSES, VISIT_TYPES
from models.support import STATUS_ANSWERED, STATUS_LABELS
from services import scope
from services.core import audit
from services.core.input_limits import parse_iso_date
from services.planning import reading, slot_series
from services.planning.common import PARIS, PlanningError, SlotTaken
from services.staff import operations as ops
from services.support.contact import SUBJECTS

MAX_ANSWER = 5000


def _slot_label(slot) -> str:
    local = slot.starts_at.astimezone(PARIS)
    return f"{local:%d/%m/%Y %H:%M} – {slot.centre.name} – {slot.professional.name}"


class PlaceForm(PortailForm):
    slot = SelectField("Créneau", coerce=_to_int, validate_choice=False)
    visit_type = SelectField(
        "Type de visite", choices=[SelectChoice(k, v) for k, v in VISIT_TYPES.items()], validate_choice=False
    )

    def validate_slot(self, field):
        if field.data <= 0:
            raise ValidationError("Choisissez un créneau.")

    def validate_visit_type(self, field):
        if field.data not in VISIT_TYPES:
            raise ValidationError("Choisissez un type de visite.")


class DeclineForm(PortailForm):
    message = TextAreaField(
        "Message à l'employeur",
        validators=[DataRequired(REQUIRED), Length(max=2000, message="2000 caractères au plus.")],
    )


class OutcomeForm(PortailForm):
    outcome = SelectField(
        "Résultat de la visite",
        choices=[SelectChoice("", "—"), *(SelectChoice(k, v) for k, v in ops.OUTCOMES.items())],
        validate_choice=False,
    )
    document_kind = SelectField(
        "Type de document",
        choices=[SelectChoice(k, DOC_KINDS[k]) for k in ops.DOCUMENT_KINDS],
        default="attestation",
        validate_choice=False,
    )
    document = FileField("Attestation ou avis (PDF, 5 Mo au plus)")
    bill_fee = BooleanField("Facturer l'absence")

    def validate_outcome(self, field):
        if field.data not in ops.OUTCOMES:
            raise ValidationError("Choisissez le résultat de la visite.")

    def validate_document_kind(self, field):
        if field.data not in ops.DOCUMENT_KINDS:
            raise ValidationError("Choisissez le type de document.")


class DocumentForm(PortailForm):
    document_kind = SelectField(
        "Type de document",
        choices=[SelectChoice(k, DOC_KINDS[k]) for k in ops.DOCUMENT_KINDS],
        default="attestation",
        validate_choice=False,
    )
    document = FileField("Attestation ou avis (PDF, 5 Mo au plus)")

    def validate_document_kind(self, field):
        if field.data not in ops.DOCUMENT_KINDS:
            raise ValidationError("Choisissez le type de document.")


class AnswerForm(PortailForm):
    answer = TextAreaField(
        "Votre réponse",
        validators=[DataRequired(REQUIRED), Length(max=MAX_ANSWER, message=f"{MAX_ANSWER} caractères au plus.")],
    )


class ActionForm(PortailForm):
    """Only the CSRF token."""


# --------------------------------------------------------------------------- helpers


def _choice_arg(name: str, allowed) -> str | None:
    value = request.args.get(name, "")
    return value if value in allowed else None


def _date_arg(name: str, default: date) -> date:
    return parse_iso_date(request.args.get(name, "")) or default


def _read_upload(field) -> bytes | None:
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return storage.read(ops.MAX_DOCUMENT + 1)


# --------------------------------------------------------------------------- requests


@bp.get("/demandes")
@staff_required()
def requests():
    """The queue of appointment requests, oldest first."""
    reason = _choice_arg("motif", REQUEST_REASONS)
    raw_status = request.args.get("statut")
    status = "en_attente" if raw_status is None else _choice_arg("statut", REQUEST_STATUSES)
    results = ops.request_queue(reason, status, page_arg())
    params = {"motif": reason or "", "statut": status or ""}
    return render(
        "service/ops/requests.html",
        "service/ops/_requests.html",
        results=results,
        reason=reason,
        current_status=status,
        params=params,
        reasons=REQUEST_REASONS,
        statuses=REQUEST_STATUSES,
    )


def _request_page(req, *, place_form=None, decline_form=None, status=200, error=None, fragment=None):
    wished, others = ops.slots_for_request(req, utcnow()) if req.status == "en_attente" else ([], [])
    if place_form is None:
        place_form = PlaceForm(formdata=None)
        place_form.visit_type.data = ops.REASON_VISIT_TYPES.get(req.reason, "a_la_demande")
        if req.reason == "embauche" and req.employee.next_due_kind:  # VIP or aptitude exam
            place_form.visit_type.data = req.employee.next_due_kind
    place_form.slot.choices = [
        ("", "—"),
        *[(s.id, _slot_label(s) + " (période souhaitée)") for s in wished],
        *[(s.id, _slot_label(s)) for s in others],
    ]
    context = {
        "req": req,
        "employee": req.employee,
        "place_form": place_form,
        "decline_form": decline_form or DeclineForm(formdata=None),
        "wished": wished,
        "others": others,
        "place_error": error,
    }
    return render("service/ops/request.html", fragment, status=status, **context)


@bp.get("/demandes/<int:request_id>")
@staff_required()
def request_detail(request_id: int):
    """One request: its facts, free slots to place it, or a refusal."""
    return _request_page(scope.request(scope.EVERY_COMPANY, request_id))


@bp.post("/demandes/<int:request_id>/placer")
@staff_required()
def request_place(request_id: int):
    """Place the request on a free slot: a confirmed visit, and the employer's e-mail."""
    req = scope.request(scope.EVERY_COMPANY, request_id)
    form = PlaceForm()
    fragment = "service/ops/_place_form.html"
    if not form.validate_on_submit():
        return _request_page(req, place_form=form, status=422, fragment=fragment)
    if req.status != "en_attente":
        return _request_page(
            req, place_form=form, status=409, error="Cette demande a déjà reçu une réponse.", fragment=fragment
        )
    now = utcnow()
    slot = reading.get_open_slot_or_none(req.company, form.slot.data, now)
    if slot is None:
        form.slot.errors = [*form.slot.errors, "Choisissez un créneau de la liste."]
        return _request_page(req, place_form=form, status=422, fragment=fragment)
    try:
        visit = ops.place_request(req, slot, form.visit_type.data, current_user, now)
        db.session.commit()
    except (IntegrityError, SlotTaken):
        db.session.rollback()
        req = scope.request(scope.EVERY_COMPANY, request_id)
        return _request_page(
            req,
            place_form=form,
            status=409,
            error="Ce créneau vient d'être pris. Choisissez-en un autre.",
            fragment=fragment,
        )
    except (PlanningError, ops.OperationError) as exc:
        db.session.rollback()
        req = scope.request(scope.EVERY_COMPANY, request_id)
        form.slot.errors = [*form.slot.errors, str(exc)]
        return _request_page(req, place_form=form, status=422, fragment=fragment)
    flash(f"Demande placée : visite du {visit.starts_at.astimezone(PARIS):%d/%m/%Y à %H:%M}.", "success")
    return hx_redirect(url_for("service.request_detail", request_id=req.id))


@bp.post("/demandes/<int:request_id>/refuser")
@staff_required()
def request_decline(request_id: int):
    """Refuse the request with a message to the employer."""
    req = scope.request(scope.EVERY_COMPANY, request_id)
    form = DeclineForm()
    fragment = "service/ops/_decline_form.html"
    if not form.validate_on_submit():
        return _request_page(req, decline_form=form, status=422, fragment=fragment)
    try:
        ops.decline_request(req, form.message.data.strip(), current_user, utcnow())
    except ops.OperationError as exc:
        db.session.rollback()
        req = scope.request(scope.EVERY_COMPANY, request_id)
        form.message.errors = [*form.message.errors, str(exc)]
        return _request_page(req, decline_form=form, status=409, fragment=fragment)
    db.session.commit()
    flash("Demande refusée : l'employeur a été prévenu.", "success")
    return hx_redirect(url_for("service.request_detail", request_id=req.id))


# --------------------------------------------------------------------------- visits


@bp.get("/visites")
@staff_required()
def visits():
    """Visits by date (by default the past 14 days and the next 7)."""
    today = utcnow().astimezone(PARIS).date()
    first = _date_arg("du", today - timedelta(days=14))
    last = _date_arg("au", today + timedelta(days=7))
    if last < first:
        first, last = last, first
    status = _choice_arg("statut", VISIT_STATUSES)
    centres = slot_series.centres()
    centre_raw = request.args.get("centre", "")
    centre_id = int(centre_raw) if centre_raw.isdecimal() and len(centre_raw) < 10 else None
    code = "".join(c for c in request.args.get("adherent", "") if c.isalnum() or c == "-")[:10] or None
    results = ops.visit_list(first, last, status, centre_id, code, page_arg())
    params = {
        "du": first.isoformat(),
        "au": last.isoformat(),
        "statut": status or "",
        "centre": centre_id or "",
        "adherent": code or "",
    }
    return render(
        "service/ops/visits.html",
        "service/ops/_visits.html",
        results=results,
        first=first,
        last=last,
        current_status=status,
        centre_id=centre_id,
        code=code or "",
        centres=centres,
        statuses=VISIT_STATUSES,
        params=params,
    )


def _visit_page(visit, *, outcome_form=None, document_form=None, status=200, fragment=None, **forms):
    from blueprints.service.visit_corrections import forms_for

    if outcome_form is None:
        outcome_form = OutcomeForm(formdata=None)
    return render(
        "service/ops/visit.html",
        fragment,
        status=status,
        visit=visit,
        outcome_form=outcome_form,
        document_form=document_form or DocumentForm(formdata=None),
        documents=ops.visit_documents(visit),
        fee=ops.visit_fee(visit),
        fee_amount=ops.no_show_amount(),
        outcome_open=visit.starts_at <= utcnow(),
        **forms_for(visit, **forms),
    )


@bp.get("/visites/<int:visit_id>")
@staff_required()
def visit_detail(visit_id: int):
    """One visit: its facts, the outcome form, its documents and fee."""
    return _visit_page(scope.visit(scope.EVERY_COMPANY, visit_id))


@bp.post("/visites/<int:visit_id>/resultat")
@staff_required()
def visit_outcome(visit_id: int):
    """Record the outcome of a visit (with its PDF, or the no-show fee)."""
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    form = OutcomeForm()
    fragment = "service/ops/_outcome_form.html"
    if not form.validate_on_submit():
        return _visit_page(visit, outcome_form=form, status=422, fragment=fragment)
    data = _read_upload(form.document)
    document = (form.document_kind.data, data) if data is not None else None
    try:
        ops.record_outcome(
            visit, form.outcome.data, current_user, utcnow(), document=document, bill_fee=form.bill_fee.data
        )
    except (ops.OperationError, IntegrityError) as exc:
        db.session.rollback()
        visit = scope.visit(scope.EVERY_COMPANY, visit_id)
        message = str(exc) if isinstance(exc, ops.OperationError) else "Ce résultat est déjà enregistré."
        target = form.document if getattr(exc, "field", None) == "document" else form.outcome
        target.errors = [*target.errors, message]
        return _visit_page(visit, outcome_form=form, status=422, fragment=fragment)
    db.session.commit()
    flash(f"Résultat enregistré : {ops.OUTCOMES[form.outcome.data]}.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit.id))


@bp.post("/visites/<int:visit_id>/document")
@staff_required()
def visit_document(visit_id: int):
    """Attach an attestation or avis to a visit already recorded as done."""
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    form = DocumentForm()
    fragment = "service/ops/_document_form.html"
    if not form.validate_on_submit():
        return _visit_page(visit, document_form=form, status=422, fragment=fragment)
    data = _read_upload(form.document)
    try:
        if data is None:
            raise ops.OperationError("Choisissez le fichier PDF.")
        ops.attach_document(visit, form.document_kind.data, data, current_user)
    except ops.OperationError as exc:
        db.session.rollback()
        visit = scope.visit(scope.EVERY_COMPANY, visit_id)
        form.document.errors = [*form.document.errors, str(exc)]
        return _visit_page(visit, document_form=form, status=422, fragment=fragment)
    db.session.commit()
    flash("Document ajouté à l'espace documentaire de l'adhérent.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit.id))


@bp.post("/visites/<int:visit_id>/facturer")
@staff_required()
def visit_bill(visit_id: int):
    """Add the no-show fee of a non-excused absence recorded earlier to the next invoice."""
    visit = scope.visit(scope.EVERY_COMPANY, visit_id)
    if not ActionForm().validate_on_submit():
        flash("La page a expiré : validez à nouveau.", "error")
        return hx_redirect(url_for("service.visit_detail", visit_id=visit.id))
    try:
        ops.bill_no_show(visit, current_user)
        db.session.commit()
    except (ops.OperationError, IntegrityError) as exc:
        db.session.rollback()
        message = str(exc) if isinstance(exc, ops.OperationError) else "Cette absence est déjà facturée."
        flash(message, "error")
        return hx_redirect(url_for("service.visit_detail", visit_id=visit_id))
    flash("Absence ajoutée à la prochaine facture.", "success")
    return hx_redirect(url_for("service.visit_detail", visit_id=visit.id))


# --------------------------------------------------------------------------- messages


@bp.get("/messages")
@staff_required()
def messages():
    """Contact messages by subject and status, oldest unanswered first."""
    subject = _choice_arg("sujet", SUBJECTS)
    status = _choice_arg("statut", STATUS_LABELS)
    results = ops.message_list(subject, status, page_arg())
    return render(
        "service/ops/messages.html",
        "service/ops/_messages.html",
        results=results,
        subject=subject,
        current_status=status,
        subjects={k: v[0] for k, v in SUBJECTS.items()},
        statuses=STATUS_LABELS,
        params={"sujet": subject or "", "statut": status or ""},
    )


def _message_page(message, *, form=None, status=200, fragment=None):
    return render(
        "service/ops/message.html",
        fragment,
        status=status,
        message=message,
        subject_label=SUBJECTS.get(message.subject, (message.subject,))[0],
        form=form or AnswerForm(formdata=None),
        action_form=ActionForm(),
        answered=message.status == STATUS_ANSWERED,
    )


@bp.get("/messages/<int:message_id>")
@staff_required()
def message_detail(message_id: int):
    """One message: its text, its attachment, the answer form."""
    return _message_page(scope.message(scope.EVERY_COMPANY, message_id))


@bp.post("/messages/<int:message_id>/repondre")
@staff_required()
def message_answer(message_id: int):
    """Answer the message: stored, shown in the sender's "Mes messages" and mailed to them."""
    message = scope.message(scope.EVERY_COMPANY, message_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _message_page(message, form=form, status=422, fragment="service/ops/_answer_form.html")
    ops.answer_message(message, form.answer.data.strip(), current_user, utcnow())
    db.session.commit()
    flash("Réponse envoyée.", "success")
    return hx_redirect(url_for("service.message_detail", message_id=message.id))


@bp.post("/messages/<int:message_id>/en-cours")
@staff_required()
def message_in_progress(message_id: int):
    """Mark the message as being handled."""
    message = scope.message(scope.EVERY_COMPANY, message_id)
    if not ActionForm().validate_on_submit():
        flash("La page a expiré : validez à nouveau.", "error")
    else:
        try:
            ops.mark_in_progress(message, current_user)
            db.session.commit()
            flash("Message marqué en cours.", "success")
        except ops.OperationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return hx_redirect(url_for("service.message_detail", message_id=message_id))


@bp.get("/messages/<int:message_id>/piece-jointe")
@staff_required()
def message_attachment(message_id: int):
    """Download the message's attachment (audited)."""
    message = scope.message(scope.EVERY_COMPANY, message_id)
    data = message.attachment_data
    if not data:
        abort(404)
    audit.record(
        "service.contact_attachment_downloaded",
        actor=current_user,
        company=message.company,
        target=message,
        ip=request.remote_addr,
    )
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = message.attachment_type or "application/octet-stream"
    name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in message.attachment_name or "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name.strip(".-") or "piece-jointe"}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_template_global("service_paris")
def service_paris(value):
    """A UTC timestamp in Paris time (for the back-office templates)."""
    return value.astimezone(PARIS) if value else None
