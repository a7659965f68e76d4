"""The employee register of a company, and the history of what was declared about each one."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import UTCDateTime, utcnow

CATEGORY_SI = "SI"
CATEGORY_SIA = "SIA"
CATEGORY_SIR = "SIR"
CATEGORIES = (CATEGORY_SI, CATEGORY_SIA, CATEGORY_SIR)
CATEGORY_LABELS = {
    CATEGORY_SI: "SI – suivi individuel",
    CATEGORY_SIA: "SIA – suivi individuel adapté",
    CATEGORY_SIR: "SIR – suivi individuel renforcé",
}

# DSN S21.G00.40.007 nature du contrat.
CONTRACT_NATURES = {
    "01": "CDI",
    "02": "CDD",
    "03": "Intérim (contrat de mission)",
    "07": "CDI intermittent",
    "29": "Stage",
    "80": "Mandat social",
    "90": "Autre",
}

# R4624-23 risks: code -> label. "autre" (III) needs a written justification.
SIR_RISKS = {
    "amiante": "Amiante",
    "plomb": "Plomb",
    "cmr": "Agents cancérogènes, mutagènes ou toxiques pour la reproduction (CMR)",
    "biologiques": "Agents biologiques des groupes 3 et 4",
    "rayonnements": "Rayonnements ionisants",
    "hyperbare": "Risque hyperbare",
    "echafaudages": "Chute de hauteur lors du montage ou démontage d'échafaudages",
    "habilitation_electrique": "Habilitation électrique",
    "autorisation_conduite": "Autorisation de conduite",
    "manutention_55kg": "Manutention habituelle de charges de plus de 55 kg",
    "mineur_travaux_reglementes": "Moins de 18 ans affecté à des travaux réglementés",
}

# R4624-18 3° and 4° risks: a VIP before assignment, without making the post SIR.
VIP_RISKS = {
    "biologiques_groupe2": "Agents biologiques du groupe 2 (VIP avant l'affectation, R4624-18 3°)",
    "champs_electromagnetiques": (
        "Champs électromagnétiques au-delà des valeurs limites d'exposition (VIP avant l'affectation, R4624-18 4°)"
    ),
}
# Every risk an employer can declare for a post (the `risks` column holds these keys).
POST_RISKS = {**SIR_RISKS, **VIP_RISKS}

SEX_LABELS = {"M": "Homme", "F": "Femme"}

SEARCH_TEXT_LENGTH = 500
# Letters NFKD does not decompose.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def fold_search(text: str | None) -> str:
    """`text` without accents, in lower case, spaces collapsed: "Hélène  CŒUR" -> "helene coeur".

    The same folding on both sides of the employee search (the stored `search_text` and the
    words typed), so the search ignores case and accents on SQLite and PostgreSQL alike."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_LIGATURES))
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).lower().split())


