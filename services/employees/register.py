"""Employee register operations: hire, change, departure and its cancellation, duplicates,
each writing an EmployeeChange and an audit event. The caller commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, or_, select

from extensions import db
from models.companies import Company
from models.employees import CATEGORIES, Employee, EmployeeChange
from services import scope
from services.core import audit, crypto
from services.employees.follow_up import category_refusal, derive_category

# Fields an employer declares (the NIR is handled apart: "nir" in data, plain, validated).
DECLARED_FIELDS = (
    "birth_name",
    "usage_name",
    "first_names",
    "sex",
    "birth_date",
    "entry_date",
    "contract_nature",
    "apprentice",
    "job_title",
    "pcs_ese",
    "risks",
    "other_risk_justification",
    "night_work",
    "rqth",
)
FIELD_LABELS = {
    "company_id": "Établissement",
    "birth_name": "Nom de naissance",
    "usage_name": "Nom d'usage",
    "first_names": "Prénom(s)",
    "sex": "Sexe",
    "birth_date": "Date de naissance",
    "nir": "N° de sécurité sociale",
    "entry_date": "Date d'entrée",
    "contract_nature": "Nature du contrat",
    "apprentice": "Apprenti",
    "job_title": "Poste",
    "pcs_ese": "PCS-ESE",
    "risks": "Risques particuliers",
    "other_risk_justification": "Autre poste à risque (justification)",
    "night_work": "Travail de nuit",
    "rqth": "RQTH / pension d'invalidité",
    "category": "Catégorie de suivi",
    "exit_date": "Date de sortie",
    "exit_reason": "Motif de sortie",
}
EXIT_REASONS = {
    "fin_cdd": "Fin de contrat à durée déterminée",
    "demission": "Démission",
    "licenciement": "Licenciement",
    "rupture_conventionnelle": "Rupture conventionnelle",
    "retraite": "Départ à la retraite",
    "fin_periode_essai": "Fin de période d'essai",
    "fin_apprentissage": "Fin de contrat d'apprentissage",
    "fin_mission": "Fin de mission d'intérim",
    "deces": "Décès",
    "mutation": "Mutation dans un autre établissement",
    "autre": "Autre motif",
}
NIR_CHANGED = "modifié"


class EmployeeError(ValueError):
    """A refused operation; `field` names the form field, the message is French."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return sorted(value)
    return value


def _record_change(employee: Employee, kind: str, changes: dict, actor, role: str | None) -> EmployeeChange:
    change = EmployeeChange(
        employee=employee,
        company_id=employee.company_id,
        actor_id=getattr(actor, "id", None),
        actor_role=role,
        kind=kind,
        changes=changes or None,
    )
    db.session.add(change)
    return change


def _apply(employee: Employee, data: dict) -> dict:
    """Set the declared fields present in `data`; returns {field: [old, new]} (NIR: "modifié")."""
    changes: dict = {}
    for name in (*DECLARED_FIELDS, "company_id"):
        if name not in data:
            continue
        new = data[name]
        if name == "risks":
            new = sorted(new or [])
        if isinstance(new, str):
            new = new.strip() or None
            if name in ("birth_name", "first_names", "job_title", "sex", "contract_nature") and new is None:
                continue
        old = getattr(employee, name)
        if _plain(old) != _plain(new):
            changes[name] = [_plain(old), _plain(new)]
            setattr(employee, name, new)
    nir = data.get("nir")
    if nir:
        digest = crypto.nir_hash(nir)
        if digest != employee.nir_hash:
            employee.nir_encrypted = crypto.encrypt_nir(nir)
            employee.nir_hash = digest
            changes["nir"] = [None, NIR_CHANGED]
    category, _, _ = derive_category(
        employee.risks, employee.other_risk_justification, employee.night_work, employee.rqth
    )
    if category != employee.category:
        changes["category"] = [employee.category, category]
        employee.category = category
    return changes


def check_category(data: dict) -> None:
    """Refuse a category chosen by the employer that contradicts the answers."""
    chosen = data.get("category")
    if not chosen:
        return
    derived, _, explanation = derive_category(
        data.get("risks"), data.get("other_risk_justification"), data.get("night_work"), data.get("rqth")
    )
    if chosen != derived:
        raise EmployeeError(f"La catégorie choisie ne correspond pas aux réponses : {explanation}", "category")


def create_employee(company: Company, data: dict, actor, role: str | None, *, kind: str = "embauche") -> Employee:
    """Declare a new employee in `company` (or data["company_id"], one of its sites)."""
    check_category(data)
    target_id = data.get("company_id") or company.id
    if target_id not in scope.company_ids(company):
        raise EmployeeError("Établissement inconnu.", "company_id")
    employee = Employee(company_id=target_id, risks=[], category="SI", created_by_id=getattr(actor, "id", None))
    employee.contract_nature = "01"
    employee.apprentice = employee.night_work = employee.rqth = employee.contract_suspended = False
    db.session.add(employee)
    changes = _apply(employee, {**data, "company_id": target_id})
    changes.pop("company_id", None)
    # A hire has no "before": record what was declared, defaults included ("CDI", not "CDI → CDD").
    declared = {}
    for name in (*DECLARED_FIELDS, "category"):
        value = getattr(employee, name)
        if value not in (None, "", [], False):
            declared[name] = [None, _plain(value)]
    if "nir" in changes:
        declared["nir"] = [None, NIR_CHANGED]
    changes = declared
    db.session.flush()
    _record_change(employee, kind, changes, actor, role)
    audit.record(
        "employee.created",
        actor=actor,
        company=db.session.get(Company, target_id),
        target=employee,
        kind=kind,
    )
    if kind == "embauche" and role in ("employeur", "tiers_declarant"):
        from services.staff.convocations import open_hire_request

        open_hire_request(employee, actor)  # the initial visit goes to the service's queue
    return employee


