"""Back-office operations: answer appointment requests, record visit outcomes, answer messages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import filetype
from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from extensions import db
from models.billing import DOC_KINDS, Document, PendingFee
from models.companies import Company
from models.planning import AppointmentRequest, Slot, Visit
from models.support import STATUS_ANSWERED, STATUS_IN_PROGRESS, ContactMessage
from services.core import audit
from services.core.outbox import queue_mail
from services.planning import booking, common, reading
from services.planning.common import PARIS
from services.staff.team_and_members import Page
from services.support.contact import subject_label

PER_PAGE = 25
MAX_DOCUMENT = 5 * 1024 * 1024
DOCUMENT_KINDS = ("attestation", "avis")
OUTCOMES = {
    "realisee": "Réalisée",
    "absence_excusee": "Absence excusée",
    "absence_non_excusee": "Absence non excusée",
}
# The visit type an agent starts from when placing a request of each reason.
REASON_VISIT_TYPES = {
    "embauche": "vip_embauche",
    "reprise": "reprise",
    "pre_reprise": "pre_reprise",
    "a_la_demande": "a_la_demande",
    "mi_carriere": "mi_carriere",
    "post_exposition": "post_exposition",
    "rendez_vous_liaison": "rendez_vous_liaison",
    "autre": "a_la_demande",
}


class OperationError(ValueError):
    """A refused operation; the message is French and meant for the agent (`field`: which form
    field it is about, when it is one)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _page(stmt, order, page: int, options=()) -> Page:
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = max(1, min(page, 10_000))
    items = db.session.execute(
        stmt.options(*options).order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).scalars()
    return Page(list(items.unique()), total, page, PER_PAGE)


def paris_date(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


# --------------------------------------------------------------------------- requests


def request_queue(reason: str | None, status: str | None, page: int = 1) -> Page:
    """Appointment requests, oldest first (two queries)."""
    stmt = select(AppointmentRequest)
    if reason:
        stmt = stmt.where(AppointmentRequest.reason == reason)
    if status:
        stmt = stmt.where(AppointmentRequest.status == status)
    return _page(
        stmt,
        (AppointmentRequest.created_at, AppointmentRequest.id),
        page,
        (joinedload(AppointmentRequest.employee), joinedload(AppointmentRequest.company)),
    )


def slots_for_request(req: AppointmentRequest, now: datetime, limit: int = 60) -> tuple[list[Slot], list[Slot]]:
    """Free slots open to the request's company: (in the wished period, the next ones after now)."""
    company = req.company
    wished: list[Slot] = []
    if req.wished_from or req.wished_to:
        first = req.wished_from or paris_date(now)
        last = req.wished_to or first + timedelta(days=60)
        start = datetime.combine(first, time(0), PARIS).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), PARIS).astimezone(UTC)
        wished = reading.free_slots(company, start, end, now)[:limit]
    taken = {s.id for s in wished}
    others = [
        s
        for s in reading.free_slots(company, now, now + timedelta(days=90), now)[: limit + len(taken)]
        if s.id not in taken
    ][:limit]
    return wished, others


def place_request(req: AppointmentRequest, slot: Slot, visit_type: str, actor, now: datetime) -> Visit:
    """Answer a request with a confirmed visit on `slot`, through the employers' own booking
    function (same checks, same e-mail); IntegrityError/SlotTaken mean the slot was just taken."""
    if req.status != "en_attente":
        raise OperationError("Cette demande a déjà reçu une réponse.")
    visit = booking.book_slot(req.company, slot, req.employee_id, visit_type, actor, now)
    visit.request_id = req.id
    req.status = "planifiee"
    req.answered_at = now
    req.answered_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "service.request_placed", actor=actor, company=req.company, target=req, visit_id=visit.id, slot_id=slot.id
    )
    return visit


