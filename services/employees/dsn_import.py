"""Importer une DSN: compare a parsed DSN with the employee register of a company and its sites
(new hires, departures, changes, employees absent from the file), then apply what the user
ticked through the employee service (history, audit) in the caller's one transaction.

The file is never stored: between the check and the confirmation, the parsed identity and
contract data travel in the form, sealed (encrypted and signed, see services.core.crypto.seal)."""

from __future__ import annotations

import calendar
import json
import zlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from extensions import db
from models.companies import Company
from models.employees import CONTRACT_NATURES, Employee, fold_search
from services import scope
from services.core import audit, crypto
from services.core.french import MONTHS
from services.employees import register
from services.employees.dsn import EXIT_REASON_BY_DSN_CODE, KNOWN_NATURES, DsnError, DsnFile, DsnPerson
from services.employees.register import EXIT_REASONS, FIELD_LABELS, EmployeeError

SEAL_MAX_AGE_SECONDS = 2 * 3600
KIND_HIRE, KIND_DEPARTURE, KIND_CHANGE = "embauche", "depart", "modification"
APPLY_ORDER = {KIND_HIRE: 0, KIND_CHANGE: 1, KIND_DEPARTURE: 2}  # a change before a departure


@dataclass
class Proposal:
    """One line of the reconciliation the user may tick."""

    key: str  # stable between the check and the confirmation: embauche-<n>, depart-<id>, ...
    kind: str
    name: str
    establishment: Company
    employee: Employee | None = None
    data: dict = field(default_factory=dict)  # what the employee service receives
    details: list[tuple[str, str, str]] = field(default_factory=list)  # (label, before, after)
    exit_date: date | None = None
    exit_reason: str | None = None

    @property
    def exit_reason_label(self) -> str:
        return EXIT_REASONS.get(self.exit_reason or "", "")


@dataclass
class Reconciliation:
    month: date | None
    establishments: list[tuple[Company, int]]  # (company or site, people declared)
    hires: list[Proposal]
    departures: list[Proposal]
    changes: list[Proposal]
    absent: list[Employee]  # present in the register, not in the file: told, not changed
    unchanged: int

    @property
    def proposals(self) -> list[Proposal]:
        return [*self.hires, *self.changes, *self.departures]

    @property
    def people(self) -> int:
        return sum(count for _, count in self.establishments)

    @property
    def month_label(self) -> str:
        return f"{MONTHS[self.month.month - 1]} {self.month.year}" if self.month else ""


# --------------------------------------------------------------------------- sealing


def seal(company: Company, dsn: DsnFile) -> str:
    payload = json.dumps({"company_id": company.id, "dsn": dsn.to_plain()}, separators=(",", ":"))
    return crypto.seal(zlib.compress(payload.encode()))


def unseal(company: Company, token: str) -> DsnFile:
    raw = crypto.unseal(token or "", SEAL_MAX_AGE_SECONDS)
    try:
        payload = json.loads(zlib.decompress(raw)) if raw else None
    except (zlib.error, ValueError):
        payload = None
    if not payload or payload.get("company_id") != company.id:
        raise DsnError(
            "La vérification de ce fichier a expiré ou ne concerne pas cette entreprise : envoyez-le à nouveau."
        )
    return DsnFile.from_plain(payload["dsn"])


# --------------------------------------------------------------------------- reconciliation


def _format_siret(siret: str) -> str:
    return f"{siret[0:3]} {siret[3:6]} {siret[6:9]} {siret[9:14]}"


def _words(text: str | None) -> list[str]:
    return fold_search((text or "").replace("-", " ")).split()


def _title_case(text: str | None) -> str | None:
    """Payroll software writes in capitals: "JEAN-MARC" -> "Jean-Marc"; mixed case is kept."""
    if not text or text != text.upper():
        return text
    return "-".join(part.capitalize() for part in text.title().split("-"))


def _sentence_case(text: str | None) -> str | None:
    """ "VENDEUSE EN BOULANGERIE" -> "Vendeuse en boulangerie"; mixed case is kept."""
    if not text or text != text.upper():
        return text
    return text[0] + text[1:].lower()


def _nature(code: str | None) -> str:
    return code if code in KNOWN_NATURES else "90"


def _establishments(company: Company, dsn: DsnFile) -> dict[str, Company]:
    companies = db.session.execute(select(Company).where(Company.id.in_(scope.company_ids(company)))).scalars().all()
    by_siret: dict[str, Company] = {}
    # The member first, then its sites by code, should two of them share a SIRET.
    for candidate in sorted(companies, key=lambda c: (c.id != company.id, c.code)):
        if candidate.siret:
            by_siret.setdefault(candidate.siret, candidate)
    for siret, line in dsn.establishments:
        if siret not in by_siret:
            raise DsnError(
                f"l'établissement SIRET {_format_siret(siret)} n'est ni {company.name} ni l'un de ses sites : "
                "ce fichier concerne une autre entreprise. Rien n'a été enregistré.",
                line,
            )
    return by_siret


