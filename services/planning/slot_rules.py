"""What a new slot must respect: not in the past, and one professional in one place at a time.

Used by the CSV import (services.planning.slot_import.import_slots) and the series of the back office
(services.planning.slot_series.create_series): a slot identical to an existing one (same professional,
start, centre and duration) "exists already"; any other slot of the same professional that
overlaps it, in the same centre or another one, is a conflict and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from extensions import db
from models.planning import Centre, Professional, Slot

PARIS = ZoneInfo("Europe/Paris")
MAX_DURATION = timedelta(hours=8)


@dataclass(frozen=True)
class Planned:
    """A slot: who, when, how long, where (names, so that unsaved rows compare too)."""

    professional: str
    start: datetime  # UTC
    minutes: int
    centre: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def same_as(self, other: Planned) -> bool:
        return (
            self.professional.lower() == other.professional.lower()
            and self.start == other.start
            and self.minutes == other.minutes
            and self.centre.lower() == other.centre.lower()
        )

    def overlaps(self, other: Planned) -> bool:
        return (
            self.professional.lower() == other.professional.lower()
            and self.start < other.end
            and other.start < self.end
        )

    def describe(self) -> str:
        start, end = self.start.astimezone(PARIS), self.end.astimezone(PARIS)
        return f"le {start:%d/%m/%Y} de {start:%H:%M} à {end:%H:%M} au {self.centre}"


def existing_slots(professional_names, first: datetime, last: datetime) -> list[Planned]:
    """The slots of these professionals (by name, case-insensitive) that may overlap [first, last]."""
    professional_names = sorted(set(professional_names))
    if not professional_names:
        return []
    rows = db.session.execute(
        select(Professional.name, Slot.starts_at, Slot.duration_minutes, Centre.name)
        .join(Professional, Slot.professional_id == Professional.id)
        .join(Centre, Slot.centre_id == Centre.id)
        .where(
            Professional.name.in_(professional_names),
            Slot.starts_at > first - MAX_DURATION,
            Slot.starts_at < last,
        )
    ).all()
    return [Planned(p, s.astimezone(UTC), m, c) for p, s, m, c in rows]


def classify(new: Planned, existing: list[Planned]) -> tuple[str, Planned | None]:
    """("new", None), ("existing", same slot) or ("conflict", the overlapping slot)."""
    for other in existing:
        if new.same_as(other):
            return "existing", other
    for other in existing:
        if new.overlaps(other):
            return "conflict", other
    return "new", None


def conflict_message(new: Planned, other: Planned) -> str:
    return (
        f"{new.professional} a déjà un créneau {other.describe()} : le créneau {new.describe()} le chevauche "
        "(un professionnel ne peut pas être à deux endroits à la fois)."
    )


def past_message(new: Planned, now: datetime) -> str | None:
    if new.start <= now:
        return f"le créneau {new.describe()} est passé : seuls des créneaux à venir peuvent être ouverts."
    return None


def check_new_slots(lines: list[tuple[int, Planned]], now: datetime) -> tuple[list[str], set[int]]:
    """(errors "Ligne n : ...", line numbers of slots that exist already) for the slots of a file."""
    errors: list[str] = []
    same: set[int] = set()
    if not lines:
        return errors, same
    first = min(p.start for _, p in lines)
    last = max(p.end for _, p in lines)
    existing = existing_slots({p.professional for _, p in lines}, first, last)
    accepted: list[Planned] = []
    for number, planned in lines:
        past = past_message(planned, now)
        if past:
            errors.append(f"Ligne {number} : {past}")
            continue
        kind, other = classify(planned, existing)
        if kind == "existing":
            same.add(number)
            continue
        if kind == "conflict":
            errors.append(f"Ligne {number} : {conflict_message(planned, other)}")
            continue
        clash = next((o for o in accepted if planned.overlaps(o)), None)
        if clash is not None:
            errors.append(f"Ligne {number} : {conflict_message(planned, clash)} (autre ligne du fichier)")
            continue
        accepted.append(planned)
    return errors, same
