"""Member import: parse and check a CSV export of the business software, then apply it."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert, select, update
from stdnum.fr import siret as siret_checker

from extensions import db
from models.base import utcnow
from models.companies import CODE_RE, Company
from services.core import audit
from services.core.credentials import hash_teledeclarant, normalise_teledeclarant

COLUMNS = (
    "code_adherent",
    "raison_sociale",
    "siret",
    "adresse",
    "code_postal",
    "ville",
    "telephone",
    "email",
    "num_teledeclarant",
)
# Optional columns: "date_adhesion" (JJ/MM/AAAA or AAAA-MM-JJ) decides the entry fee; an empty
# cell keeps the date already known.
OPTIONAL_COLUMNS = ("date_adhesion",)
# Maximum lengths follow the columns of models.companies.Company.
MAX_LENGTHS = {
    "raison_sociale": 200,
    "adresse": 300,
    "ville": 100,
    "telephone": 30,
    "email": 254,
    "num_teledeclarant": 64,
}
MAX_FILE_BYTES = 50 * 1024 * 1024
POSTAL_CODE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# The fields compared to decide whether an existing company changed.
_FIELDS = ("name", "siret", "address", "postal_code", "city", "phone", "email")


@dataclass(frozen=True)
class LineError:
    """One problem found in the file: its line number (1 = header) and a French reason."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"Ligne {self.line} : {self.message}" if self.line else self.message


@dataclass
class MemberRow:
    """One valid line of the file, normalised."""

    line: int
    code: str
    name: str
    siret: str
    address: str | None
    postal_code: str
    city: str
    phone: str | None
    email: str | None
    teledeclarant: str | None
    adhesion_date: date | None = None

    @property
    def parent_code(self) -> str | None:
        return self.code.split("-")[0] if "-" in self.code else None


@dataclass
class ParseResult:
    """What parse_member_csv found: valid rows, or errors (then nothing must be imported)."""

    rows: list[MemberRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    created_codes: list[str] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- parsing


def decode_csv(data: bytes) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM), else Windows-1252. Returns (text, encoding)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:  # bytes 0x81, 0x8d ... are undefined in cp1252
        raise ValueError("Encodage du fichier non reconnu : enregistrez-le en UTF-8.") from exc


def sniff_delimiter(header_line: str) -> str:
    """The header tells the delimiter: semicolon (French spreadsheets) or comma."""
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def parse_member_csv(data: bytes, *, known: dict[str, bool] | None = None) -> ParseResult:
    """Check the whole file and return every error with its line number, or the rows.

    `known` maps the codes already in the database to "has a n° télédéclarant"; it is loaded
    in one query when not given. No row is written here.
    """
    result = ParseResult()
    if len(data) > MAX_FILE_BYTES:
        result.errors.append(LineError(0, "Fichier trop volumineux (50 Mo au plus)."))
        return result
    try:
        text, result.encoding = decode_csv(data)
    except ValueError as exc:
        result.errors.append(LineError(0, str(exc)))
        return result
    if "\x00" in text:
        result.errors.append(LineError(0, "Le fichier contient des caractères nuls : ce n'est pas un fichier CSV."))
        return result
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        result.errors.append(LineError(1, "Fichier vide ou sans ligne d'en-tête."))
        return result
    result.delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=result.delimiter, strict=False)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        result.errors.append(LineError(1, "Ligne d'en-tête illisible."))
        return result
    header = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        parts = []
        if missing:
            parts.append("colonnes manquantes : " + ", ".join(missing))
        if unknown:
            parts.append("colonnes inconnues : " + ", ".join(unknown))
        if len(set(header)) != len(header):
            parts.append("colonne en double")
        result.errors.append(
            LineError(1, "En-tête incorrect (" + " ; ".join(parts) + "). Attendu : " + ";".join(COLUMNS) + ".")
        )
        return result
    positions = {name: header.index(name) for name in COLUMNS + OPTIONAL_COLUMNS if name in header}

    seen: dict[str, int] = {}
    line_start = reader.line_num + 1
    try:
        for record in reader:
            line = line_start
            line_start = reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                result.errors.append(
                    LineError(line, f"{len(record)} colonnes au lieu de {len(header)} (vérifiez le séparateur).")
                )
                continue
            values = {name: record[pos] for name, pos in positions.items()}
            row, problems = _check_record(line, values)
            if row is not None:
                if row.code in seen:
                    problems.append(f"code adhérent {row.code} déjà présent ligne {seen[row.code]}")
                else:
                    seen[row.code] = line
            for problem in problems:
                result.errors.append(LineError(line, problem))
            if row is not None and not problems:
                result.rows.append(row)
    except csv.Error as exc:
        result.errors.append(LineError(reader.line_num, f"ligne CSV illisible ({exc})."))
    if not result.rows and not result.errors:
        result.errors.append(LineError(0, "Le fichier ne contient aucune ligne d'adhérent."))
    if result.errors:
        result.rows = []
        return result
    _check_against_database(result, known if known is not None else _known_codes())
    if result.errors:
        result.rows = []
    return result