def decline_request(req: AppointmentRequest, message: str, actor, now: datetime) -> None:
    """Refuse a request with a message that goes to the employer users."""
    if req.status != "en_attente":
        raise OperationError("Cette demande a déjà reçu une réponse.")
    req.status = "refusee"
    req.service_answer = message
    req.answered_at = now
    req.answered_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record("service.request_declined", actor=actor, company=req.company, target=req)
    addresses = common.employer_addresses(req.company)
    if addresses:
        queue_mail(
            addresses,
            "Votre demande de rendez-vous",
            "service_request_declined",
            request=req,
            company=req.company,
            employee=req.employee,
        )


# --------------------------------------------------------------------------- visits


def visit_list(
    first: date, last: date, status: str | None, centre_id: int | None, company_code: str | None, page: int = 1
) -> Page:
    """Visits between two Paris days, by date (two queries)."""
    start = datetime.combine(first, time(0), PARIS).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), PARIS).astimezone(UTC)
    stmt = select(Visit).where(Visit.starts_at >= start, Visit.starts_at < end)
    if status:
        stmt = stmt.where(Visit.status == status)
    if centre_id:
        stmt = stmt.where(Visit.slot_id.in_(select(Slot.id).where(Slot.centre_id == centre_id)))
    if company_code:
        stmt = stmt.where(Visit.company_id.in_(select(Company.id).where(Company.code == company_code)))
    return _page(
        stmt,
        (Visit.starts_at, Visit.id),
        page,
        (
            joinedload(Visit.employee),
            joinedload(Visit.company),
            joinedload(Visit.slot).joinedload(Slot.centre),
            joinedload(Visit.slot).joinedload(Slot.professional),
        ),
    )


def visit_documents(visit: Visit) -> list[Document]:
    """Documents already attached to this visit (their file name ends with the visit id)."""
    return list(
        db.session.execute(
            select(Document)
            .where(
                Document.company_id == visit.company_id,
                Document.employee_id == visit.employee_id,
                Document.kind.in_(DOCUMENT_KINDS),
                Document.filename.like(f"%-{visit.id}.pdf"),
            )
            .order_by(Document.id)
        ).scalars()
    )


def visit_fee(visit: Visit) -> PendingFee | None:
    return db.session.execute(select(PendingFee).where(PendingFee.visit_id == visit.id)).scalar_one_or_none()


def check_pdf(data: bytes) -> None:
    if not data:
        raise OperationError("Le fichier est vide.", "document")
    if len(data) > MAX_DOCUMENT:
        raise OperationError("Le fichier dépasse 5 Mo : réduisez sa taille.", "document")
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime != "application/pdf":
        raise OperationError(
            "Ce fichier n'est pas un PDF (son contenu a été vérifié, pas seulement son nom).", "document"
        )


def attach_document(visit: Visit, kind: str, data: bytes, actor) -> Document:
    """Store the attestation or avis of a visit done in the company's document space."""
    if kind not in DOCUMENT_KINDS:
        raise OperationError("Choisissez le type de document.")
    if visit.status != "realisee":
        raise OperationError("Un document ne se joint qu'à une visite réalisée.")
    check_pdf(data)
    day = paris_date(visit.starts_at)
    document = Document(
        company_id=visit.company_id,
        kind=kind,
        title=f"{DOC_KINDS[kind]} – visite du {day:%d/%m/%Y}",
        employee_id=visit.employee_id,
        year=day.year,
        content=data,
        content_type="application/pdf",
        filename=f"{kind}-{day.isoformat()}-{visit.id}.pdf",
        size=len(data),
    )
    db.session.add(document)
    db.session.flush()
    audit.record(
        "service.visit_document_added",
        actor=actor,
        company=visit.company,
        target=document,
        visit_id=visit.id,
        kind=kind,
    )
    return document


def no_show_amount() -> Decimal:
    return Decimal(str(current_app.config.get("NO_SHOW_FEE_AMOUNT", "80.00"))).quantize(Decimal("0.01"))