def _hire(index: int, person: DsnPerson, establishment: Company) -> Proposal:
    contract = person.contract
    data = {
        "birth_name": person.birth_name,
        "usage_name": person.usage_name,
        "first_names": _title_case(person.first_names),
        "sex": person.sex,
        "birth_date": person.birth_date,
        "entry_date": contract.start_date,
        "contract_nature": _nature(contract.nature),
        "apprentice": contract.apprentice,
        "job_title": _sentence_case(contract.job_title),
        "pcs_ese": contract.pcs_ese,
        "company_id": establishment.id,
    }
    if person.nir:
        data["nir"] = person.nir
    name = f"{(person.usage_name or person.birth_name).upper()} {data['first_names']}"
    proposal = Proposal(f"{KIND_HIRE}-{index}", KIND_HIRE, name, establishment, data=data)
    if contract.end_date:
        proposal.exit_date = contract.end_date
        proposal.exit_reason = EXIT_REASON_BY_DSN_CODE.get(contract.end_reason or "", "autre")
    return proposal


def _differences(employee: Employee, person: DsnPerson, establishment: Company, labels: dict) -> tuple[dict, list]:
    contract = person.contract
    data: dict = {}
    details: list[tuple[str, str, str]] = []

    def add(name: str, value, before: str, after: str) -> None:
        data[name] = value
        details.append((FIELD_LABELS[name], before, after))

    if _words(employee.birth_name) != _words(person.birth_name):
        add("birth_name", person.birth_name, employee.birth_name, person.birth_name)
    if person.usage_name and _words(employee.usage_name) != _words(person.usage_name):
        add("usage_name", person.usage_name, employee.usage_name or "—", person.usage_name)
    ours, theirs = _words(employee.first_names), _words(person.first_names)
    # "Anne" in the register and "ANNE MARIE" in the DSN are the same first names.
    if ours[: len(theirs)] != theirs and theirs[: len(ours)] != ours:
        add("first_names", _title_case(person.first_names), employee.first_names, _title_case(person.first_names))
    if person.nir and employee.nir_hash != crypto.nir_hash(person.nir):
        add("nir", person.nir, "non renseigné" if not employee.nir_hash else "différent", "celui de la DSN")
    if _words(employee.job_title) != _words(contract.job_title):
        job = _sentence_case(contract.job_title)
        add("job_title", job, employee.job_title, job)
    nature = _nature(contract.nature)
    if nature != employee.contract_nature:
        add(
            "contract_nature",
            nature,
            CONTRACT_NATURES.get(employee.contract_nature, employee.contract_nature),
            CONTRACT_NATURES[nature],
        )
    if contract.apprentice != bool(employee.apprentice):
        yes_no = {True: "oui", False: "non"}
        add("apprentice", contract.apprentice, yes_no[bool(employee.apprentice)], yes_no[contract.apprentice])
    if contract.pcs_ese and contract.pcs_ese != employee.pcs_ese:
        add("pcs_ese", contract.pcs_ese, employee.pcs_ese or "—", contract.pcs_ese)
    if establishment.id != employee.company_id:
        add("company_id", establishment.id, labels.get(employee.company_id, "—"), labels[establishment.id])
    return data, details


