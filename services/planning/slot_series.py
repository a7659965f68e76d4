"""Slot series for the back office: create a series of slots, list a week, remove free slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from extensions import db
from models.base import utcnow
from models.companies import Company
from models.planning import PROFESSIONAL_KINDS, Centre, Professional, Slot, Visit
from services.core import audit
from services.core.clock import PARIS
from services.planning import slot_rules

MAX_SLOTS_PER_SERIES = 2000
MAX_SERIES_DAYS = 366
DURATIONS = (15, 20, 30, 45, 60)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi")


class SeriesError(Exception):
    """A series or a removal that cannot be done; `field` names the form field to blame."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class SeriesResult:
    created: int
    existing: int
    past: int
    first_start: datetime | None  # UTC start of the first slot of the series (created or not)


def series_starts(
    first_date: date, last_date: date, weekdays: set[int], start_time: time, end_time: time, duration_minutes: int
) -> list[datetime]:
    """UTC starts of every slot of the series: each `duration` step from start to end (the last
    slot ends at or before end_time), Paris wall-clock time, on the chosen weekdays (0 = Monday).
    Wall-clock times that do not exist (spring DST gap) are skipped."""
    if last_date < first_date:
        raise SeriesError("La date de fin doit être postérieure ou égale à la date de début.", "last_date")
    if (last_date - first_date).days >= MAX_SERIES_DAYS:
        raise SeriesError("Une série couvre au plus un an.", "last_date")
    if end_time <= start_time:
        raise SeriesError("L'heure de fin doit être après l'heure de début.", "end_time")
    if duration_minutes not in DURATIONS:
        raise SeriesError("Choisissez une durée proposée.", "duration")
    if not weekdays:
        raise SeriesError("Cochez au moins un jour de la semaine.", "weekdays")
    step = timedelta(minutes=duration_minutes)
    starts: list[datetime] = []
    day = first_date
    while day <= last_date:
        if day.weekday() in weekdays:
            moment = datetime.combine(day, start_time)
            end = datetime.combine(day, end_time)
            while moment + step <= end:
                local = moment.replace(tzinfo=PARIS)
                utc = local.astimezone(UTC)
                if utc.astimezone(PARIS).replace(tzinfo=None) == moment:  # not in the DST gap
                    starts.append(utc)
                    if len(starts) > MAX_SLOTS_PER_SERIES:
                        raise SeriesError(
                            f"Une série compte au plus {MAX_SLOTS_PER_SERIES} créneaux : réduisez la période.",
                            "last_date",
                        )
                moment += step
        day += timedelta(days=1)
    return starts


def create_series(
    centre: Centre,
    professional: Professional,
    first_date: date,
    last_date: date,
    weekdays: set[int],
    start_time: time,
    end_time: time,
    duration_minutes: int,
    reserved_company: Company | None,
    actor,
    *,
    now: datetime | None = None,
) -> SeriesResult:
    """Create the slots of a series, skipping those that exist already (same professional and
    start) and those in the past. Flushes; the caller commits."""
    now = now or utcnow()
    starts = series_starts(first_date, last_date, weekdays, start_time, end_time, duration_minutes)
    future = [s for s in starts if s > now]
    existing: set[datetime] = set()
    if future and professional.id is not None:
        # Same professional, start, centre and duration: exists already; any other overlap with
        # one of the professional's slots (in any centre) refuses the series (services.planning.reading.slot_rules).
        planned = [slot_rules.Planned(professional.name, s, duration_minutes, centre.name) for s in future]
        known = slot_rules.existing_slots([professional.name], planned[0].start, planned[-1].end)
        for item in planned:
            kind, other = slot_rules.classify(item, known)
            if kind == "conflict":
                raise SeriesError(slot_rules.conflict_message(item, other), "professional")
            if kind == "existing":
                existing.add(item.start)
    new = [s for s in future if s not in existing]
    for start in new:
        db.session.add(
            Slot(
                starts_at=start,
                duration_minutes=duration_minutes,
                centre=centre,
                professional=professional,
                reserved_company_id=reserved_company.id if reserved_company else None,
            )
        )
    db.session.flush()
    result = SeriesResult(
        created=len(new),
        existing=len(future) - len(new),
        past=len(starts) - len(future),
        first_start=future[0] if future else None,
    )
    audit.record(
        "slots.series_created",
        actor=actor,
        company=reserved_company,
        centre=centre.name,
        professional=professional.name,
        first_date=first_date.isoformat(),
        last_date=last_date.isoformat(),
        weekdays=sorted(weekdays),
        hours=f"{start_time:%H:%M}-{end_time:%H:%M}",
        duration=duration_minutes,
        created=result.created,
        existing=result.existing,
    )
    return result


