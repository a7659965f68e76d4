"""Demo data: the visits that took place, so that the register looks like a real small service.

Most employees are up to date; about one in ten is due soon ("À planifier") and one in ten late
("En retard"), each with a reason a person can check on the employee page (the last visit's
date and the rule's rhythm: 5 years in SI, 3 in SIA, 2 then 4 in SIR, R4624-16, -17, -28).
Visits are held by the professional the visit kind allows (services.employees.register.follow_up_law)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from extensions import db
from models.employees import CATEGORY_SIA, CATEGORY_SIR
from models.planning import Centre, Professional, Slot, Visit
from services.employees.follow_up import add_years

PARIS = ZoneInfo("Europe/Paris")
DUE_SHARE, LATE_SHARE = 0.10, 0.08


def _state(rng) -> str:
    draw = rng.random()
    return "late" if draw < LATE_SHARE else ("due" if draw < LATE_SHARE + DUE_SHARE else "ok")


def _last_visit(rng, today: date, rhythm_years: int, state: str) -> date:
    """The last periodic visit's date giving `state` for a renewal every `rhythm_years`."""
    renewal = add_years(today, -rhythm_years)
    if state == "late":
        return renewal - timedelta(days=rng.randint(20, 200))
    if state == "due":
        return renewal + timedelta(days=rng.randint(10, 80))
    return renewal + timedelta(days=rng.randint(120, 365 * rhythm_years - 60))


class _Agenda:
    """Past slots at a centre, one professional in one place at a time."""

    def __init__(self, centre: Centre):
        self.centre = centre
        self.used: set[tuple[int, datetime]] = set()

    def slot(self, professional: Professional, day: date) -> Slot:
        moment = datetime.combine(day, time(9), PARIS).astimezone(UTC)
        while (professional.id, moment) in self.used:
            moment += timedelta(minutes=30)
        self.used.add((professional.id, moment))
        slot = Slot(starts_at=moment, duration_minutes=30, centre_id=self.centre.id, professional_id=professional.id)
        db.session.add(slot)
        return slot


def _visit(agenda: _Agenda, employee, professional: Professional, day: date, visit_type: str) -> None:
    slot = agenda.slot(professional, day)
    db.session.flush()
    db.session.add(
        Visit(
            company_id=employee.company_id,
            employee_id=employee.id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            visit_type=visit_type,
            status="realisee",
            outcome_recorded_at=slot.starts_at + timedelta(minutes=30),
        )
    )


def step_follow_up_history(ctx) -> None:
    """Past visits for every employee without one (after step_planning: centres, doctor, nurse)."""
    rng, today = ctx.rng, ctx.today
    centre = db.session.execute(select(Centre).order_by(Centre.id)).scalars().first()
    doctor = db.session.execute(select(Professional).where(Professional.kind == "medecin")).scalars().first()
    nurse = db.session.execute(select(Professional).where(Professional.kind == "infirmier")).scalars().first()
    if centre is None or doctor is None or nurse is None:
        return
    agenda = _Agenda(centre)
    seen = set(db.session.execute(select(Visit.employee_id)).scalars())
    for staff in ctx.employees.values():
        for employee in staff:
            if employee.id in seen:
                continue
            state = _state(rng)
            if employee.entry_date > today - timedelta(days=80):
                continue  # a recent hire: the first VIP is still to plan (3 months, R4624-10)
            if employee.category == CATEGORY_SIR:
                _sir_history(agenda, employee, doctor, nurse, rng, today, state)
            else:
                rhythm = 3 if employee.category == CATEGORY_SIA else 5
                last = max(_last_visit(rng, today, rhythm, state), employee.entry_date + timedelta(days=20))
                first = last <= employee.entry_date + timedelta(days=90)
                kind = "vip_embauche" if first else "vip_periodique"
                _visit(agenda, employee, nurse if rng.random() < 0.6 else doctor, last, kind)
            year45 = employee.birth_date.year + 45
            if state != "late" and 2022 <= year45 < today.year and employee.entry_date.year <= year45:
                # Mi-carrière (L4624-2-2, since 31/03/2022) done in the year of the 45th birthday.
                _visit(agenda, employee, nurse, date(year45, rng.randint(4, 11), rng.randint(1, 28)), "mi_carriere")
            if employee.exit_date is not None and employee.category == CATEGORY_SIR and state != "late":
                _visit(agenda, employee, doctor, employee.exit_date, "post_exposition")
    db.session.flush()


def _sir_history(agenda, employee, doctor, nurse, rng, today: date, state: str) -> None:
    """SIR: the aptitude exam (the doctor's, R4624-24) and, past 2 years, the intermediate visit."""
    if state == "late":
        exam = add_years(today, -2) - timedelta(days=rng.randint(20, 200))  # intermediate visit overdue
    elif state == "due":
        exam = add_years(today, -2) + timedelta(days=rng.randint(10, 80))
    else:
        exam = today - timedelta(days=rng.randint(60, 3 * 365))
    exam = max(exam, employee.entry_date - timedelta(days=7))
    _visit(agenda, employee, doctor, exam, "examen_sir")
    if state == "ok" and exam < add_years(today, -2) + timedelta(days=90):
        _visit(agenda, employee, nurse, exam + timedelta(days=rng.randint(300, 700)), "intermediaire_sir")
