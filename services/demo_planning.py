"""Demo data for "Mon planning": centres, professionals, slots, visits, a proposal and a
request (one step of services/demo.py's DEMO_STEPS, apart so that each module stays small)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from extensions import db

if TYPE_CHECKING:
    from services.demo import DemoContext


def step_planning(ctx: DemoContext) -> None:
    """Mon planning: two centres, a doctor and a nurse, slots over the next four weeks (some
    reserved to 00010), booked and past visits, a proposal to confirm and a pending request."""
    from datetime import UTC, datetime, time

    from models.planning import Professional, Slot, Visit
    from services.planning import appointment_requests, booking, reading, slot_import, slot_series

    brieuc = slot_import.save_centre(
        "Centre de Saint-Brieuc",
        "10 rue de la Santé",
        "22000",
        "Saint-Brieuc",
        "Parking visiteurs à l'arrière du bâtiment ; accès PMR par l'entrée B.",
        actor_label="demo",
    )
    dinan = slot_import.save_centre(
        "Centre de Dinan", "4 place Duclos", "22100", "Dinan", "Au 1er étage, ascenseur.", actor_label="demo"
    )
    doctor = Professional(name="Dr Anne Le Bihan", kind="medecin")
    nurse = Professional(name="Yann Kerléo", kind="infirmier")
    db.session.add_all([doctor, nurse])
    db.session.flush()
    now = datetime.now(UTC)
    first, last = ctx.today + timedelta(days=1), ctx.today + timedelta(days=28)
    slot_series.create_series(brieuc, doctor, first, last, {0, 2, 4}, time(9), time(12), 30, None, None, now=now)
    slot_series.create_series(
        dinan, nurse, first, last, {1, 3}, time(14), time(17), 30, ctx.companies["00010"], None, now=now
    )
    employer = ctx.users["employer"]
    company = ctx.companies["00010"]
    staff = [e for e in ctx.employees.get("00010", []) if e.exit_date is None]
    free = (
        db.session.execute(select(Slot).where(Slot.starts_at > now).order_by(Slot.starts_at).limit(12)).scalars().all()
    )
    taken: set[int] = set()
    for employee in staff[:3]:
        _, visit_type = reading.suggest_next_visit(employee, [], ctx.today)
        # A slot of a professional allowed for this kind of visit (the SIR exam is the doctor's).
        slot = next((s for s in free[len(taken) * 4 :] + free if s.id not in taken and _allowed(visit_type, s)), None)
        if slot is not None:
            booking.book_slot(company, slot, employee.id, visit_type, employer, now)
            taken.add(slot.id)
    left = [s for s in free if s.id not in taken]
    if len(staff) > 3 and left:
        slot = left[0]
        db.session.add(
            Visit(
                company_id=company.id,
                employee_id=staff[3].id,
                slot_id=slot.id,
                active_slot_id=slot.id,
                starts_at=slot.starts_at,
                visit_type="vip_periodique",
                status="proposee",
                proposed_by_service=True,
            )
        )
    # Visits that took place: services.demo_follow_up.step_follow_up_history (next step).
    if len(staff) > 14:
        appointment_requests.create_request(
            company,
            {
                "employee_id": staff[14].id,
                "reason": "reprise",
                "absence_type": "maladie",
                "absence_start": ctx.today - timedelta(days=75),
                "absence_end": ctx.today + timedelta(days=5),
                "wished_from": ctx.today + timedelta(days=5),
                "wished_to": ctx.today + timedelta(days=12),
                "details": None,
                "comment": "Reprise à mi-temps thérapeutique.",
            },
            employer,
        )
    db.session.flush()


def _allowed(visit_type: str, slot) -> bool:
    from services.employees.follow_up_law import professional_refusal

    return professional_refusal(visit_type, visit_type, slot.professional.kind) is None