def get_or_create_centre(name: str, address: str) -> Centre:
    centre = db.session.execute(
        select(Centre).where(func.lower(Centre.name) == name.strip().lower())
    ).scalar_one_or_none()
    if centre is None:
        centre = Centre(name=name.strip(), address=address.strip())
        db.session.add(centre)
        db.session.flush()
    return centre


def get_or_create_professional(name: str, kind: str) -> Professional:
    if kind not in PROFESSIONAL_KINDS:
        raise SeriesError("Choisissez la fonction du professionnel.", "new_professional_kind")
    professional = db.session.execute(
        select(Professional).where(func.lower(Professional.name) == name.strip().lower())
    ).scalar_one_or_none()
    if professional is None:
        professional = Professional(name=name.strip(), kind=kind)
        db.session.add(professional)
        db.session.flush()
    return professional


def remove_free_slots(slot_ids: list[int], actor, *, now: datetime | None = None) -> int:
    """Delete the given slots if every one is free (no active visit) and in the future; refuse
    the whole removal otherwise, so a slot booked meanwhile is never lost. Returns the count."""
    now = now or utcnow()
    ids = sorted(set(slot_ids))
    if not ids:
        raise SeriesError("Cochez au moins un créneau libre.")
    slots = db.session.execute(select(Slot.id, Slot.starts_at).where(Slot.id.in_(ids))).all()
    if len(slots) != len(ids):
        raise SeriesError("Certains créneaux n'existent plus : actualisez la page.")
    taken = db.session.execute(
        select(func.count()).select_from(Visit).where(Visit.active_slot_id.in_(ids))
    ).scalar_one()
    if taken:
        raise SeriesError(f"{taken} créneau(x) sélectionné(s) sont pris : aucun créneau n'a été supprimé.")
    if any(start.astimezone(UTC) <= now for _id, start in slots):
        raise SeriesError("Les créneaux passés ne peuvent pas être supprimés.")
    db.session.execute(delete(Slot).where(Slot.id.in_(ids)).execution_options(synchronize_session=False))
    db.session.flush()
    audit.record("slots.removed", actor=actor, count=len(ids), slot_ids=ids[:200])
    return len(ids)


@dataclass(frozen=True)
class WeekSlot:
    slot: Slot
    centre_name: str
    professional_name: str
    reserved_code: str | None
    taken_code: str | None  # member code of the active visit, None when free

    @property
    def taken(self) -> bool:
        return self.taken_code is not None


def week_slots(monday: date, centre_id: int | None, professional_id: int | None) -> list[WeekSlot]:
    """Every slot of the Paris week starting `monday`, with its taken state, in one query."""
    start = datetime.combine(monday, time(0), tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=PARIS).astimezone(UTC)
    reserved = aliased(Company)
    booked = aliased(Company)
    query = (
        select(Slot, Centre.name, Professional.name, reserved.code, booked.code)
        .join(Centre, Slot.centre_id == Centre.id)
        .join(Professional, Slot.professional_id == Professional.id)
        .outerjoin(reserved, Slot.reserved_company_id == reserved.id)
        .outerjoin(Visit, Visit.active_slot_id == Slot.id)
        .outerjoin(booked, Visit.company_id == booked.id)
        .where(Slot.starts_at >= start, Slot.starts_at < end)
        .order_by(Slot.starts_at, Centre.name, Professional.name)
        .limit(3000)
    )
    if centre_id:
        query = query.where(Slot.centre_id == centre_id)
    if professional_id:
        query = query.where(Slot.professional_id == professional_id)
    return [WeekSlot(*row) for row in db.session.execute(query).all()]


def free_slots_between(start: datetime, end: datetime) -> int:
    """Slots without an active visit starting in [start, end)."""
    return db.session.execute(
        select(func.count())
        .select_from(Slot)
        .outerjoin(Visit, Visit.active_slot_id == Slot.id)
        .where(Slot.starts_at >= start, Slot.starts_at < end, Visit.id.is_(None))
    ).scalar_one()


def centres() -> list[Centre]:
    """Every centre, by name (a handful), for the slot forms and filters."""
    return list(db.session.execute(select(Centre).order_by(Centre.name)).scalars())


def professionals() -> list[Professional]:
    """Every professional, by name, for the slot forms and filters."""
    return list(db.session.execute(select(Professional).order_by(Professional.name)).scalars())


def active_member(code: str) -> Company | None:
    """The active member or site with this code (a slot reserved to it), or None."""
    company = db.session.execute(select(Company).where(Company.code == code)).scalar_one_or_none()
    return company if company is not None and company.active else None