def reconcile(company: Company, dsn: DsnFile) -> Reconciliation:
    """What applying `dsn` to the register of `company` (and its sites) would change. Two queries
    whatever the size of the file: the companies, then their employees."""
    by_siret = _establishments(company, dsn)
    covered = {by_siret[siret].id for siret, _ in dsn.establishments}
    reached = list({c.id: c for c in by_siret.values()}.values())
    labels = {c.id: (c.site_label if c.is_site else c.label) for c in reached}
    employees = (
        db.session.execute(
            select(Employee).where(Employee.company_id.in_(scope.company_ids(company))).order_by(Employee.id.desc())
        )
        .scalars()
        .all()
    )
    by_nir: dict[str, Employee] = {}
    by_identity: dict[tuple, Employee] = {}
    # Present employees win over former ones (a person hired again), then the newest.
    for employee in sorted(employees, key=lambda e: e.exit_date is not None):
        if employee.nir_hash:
            by_nir.setdefault(employee.nir_hash, employee)
        first = _words(employee.first_names)[:1]
        by_identity.setdefault((tuple(_words(employee.birth_name)), tuple(first), employee.birth_date), employee)

    proposals: dict[str, Proposal] = {}
    matched: set[int] = set()
    counts: dict[int, int] = {}
    unchanged = 0
    for index, person in enumerate(dsn.people):
        establishment = by_siret[person.siret]
        counts[establishment.id] = counts.get(establishment.id, 0) + 1
        employee = by_nir.get(crypto.nir_hash(person.nir)) if person.nir else None
        if employee is None:
            identity = (tuple(_words(person.birth_name)), tuple(_words(person.first_names)[:1]), person.birth_date)
            employee = by_identity.get(identity)
        contract = person.contract
        if employee is None:
            if contract is not None:
                hire = _hire(index, person, establishment)
                proposals[hire.key] = hire
            continue
        matched.add(employee.id)
        if contract is None:
            continue
        data, details = _differences(employee, person, establishment, labels)
        if data:
            key = f"{KIND_CHANGE}-{employee.id}"
            proposals[key] = Proposal(
                key, KIND_CHANGE, employee.display_name, establishment, employee, data=data, details=details
            )
        if contract.end_date and employee.exit_date is None and contract.end_date >= employee.entry_date:
            key = f"{KIND_DEPARTURE}-{employee.id}"
            proposals[key] = Proposal(
                key,
                KIND_DEPARTURE,
                employee.display_name,
                establishment,
                employee,
                exit_date=contract.end_date,
                exit_reason=EXIT_REASON_BY_DSN_CODE.get(contract.end_reason or "", "autre"),
            )
        elif not data:
            unchanged += 1

    last_day = None
    if dsn.month:
        last_day = dsn.month.replace(day=calendar.monthrange(dsn.month.year, dsn.month.month)[1])
    absent = sorted(
        (
            e
            for e in employees
            if e.company_id in covered
            and e.id not in matched
            and e.exit_date is None
            and (last_day is None or e.entry_date <= last_day)
        ),
        key=lambda e: (_words(e.usage_name or e.birth_name), _words(e.first_names)),
    )
    by_kind = {kind: [p for p in proposals.values() if p.kind == kind] for kind in APPLY_ORDER}
    for items in by_kind.values():
        items.sort(key=lambda p: (_words(p.name), p.key))
    return Reconciliation(
        month=dsn.month,
        establishments=[(c, counts.get(c.id, 0)) for c in reached if c.id in covered],
        hires=by_kind[KIND_HIRE],
        departures=by_kind[KIND_DEPARTURE],
        changes=by_kind[KIND_CHANGE],
        absent=absent,
        unchanged=unchanged,
    )


# --------------------------------------------------------------------------- applying


def apply(company: Company, dsn: DsnFile, keys: set[str], actor, role: str | None) -> dict[str, int]:
    """Apply the ticked lines of the reconciliation, computed again against the register as it
    is now. Raises DsnError or EmployeeError; the caller commits, or rolls back on error."""
    reconciliation = reconcile(company, dsn)
    chosen = sorted((p for p in reconciliation.proposals if p.key in keys), key=lambda p: (APPLY_ORDER[p.kind], p.key))
    if not chosen:
        raise DsnError("Cochez au moins une ligne à appliquer.")
    counts = {KIND_HIRE: 0, KIND_CHANGE: 0, KIND_DEPARTURE: 0}
    for proposal in chosen:
        try:
            if proposal.kind == KIND_HIRE:
                employee = register.create_employee(company, proposal.data, actor, role, kind="embauche_dsn")
                if proposal.exit_date:
                    register.declare_departure(employee, proposal.exit_date, proposal.exit_reason, actor, role)
            elif proposal.kind == KIND_CHANGE:
                register.update_employee(proposal.employee, proposal.data, actor, role)
            else:
                register.declare_departure(proposal.employee, proposal.exit_date, proposal.exit_reason, actor, role)
        except EmployeeError as exc:
            raise DsnError(f"{proposal.name} : {exc}") from None
        counts[proposal.kind] += 1
    audit.record(
        "employee.dsn_applied",
        actor=actor,
        company=company,
        month=dsn.month.isoformat() if dsn.month else None,
        hires=counts[KIND_HIRE],
        changes=counts[KIND_CHANGE],
        departures=counts[KIND_DEPARTURE],
    )
    return counts


def check_file(company: Company, raw: bytes) -> tuple[Reconciliation, str]:
    """Read an uploaded DSN and compare it with the register: the reconciliation to show and
    the sealed data the confirmation sends back. Writes nothing; raises DsnError."""
    from services.employees.dsn import MAX_DSN_BYTES, parse

    if not raw:
        raise DsnError("Choisissez le fichier DSN à importer.")
    if len(raw) > MAX_DSN_BYTES:
        raise DsnError("Le fichier dépasse 8 Mo : importez la DSN d'un mois à la fois.")
    dsn = parse(raw)
    return reconcile(company, dsn), seal(company, dsn)


def reconcile_sealed(company: Company, token: str) -> Reconciliation:
    """The reconciliation of a file checked earlier (shown again when the confirmation fails)."""
    return reconcile(company, unseal(company, token))


def apply_sealed(company: Company, token: str, keys: set[str], actor, role: str | None) -> dict[str, int]:
    return apply(company, unseal(company, token), keys, actor, role)