def bill_no_show(visit: Visit, actor) -> PendingFee:
    """Record the no-show fee of a non-excused absence; the next invoice adds it (once)."""
    if visit.status != "absence_non_excusee":
        raise OperationError("Seule une absence non excusée peut être facturée.")
    if visit_fee(visit) is not None:
        raise OperationError("Cette absence est déjà facturée.")
    fee = PendingFee(
        company_id=visit.company_id,
        visit_id=visit.id,
        code="NO_SHOW",
        label=f"Absence non excusée à la visite du {paris_date(visit.starts_at):%d/%m/%Y}",
        amount=no_show_amount(),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(fee)
    db.session.flush()
    audit.record(
        "service.no_show_fee_recorded", actor=actor, company=visit.company, target=visit, amount=str(fee.amount)
    )
    return fee


def outcome_too_early(visit: Visit) -> str:
    return (
        "Le résultat d'une visite s'enregistre à partir de son heure de début "
        f"(le {visit.starts_at.astimezone(PARIS):%d/%m/%Y à %H:%M})."
    )


def record_outcome(
    visit: Visit,
    outcome: str,
    actor,
    now: datetime,
    *,
    document: tuple[str, bytes] | None = None,
    bill_fee: bool = False,
) -> None:
    """Record what happened at a visit, with its document (réalisée) or its fee (non excusée).
    The document is checked before anything changes, so a refused file leaves the visit as it was."""
    if outcome not in OUTCOMES:
        raise OperationError("Choisissez le résultat de la visite.")
    if visit.status not in ("proposee", "confirmee"):
        raise OperationError("Le résultat de cette visite est déjà enregistré.")
    if visit.starts_at > now:
        raise OperationError(outcome_too_early(visit))
    if document is not None:
        if outcome != "realisee":
            raise OperationError("Un document ne se joint qu'à une visite réalisée.", "document")
        if document[0] not in DOCUMENT_KINDS:
            raise OperationError("Choisissez le type de document.")
        check_pdf(document[1])
    if bill_fee and outcome != "absence_non_excusee":
        raise OperationError("Seule une absence non excusée peut être facturée.")
    visit.status = outcome
    visit.outcome_recorded_at = now
    db.session.flush()
    audit.record("service.visit_outcome", actor=actor, company=visit.company, target=visit, outcome=outcome)
    if document is not None:
        attach_document(visit, *document, actor)
    if bill_fee:
        bill_no_show(visit, actor)


# --------------------------------------------------------------------------- messages


def message_list(subject: str | None, status: str | None, page: int = 1) -> Page:
    """Contact messages, unanswered first, oldest first (two queries)."""
    stmt = select(ContactMessage)
    if subject:
        stmt = stmt.where(ContactMessage.subject == subject)
    if status:
        stmt = stmt.where(ContactMessage.status == status)
    answered_last = case((ContactMessage.status == STATUS_ANSWERED, 1), else_=0)
    return _page(
        stmt,
        (answered_last, ContactMessage.created_at, ContactMessage.id),
        page,
        (joinedload(ContactMessage.company), joinedload(ContactMessage.user)),
    )


def mark_in_progress(message: ContactMessage, actor) -> None:
    if message.status == STATUS_ANSWERED:
        raise OperationError("Ce message a déjà reçu une réponse.")
    message.status = STATUS_IN_PROGRESS
    db.session.flush()
    audit.record("service.message_in_progress", actor=actor, company=message.company, target=message)


def answer_message(message: ContactMessage, text: str, actor, now: datetime) -> None:
    """Store the answer and mail it to the sender (it also shows in their "Mes messages")."""
    message.status = STATUS_ANSWERED
    message.answer = text
    message.answered_at = now
    message.answered_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record("service.message_answered", actor=actor, company=message.company, target=message)
    sender = message.user
    if sender is not None and sender.active:
        queue_mail(
            sender.email,
            "Réponse à votre message",
            "support_answer",
            company=message.company,
            message=message,
            subject_label=subject_label(message.subject),
        )