def update_employee(employee: Employee, data: dict, actor, role: str | None) -> dict:
    """Change declared fields; returns the changes (empty when nothing changed)."""
    check_category(data)
    if "company_id" in data and data["company_id"] is None:
        data = {k: v for k, v in data.items() if k != "company_id"}
    changes = _apply(employee, data)
    if changes:
        db.session.flush()
        _record_change(employee, "modification", changes, actor, role)
        audit.record(
            "employee.updated",
            actor=actor,
            company=db.session.get(Company, employee.company_id),
            target=employee,
            fields=sorted(changes),
        )
    return changes


def check_departure(employee: Employee, exit_date: date, reason: str) -> None:
    """Raise EmployeeError when this departure cannot be declared (checked before confirming)."""
    if reason not in EXIT_REASONS:
        raise EmployeeError("Choisissez un motif de sortie dans la liste.", "exit_reason")
    if exit_date < employee.entry_date:
        raise EmployeeError("La date de sortie ne peut pas précéder la date d'entrée.", "exit_date")
    if employee.exit_date is not None:
        raise EmployeeError("Un départ est déjà déclaré pour ce salarié.", "exit_date")


def declare_departure(employee: Employee, exit_date: date, reason: str, actor, role: str | None) -> None:
    check_departure(employee, exit_date, reason)
    changes = {"exit_date": [None, exit_date.isoformat()], "exit_reason": [None, reason]}
    employee.exit_date, employee.exit_reason = exit_date, reason
    db.session.flush()
    _record_change(employee, "depart", changes, actor, role)
    audit.record(
        "employee.departure_declared",
        actor=actor,
        company=db.session.get(Company, employee.company_id),
        target=employee,
        reason=reason,
    )


def cancel_departure(employee: Employee, actor, role: str | None) -> None:
    """Undo a departure declared by mistake (no phone call needed)."""
    if employee.exit_date is None:
        raise EmployeeError("Aucun départ n'est déclaré pour ce salarié.")
    changes = {"exit_date": [employee.exit_date.isoformat(), None], "exit_reason": [employee.exit_reason, None]}
    employee.exit_date = employee.exit_reason = None
    db.session.flush()
    _record_change(employee, "annulation_depart", changes, actor, role)
    audit.record(
        "employee.departure_cancelled",
        actor=actor,
        company=db.session.get(Company, employee.company_id),
        target=employee,
    )


def find_probable_duplicates(company: Company, data: dict, *, exclude_id: int | None = None) -> list[Employee]:
    """Employees of the company, its sites or its sibling sites with the same NIR, or the same
    names and birth date."""
    conditions = []
    if data.get("nir"):
        conditions.append(Employee.nir_hash == crypto.nir_hash(data["nir"]))
    if data.get("birth_name") and data.get("first_names") and data.get("birth_date"):
        conditions.append(
            and_(
                func.lower(Employee.birth_name) == data["birth_name"].strip().lower(),
                func.lower(Employee.first_names) == data["first_names"].strip().lower(),
                Employee.birth_date == data["birth_date"],
            )
        )
    if not conditions:
        return []
    # A site's declaration is checked against the whole member (its parent and sibling sites):
    # the same person declared in two establishments is a duplicate too.
    group = db.session.get(Company, company.parent_id) if company.is_site else company
    query = select(Employee).where(Employee.company_id.in_(scope.company_ids(group)), or_(*conditions))
    if exclude_id is not None:
        query = query.where(Employee.id != exclude_id)
    return list(db.session.execute(query.order_by(Employee.id).limit(5)).scalars())


def reveal_nir(employee: Employee, actor, company: Company) -> str | None:
    """The full NIR for an authorised user; audited (employee.nir_viewed), never logged."""
    if not employee.nir_encrypted:
        return None
    audit.record("employee.nir_viewed", actor=actor, company=company, target=employee)
    return crypto.format_nir(crypto.decrypt_nir(employee.nir_encrypted))


def correct_category(employee: Employee, category: str, actor, role: str | None, *, source: str | None = None) -> bool:
    """The category the employer states while reviewing the annual declaration (the register
    derives it from the answers; this records a deliberate correction). False when unchanged."""
    if category not in CATEGORIES:
        raise EmployeeError("Choisissez une catégorie de la liste.", "category")
    if employee.category == category:
        return False
    refusal = category_refusal(employee, category)  # the register decides (issue 17)
    if refusal:
        raise EmployeeError(refusal, "category")
    changes = {"category": [employee.category, category]}
    employee.category = category
    db.session.flush()
    _record_change(employee, "modification", changes, actor, role)
    audit.record(
        "employee.updated",
        actor=actor,
        company=db.session.get(Company, employee.company_id),
        target=employee,
        fields=["category"],
        source=source,
    )
    return True
