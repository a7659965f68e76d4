"""Importing slots from the business software's CSV export, and saving centres (CLI)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from extensions import db
from models.companies import Company
from models.planning import (
    Centre,
    Professional,
    Slot,
)
from services.core import audit
from services.core.input_limits import is_plausible_date
from services.planning import slot_rules
from services.planning.common import PARIS, PlanningError

SLOT_CSV_COLUMNS = ["debut", "duree_minutes", "centre", "professionnel", "code_adherent"]
MAX_SLOT_ROWS = 20000


@dataclass
class SlotImportResult:
    created: int = 0
    existing: int = 0
    centres_created: list[str] = field(default_factory=list)
    professionals_created: list[str] = field(default_factory=list)


class SlotImportError(PlanningError):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def _parse_start(value: str) -> datetime | None:
    value = value.strip()
    parsed = None
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M"):
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            pass
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not is_plausible_date(parsed.date()):
        return None  # no arithmetic on year 9999 (docs/ROBUSTNESS.md)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PARIS)
    return parsed.astimezone(UTC)


def professional_kind_for(name: str) -> str:
    """Kind of a professional created by the import: "Dr ..." is a doctor, anyone else a nurse."""
    lowered = name.lower()
    return "medecin" if lowered.startswith(("dr ", "dr.", "docteur")) else "infirmier"


def import_slots(text: str, actor_label: str = "cli") -> SlotImportResult:
    """Check the whole file, then create what is new; nothing is written when a line is wrong.
    The same professional at the same start is the same slot (re-importing changes nothing).
    Unknown centres and professionals are created by name (centre address left empty: set it
    with `flask slots centre add`)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text), delimiter=";")
    rows = list(reader)
    errors: list[str] = []
    if not rows:
        raise SlotImportError(["Le fichier est vide."])
    header = [h.strip().lower() for h in rows[0]]
    if header != SLOT_CSV_COLUMNS:
        raise SlotImportError([f"Ligne 1 : en-tête attendu « {';'.join(SLOT_CSV_COLUMNS)} »."])
    if len(rows) - 1 > MAX_SLOT_ROWS:
        raise SlotImportError([f"Le fichier dépasse {MAX_SLOT_ROWS} lignes."])
    codes = {c for c in db.session.execute(select(Company.code)).scalars()}
    parsed = []
    seen: set[tuple[str, datetime]] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(SLOT_CSV_COLUMNS):
            errors.append(f"Ligne {number} : {len(SLOT_CSV_COLUMNS)} colonnes attendues, {len(row)} trouvées.")
            continue
        start_raw, duration_raw, centre, professional, code = (cell.strip() for cell in row)
        start = _parse_start(start_raw)
        if start is None:
            errors.append(f"Ligne {number} : date de début « {start_raw[:30]} » invalide (JJ/MM/AAAA HH:MM).")
        if not duration_raw.isdecimal() or not 5 <= int(duration_raw) <= 480:
            errors.append(f"Ligne {number} : durée « {duration_raw[:10]} » invalide (minutes, de 5 à 480).")
        if not centre or len(centre) > 120:
            errors.append(f"Ligne {number} : nom du centre manquant ou trop long (120 caractères au plus).")
        if not professional or len(professional) > 120:
            errors.append(f"Ligne {number} : nom du professionnel manquant ou trop long (120 caractères au plus).")
        if code and code not in codes:
            errors.append(f"Ligne {number} : code adhérent « {code[:10]} » inconnu.")
        if start is not None and professional:
            if (professional, start) in seen:
                errors.append(f"Ligne {number} : créneau en double dans le fichier ({professional}, {start_raw}).")
            seen.add((professional, start))
        parsed.append((start, duration_raw, centre, professional, code, number))
    if errors:
        raise SlotImportError(errors)
    errors, existing_lines = slot_rules.check_new_slots(
        [(n, slot_rules.Planned(p, s, int(d), c)) for s, d, c, p, _code, n in parsed], datetime.now(UTC)
    )
    if errors:
        raise SlotImportError(errors)

    result = SlotImportResult()
    centres = {c.name: c for c in db.session.execute(select(Centre)).scalars()}
    professionals = {p.name: p for p in db.session.execute(select(Professional)).scalars()}
    company_ids = dict(db.session.execute(select(Company.code, Company.id)).all())
    for start, duration, centre_name, professional_name, code, number in parsed:
        centre = centres.get(centre_name)
        if centre is None:
            centre = centres[centre_name] = Centre(name=centre_name, address="")
            db.session.add(centre)
            result.centres_created.append(centre_name)
        professional = professionals.get(professional_name)
        if professional is None:
            professional = Professional(name=professional_name, kind=professional_kind_for(professional_name))
            professionals[professional_name] = professional
            db.session.add(professional)
            result.professionals_created.append(professional_name)
        db.session.flush()
        if number in existing_lines:
            result.existing += 1
            continue
        db.session.add(
            Slot(
                starts_at=start,
                duration_minutes=int(duration),
                centre_id=centre.id,
                professional_id=professional.id,
                reserved_company_id=company_ids[code] if code else None,
            )
        )
        result.created += 1
    db.session.flush()
    audit.record("planning.slots_imported", actor_label=actor_label, created=result.created, existing=result.existing)
    return result


def save_centre(
    name: str,
    address: str,
    postal_code: str | None,
    city: str | None,
    access_notes: str | None,
    actor_label: str = "cli",
) -> Centre:
    centre = db.session.execute(select(Centre).where(Centre.name == name)).scalar_one_or_none()
    if centre is None:
        centre = Centre(name=name, address=address)
        db.session.add(centre)
    centre.address = address
    centre.postal_code = postal_code
    centre.city = city
    centre.access_notes = access_notes
    db.session.flush()
    audit.record("planning.centre_saved", actor_label=actor_label, target=centre)
    return centre