def _check_record(line: int, values: dict[str, str]) -> tuple[MemberRow | None, list[str]]:
    problems: list[str] = []
    for name, value in values.items():
        if "\r" in value or "\n" in value:
            problems.append(f"{name} : retour à la ligne interdit dans un champ")
        elif _CONTROL_RE.search(value):
            problems.append(f"{name} : caractère de contrôle interdit")
        limit = MAX_LENGTHS.get(name)
        if limit and len(value.strip()) > limit:
            problems.append(f"{name} : {limit} caractères au plus")
    if problems:
        return None, problems

    v = {k: " ".join(val.split()) for k, val in values.items()}
    code = v["code_adherent"]
    if not code:
        problems.append("code adhérent manquant")
    elif not CODE_RE.match(code):
        problems.append(f"code adhérent « {code[:20]} » invalide (5 chiffres, suivis de -N pour un site)")
    if not v["raison_sociale"]:
        problems.append("raison sociale manquante")
    siret = v["siret"].replace(" ", "").replace(".", "")
    if not siret:
        problems.append("SIRET manquant")
    elif not siret_checker.is_valid(siret):
        problems.append(f"SIRET « {siret[:20]} » invalide (14 chiffres et clé de contrôle)")
    postal_code = v["code_postal"].replace(" ", "").upper()
    if not postal_code:
        problems.append("code postal manquant")
    elif not POSTAL_CODE_RE.match(postal_code):
        problems.append(f"code postal « {postal_code[:10]} » invalide (5 chiffres)")
    if not v["ville"]:
        problems.append("ville manquante")
    phone = None
    if v["telephone"]:
        phone = _normalise_phone(v["telephone"])
        if phone is None:
            problems.append(f"téléphone « {v['telephone'][:30]} » invalide")
    email = None
    if v["email"]:
        try:
            email = validate_email(v["email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            problems.append(f"adresse e-mail « {v['email'][:60]} » invalide")
    adhesion_date = None
    if v.get("date_adhesion"):
        adhesion_date = _parse_date(v["date_adhesion"])
        if adhesion_date is None:
            problems.append(f"date d'adhésion « {v['date_adhesion'][:12]} » invalide (JJ/MM/AAAA)")
    teledeclarant = normalise_teledeclarant(v["num_teledeclarant"]) or None
    if teledeclarant is not None and len(teledeclarant) < 6:
        problems.append("n° télédéclarant trop court (6 caractères au moins)")
    if problems:
        return (
            MemberRow(line, code, "", "", None, "", "", None, None, None) if CODE_RE.match(code) else None
        ), problems
    return (
        MemberRow(
            line=line,
            code=code,
            name=v["raison_sociale"],
            siret=siret,
            address=v["adresse"] or None,
            postal_code=postal_code,
            city=v["ville"],
            phone=phone,
            email=email,
            teledeclarant=teledeclarant,
            adhesion_date=adhesion_date,
        ),
        problems,
    )


def _parse_date(raw: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            value = datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
        return value if date(1946, 1, 1) <= value <= date.today() else None
    return None


def _normalise_phone(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _known_codes() -> dict[str, bool]:
    """Every code in the database, with whether it has a n° télédéclarant (one query)."""
    rows = db.session.execute(select(Company.code, Company.teledeclarant_hash.is_not(None)))
    return {code: bool(has_number) for code, has_number in rows}


def _check_against_database(result: ParseResult, known: dict[str, bool]) -> None:
    members_in_file = {row.code for row in result.rows if row.parent_code is None}
    for row in result.rows:
        if row.parent_code and row.parent_code not in members_in_file and row.parent_code not in known:
            result.errors.append(
                LineError(
                    row.line, f"site {row.code} : l'adhérent {row.parent_code} est absent du fichier et du portail"
                )
            )
        if row.teledeclarant is None and not known.get(row.code, False):
            result.errors.append(LineError(row.line, f"n° télédéclarant manquant pour le nouvel adhérent {row.code}"))


# --------------------------------------------------------------------------- applying


def apply_member_import(rows: list[MemberRow], actor=None, *, dry_run: bool = False, source: str | None = None):
    """Create or update the companies of valid rows, in bulk, in the caller's transaction.

    Idempotent: a company is found by its code; re-importing the same file changes nothing.
    Members are written before their sites so that every site gets its parent's id. The
    caller commits (or rolls back for a dry run). Returns an ImportSummary.
    """
    summary = ImportSummary(dry_run=dry_run)
    existing = {
        r.code: r
        for r in db.session.execute(
            select(
                Company.id,
                Company.code,
                Company.parent_id,
                Company.teledeclarant_hash,
                Company.adhesion_date,
                *(getattr(Company, f) for f in _FIELDS),
            )
        )
    }
    ids = {code: r.id for code, r in existing.items()}
    now = utcnow()
    # Members first, then sites: a new site needs the id of a parent created just before.
    for pass_rows in (
        [r for r in rows if r.parent_code is None],
        [r for r in rows if r.parent_code is not None],
    ):
        inserts, updates = [], []
        for row in pass_rows:
            values = {
                "name": row.name,
                "siret": row.siret,
                "address": row.address,
                "postal_code": row.postal_code,
                "city": row.city,
                "phone": row.phone,
                "email": row.email,
            }
            if row.adhesion_date is not None:  # an empty cell keeps the known date
                values["adhesion_date"] = row.adhesion_date
            number_hash = hash_teledeclarant(row.code, row.teledeclarant) if row.teledeclarant else None
            parent_id = ids.get(row.parent_code) if row.parent_code else None
            current = existing.get(row.code)
            if current is None:
                inserts.append(
                    {
                        **values,
                        "code": row.code,
                        "adhesion_date": row.adhesion_date,
                        "parent_id": parent_id,
                        "teledeclarant_hash": number_hash,
                        "teledeclarant_changed_at": now,
                        "active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                summary.created_codes.append(row.code)
                continue
            changes = {k: v for k, v in values.items() if getattr(current, k) != v}
            if row.parent_code and current.parent_id != parent_id:
                changes["parent_id"] = parent_id
            if number_hash and number_hash != current.teledeclarant_hash:
                changes["teledeclarant_hash"] = number_hash
                changes["teledeclarant_changed_at"] = now
            if changes:
                updates.append({"id": current.id, **changes, "updated_at": now})
                summary.updated_codes.append(row.code)
            else:
                summary.unchanged += 1
        if dry_run:
            # New members get placeholder ids so that their sites count as created, not failed.
            ids.update({d["code"]: -1 for d in inserts})
            continue
        if inserts:
            created = db.session.execute(insert(Company).returning(Company.id, Company.code), inserts)
            ids.update({code: id_ for id_, code in created})
        for group in _group_by_keys(updates):
            db.session.execute(update(Company), group)
    summary.created = len(summary.created_codes)
    summary.updated = len(summary.updated_codes)
    if not dry_run:
        audit.record(
            "adherents.import",
            actor=actor,
            actor_label=None if actor is not None else "ligne de commande",
            source=source,
            rows=len(rows),
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
        )
        db.session.flush()
    return summary


def _group_by_keys(updates: list[dict]) -> list[list[dict]]:
    """Bulk UPDATE by primary key needs the same keys in every dict of one call."""
    groups: dict[tuple, list[dict]] = {}
    for item in updates:
        groups.setdefault(tuple(sorted(item)), []).append(item)
    return list(groups.values())


def format_errors(errors: list[LineError]) -> str:
    return "\n".join(str(e) for e in errors)
