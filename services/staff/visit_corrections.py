"""Corrections the staff make after a visit: its outcome and its type, each audited with a reason.

A no-show fee recorded with a wrong "absence non excusée" is withdrawn: removed while it waits
for the next invoice, cancelled by a credit note once invoiced (services.billing issues it)."""

from __future__ import annotations

from datetime import datetime

from extensions import db
from models.billing import Invoice, PendingFee
from models.companies import Company
from models.planning import VISIT_TYPES, Visit
from services.billing import manual
from services.billing.common import BillingError
from services.core import audit
from services.planning import common
from services.staff.operations import (
    OUTCOMES,
    OperationError,
    bill_no_show,
    outcome_too_early,
    visit_documents,
    visit_fee,
)

MIN_REASON = 5


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise OperationError("Indiquez le motif de la correction (5 caractères au moins).", "reason")
    return reason


def can_correct(visit: Visit) -> bool:
    return visit.status in OUTCOMES


def withdraw_fee(fee: PendingFee, reason: str, actor, now: datetime) -> Invoice | None:
    """Withdraw a no-show fee added by mistake: deleted if not invoiced yet, otherwise cancelled by
    a credit note on the invoice that carried it (returned)."""
    company = db.session.get(Company, fee.company_id)
    credit_note = None
    if fee.invoice_id is None:
        db.session.delete(fee)
    else:
        invoice = db.session.get(Invoice, fee.invoice_id)
        # Through the ledger: the credit note names the invoice and is applied to it.
        try:
            credit_note = manual.issue_manual_credit_note(
                invoice,
                amount_ht=fee.amount,
                reason=f"Absence facturée par erreur : {reason}"[:300],
                actor=actor,
                label=f"Annulation – {fee.label}",
                on=now.date(),
            )
        except BillingError as exc:
            raise OperationError(str(exc)) from None
        fee.visit_id = None  # the visit may be billed again if a new outcome calls for it
    db.session.flush()
    audit.record(
        "service.no_show_fee_withdrawn",
        actor=actor,
        company=company,
        amount=str(fee.amount),
        reason=reason,
        credit_note=credit_note.number if credit_note else None,
    )
    return credit_note


def correct_outcome(visit: Visit, outcome: str, reason: str | None, actor, now: datetime, *, bill_fee: bool = False):
    """Replace a recorded outcome by another; the fee of a wrong non-excused absence is withdrawn.
    Returns the credit note issued, if any."""
    if outcome not in OUTCOMES:
        raise OperationError("Choisissez le résultat de la visite.", "outcome")
    if not can_correct(visit):
        raise OperationError("Le résultat de cette visite n'est pas encore enregistré.")
    if visit.starts_at > now:
        raise OperationError(outcome_too_early(visit))
    if outcome == visit.status:
        raise OperationError("Ce résultat est déjà celui de la visite.", "outcome")
    reason = _reason(reason)
    if visit.status == "realisee" and visit_documents(visit):
        raise OperationError(
            "Un document (attestation ou avis) est joint à cette visite réalisée : "
            "elle ne peut pas devenir une absence.",
            "outcome",
        )
    if bill_fee and outcome != "absence_non_excusee":
        raise OperationError("Seule une absence non excusée peut être facturée.", "outcome")
    old = visit.status
    fee = visit_fee(visit)
    credit_note = withdraw_fee(fee, reason, actor, now) if fee is not None else None
    visit.status = outcome
    visit.outcome_recorded_at = now
    db.session.flush()
    audit.record(
        "service.visit_outcome_corrected",
        actor=actor,
        company=visit.company,
        target=visit,
        old=old,
        new=outcome,
        reason=reason,
    )
    if bill_fee:
        bill_no_show(visit, actor)
    return credit_note


def change_visit_type(visit: Visit, visit_type: str, reason: str | None, actor) -> None:
    """Change the type of a visit (planned or recorded); the slot's professional must be allowed."""
    if visit_type not in VISIT_TYPES:
        raise OperationError("Choisissez un type de visite.", "visit_type")
    if visit_type == visit.visit_type:
        raise OperationError("La visite est déjà de ce type.", "visit_type")
    if visit.status == "annulee":
        raise OperationError("Cette visite est annulée.")
    reason = _reason(reason)
    if visit.slot is not None:
        try:
            common.check_professional(visit_type, visit.slot)
        except common.WrongProfessional as exc:
            raise OperationError(str(exc), "visit_type") from None
    old = visit.visit_type
    visit.visit_type = visit_type
    db.session.flush()
    audit.record(
        "service.visit_type_changed",
        actor=actor,
        company=visit.company,
        target=visit,
        old=old,
        new=visit_type,
        reason=reason,
    )