class Employee(db.Model):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    birth_name: Mapped[str] = mapped_column(String(100))  # nom de naissance
    usage_name: Mapped[str | None] = mapped_column(String(100))  # nom d'usage
    first_names: Mapped[str] = mapped_column(String(150))
    sex: Mapped[str] = mapped_column(String(1))  # M | F
    birth_date: Mapped[date] = mapped_column(Date)
    # NIR: encrypted (services.core.crypto) and a keyed hash for duplicate detection; never plain.
    nir_encrypted: Mapped[str | None] = mapped_column(Text)
    nir_hash: Mapped[str | None] = mapped_column(String(64))
    entry_date: Mapped[date] = mapped_column(Date)
    contract_nature: Mapped[str] = mapped_column(String(2), default="01")
    contract_end_date: Mapped[date | None] = mapped_column(Date)  # planned end of a CDD
    contract_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    apprentice: Mapped[bool] = mapped_column(Boolean, default=False)
    job_title: Mapped[str] = mapped_column(String(120))  # poste (libellé de l'emploi)
    pcs_ese: Mapped[str | None] = mapped_column(String(4))
    risks: Mapped[list] = mapped_column(JSON, default=list)  # keys of POST_RISKS
    other_risk_justification: Mapped[str | None] = mapped_column(String(500))
    night_work: Mapped[bool] = mapped_column(Boolean, default=False)
    rqth: Mapped[bool] = mapped_column(Boolean, default=False)  # RQTH / pension d'invalidité
    category: Mapped[str] = mapped_column(String(3), default=CATEGORY_SI)
    # Set once the employee is in SIR and never cleared (the post-exposition visit at departure is
    # due to whoever is or was in SIR, L4624-2-1); kept by the ORM event below.
    ever_sir: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    exit_date: Mapped[date | None] = mapped_column(Date)
    exit_reason: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Birth name, usage name, first names and job, folded (fold_search): what "Rechercher"
    # matches. Kept by the ORM events below on every insert and update (bench/generate.py,
    # which writes rows without the ORM, fills it with the same function).
    search_text: Mapped[str] = mapped_column(String(SEARCH_TEXT_LENGTH), default="", server_default="")
    # The next visit due by the follow-up rules: date (a visit due before assignment is due at
    # the entry date), planning visit type and article. Kept by services.employees.next_due after every
    # flush that touches the employee or its visits; `flask follow-up verify` checks them.
    next_due_date: Mapped[date | None] = mapped_column(Date)
    next_due_kind: Mapped[str | None] = mapped_column(String(30))
    next_due_article: Mapped[str | None] = mapped_column(String(20))

    company = relationship("Company")

    __table_args__ = (
        # The list's name order (birth name, first names, id), then what its default filter
        # (present employees) and the search read: a page and the count of one company are
        # read from this index alone (no table rows) on SQLite and PostgreSQL.
        Index("ix_employees_company_name", "company_id", "birth_name", "first_names", "id", "exit_date", "search_text"),
        Index("ix_employees_company_entry", "company_id", "entry_date"),
        Index("ix_employees_company_exit", "company_id", "exit_date"),
        # The declaration review's aggregate (services.billing.review_declaration): every
        # column it reads, grouped by (category, apprentice), so it never reads a table row.
        Index(
            "ix_employees_company_billing",
            "company_id",
            "category",
            "apprentice",
            "entry_date",
            "exit_date",
            "contract_nature",
            "contract_suspended",
            "contract_end_date",
        ),
        Index("ix_employees_nir_hash", "nir_hash"),
        # The service's convocation list (every member, by due date) and the employers'
        # "Prochaine visite" order (services.staff.convocations, docs/PERFORMANCE.md).
        Index("ix_employees_next_due", "next_due_date", "id"),
        Index("ix_employees_next_due_kind", "next_due_kind", "next_due_date", "id"),  # one kind
        Index("ix_employees_company_next_due", "company_id", "next_due_date"),
    )

    @property
    def display_name(self) -> str:
        name = self.usage_name or self.birth_name
        return f"{name.upper()} {self.first_names}"

    @property
    def is_present(self) -> bool:
        return self.exit_date is None or self.exit_date >= date.today()

    @property
    def contract_label(self) -> str:
        return CONTRACT_NATURES.get(self.contract_nature, self.contract_nature)


def search_text_of(employee) -> str:
    parts = (employee.birth_name, employee.usage_name, employee.first_names, employee.job_title)
    return fold_search(" ".join(p for p in parts if p))[:SEARCH_TEXT_LENGTH]


@event.listens_for(Employee, "before_insert")
@event.listens_for(Employee, "before_update")
def _keep_search_text(mapper, connection, employee) -> None:
    employee.search_text = search_text_of(employee)
    if employee.category == CATEGORY_SIR:
        employee.ever_sir = True


class EmployeeChange(db.Model):
    """One declaration about an employee (hire, change, departure, cancelled departure)."""

    __tablename__ = "employee_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str | None] = mapped_column(String(20))  # employeur | tiers_declarant | service
    kind: Mapped[str] = mapped_column(String(20))  # embauche | modification | depart | annulation_depart
    # {field: [old, new]}; the NIR appears only as "modifié", never in clear.
    changes: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    employee: Mapped[Employee] = relationship()
    actor = relationship("User")

    __table_args__ = (Index("ix_employee_changes_company_created", "company_id", "created_at"),)

    KIND_LABELS = {
        "embauche": "Déclaration d'embauche",
        "modification": "Modification",
        "depart": "Déclaration de départ",
        "annulation_depart": "Annulation du départ",
        "import": "Import de la liste du personnel",
        "embauche_dsn": "Embauche (import DSN)",
    }
    HIRE_KINDS = ("embauche", "import", "embauche_dsn")

    @property
    def kind_label(self) -> str:
        return self.KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_hire(self) -> bool:
        """A hire's history lists what was declared, with no "before" value."""
        return self.kind in self.HIRE_KINDS
