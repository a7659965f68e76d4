"""The staff list as CSV: the service's template, a whole-file check, and the streamed export."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from extensions import db
from models.companies import Company
from models.employees import Employee
from services.employees.register import EXIT_REASONS

COLUMNS = [
    ("nom_naissance", "birth_name"),
    ("nom_usage", "usage_name"),
    ("prenoms", "first_names"),
    ("sexe", "sex"),
    ("date_naissance", "birth_date"),
    ("nir", "nir"),
    ("date_entree", "entry_date"),
    ("nature_contrat", "contract_nature"),
    ("apprenti", "apprentice"),
    ("poste", "job_title"),
    ("pcs_ese", "pcs_ese"),
    ("risques", "risks"),
    ("autre_risque_justification", "other_risk_justification"),
    ("travail_nuit", "night_work"),
    ("rqth", "rqth"),
]
HEADER = [c for c, _ in COLUMNS]
BOOLEAN_FIELDS = {"apprentice", "night_work", "rqth"}
MAX_ROWS = 5000
BOM = "\ufeff"
DATE_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def template_csv() -> str:
    example = [
        "DURAND",
        "",
        "Louis",
        "M",
        "17/05/1990",
        "",
        "08/01/2024",
        "01",
        "non",
        "Technicien de maintenance",
        "684a",
        "habilitation_electrique",
        "",
        "non",
        "non",
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerow(example)
    return BOM + out.getvalue()


@dataclass
class ImportCheck:
    rows: list[dict] = field(default_factory=list)  # data for the service, one per new employee
    updates: list[tuple] = field(default_factory=list)  # (employee already declared, data)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, French message)


def _decode(raw: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _iso(value: str) -> str:
    match = DATE_FR.match(value.strip())
    if match:
        d, m, y = match.groups()
        return f"{y}-{int(m):02d}-{int(d):02d}"
    return value.strip()


def check_file(
    raw: bytes, form_factory, duplicate_finder, site_ids: dict[str, int] | None = None, scope: set[int] | None = None
) -> ImportCheck:
    """Check every line with the declaration form; nothing is written here. A line of an
    employee already declared (same NIR, or names and birth date: one match) updates that
    employee, so an exported file can be corrected and imported again. `site_ids` maps the
    optional "etablissement" column (a code) to the company or site the line goes to; `scope`:
    the companies whose employees the import may update (not a sibling site's)."""
    result = ImportCheck()
    if b"\x00" in raw:
        result.errors.append((0, "Le fichier n'est pas un fichier texte CSV."))
        return result
    text = _decode(raw)
    if text is None:
        result.errors.append((0, "Le fichier doit être encodé en UTF-8 ou Windows-1252."))
        return result
    lines = text.splitlines()
    if not lines:
        result.errors.append((0, "Le fichier est vide."))
        return result
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        result.errors.append((1, "La ligne d'en-tête est illisible."))
        return result
    missing = [
        c for c in ("nom_naissance", "prenoms", "sexe", "date_naissance", "date_entree", "poste") if c not in header
    ]
    if missing:
        result.errors.append((1, "Colonnes manquantes : " + ", ".join(missing) + ". Utilisez le modèle à télécharger."))
        return result
    seen: dict[tuple, int] = {}
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if number - 1 > MAX_ROWS:
                result.errors.append((number, f"Le fichier dépasse {MAX_ROWS} salariés : découpez-le."))
                break
            record = dict(zip(header, values, strict=False))
            formdata = MultiDict()
            for column, name in COLUMNS:
                value = (record.get(column) or "").strip()
                if name in BOOLEAN_FIELDS:
                    if value.lower() in ("oui", "o", "1", "x", "vrai", "yes", "true"):
                        formdata.add(name, "y")
                elif name == "risks":
                    for risk in re.split(r"[|,]", value):
                        if risk.strip():
                            formdata.add("risks", risk.strip().lower())
                elif name in ("birth_date", "entry_date"):
                    formdata.add(name, _iso(value))
                elif name == "sex":
                    formdata.add(name, {"1": "M", "H": "M", "2": "F"}.get(value.upper(), value.upper()))
                elif name == "contract_nature":
                    formdata.add(name, value.zfill(2) if value else "01")
                else:
                    formdata.add(name, value)
            form = form_factory(formdata)
            if not form.validate():
                for name, errors in form.errors.items():
                    label = form[name].label.text if name in form else name
                    result.errors.append((number, f"{label} : {errors[0]}"))
                continue
            data = form.data_for_service()
            site = (record.get("etablissement") or "").strip()
            if site and site_ids is not None:
                if site not in site_ids:
                    result.errors.append(
                        (number, f"Établissement : « {site[:20]} » n'est ni l'entreprise ni l'un de ses sites.")
                    )
                    continue
                data["company_id"] = site_ids[site]
            key = (data["birth_name"].lower(), data["first_names"].lower(), data["birth_date"])
            if key in seen:
                result.errors.append((number, f"Ce salarié figure déjà ligne {seen[key]}."))
                continue
            seen[key] = number
            found = duplicate_finder(data)
            if len(found) > 1:
                result.errors.append(
                    (
                        number,
                        "Plusieurs salariés déclarés correspondent à cette ligne (même NIR, ou mêmes nom, "
                        "prénom et date de naissance) : corrigez-la depuis la fiche du salarié.",
                    )
                )
                continue
            if found and scope is not None and found[0].company_id not in scope:
                result.errors.append(
                    (number, "Ce salarié est déjà déclaré dans un autre établissement de l'entreprise.")
                )
                continue
            if found:
                result.updates.append((found[0], data))
            else:
                result.rows.append(data)
    except csv.Error:
        result.errors.append((0, "Le fichier CSV est mal formé."))
    if not result.rows and not result.updates and not result.errors:
        result.errors.append((0, "Le fichier ne contient aucun salarié."))
    return result


# The import's columns in the same order (the NIR left empty: never exported), then what the
# import reads too (etablissement) or ignores (categorie, computed; sortie, declared apart).
EXPORT_HEADER = [*HEADER, "etablissement", "categorie", "date_sortie", "motif_sortie"]


def _line(values) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _safe(value: str | None) -> str:
    # Excel runs cells starting with = + - @ as formulas.
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_lines(company_ids: list[int]):
    """Yield the CSV export line by line (BOM first), reading the rows in batches."""
    yield BOM + _line(EXPORT_HEADER)
    query = (
        select(Employee, Company.code)
        .join(Company, Company.id == Employee.company_id)
        .where(Employee.company_id.in_(company_ids))
        .order_by(Employee.search_text, Employee.id)  # as the list (queries.name_order)
        .execution_options(yield_per=500)
    )
    yes = {True: "oui", False: "non", None: "non"}
    for employee, code in db.session.execute(query).tuples():
        yield _line(
            [
                _safe(employee.birth_name),
                _safe(employee.usage_name),
                _safe(employee.first_names),
                employee.sex,
                f"{employee.birth_date:%d/%m/%Y}",
                "",  # nir: never exported
                f"{employee.entry_date:%d/%m/%Y}",
                employee.contract_nature,
                yes[employee.apprentice],
                _safe(employee.job_title),
                employee.pcs_ese or "",
                "|".join(employee.risks or []),
                _safe(employee.other_risk_justification),
                yes[employee.night_work],
                yes[employee.rqth],
                code,
                employee.category,
                f"{employee.exit_date:%d/%m/%Y}" if employee.exit_date else "",
                EXIT_REASONS.get(employee.exit_reason or "", employee.exit_reason or ""),
            ]
        )
