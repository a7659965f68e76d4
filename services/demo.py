"""Deterministic demo data: members with sites, an accountant, an employer and employees.

Later features add their own data by appending a `step(ctx)` function to DEMO_STEPS; the
steps run in order, in one transaction, and share `ctx` (the objects created so far).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from stdnum import luhn

from extensions import db
from models import Company, Employee, Membership, User
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER
from models.employees import CATEGORY_SI, CATEGORY_SIA, CATEGORY_SIR
from services.auth.passwords import hash_password
from services.core import audit, clock
from services.core.credentials import hash_teledeclarant
from services.core.database import write_intent
from services.demo_follow_up import step_follow_up_history
from services.demo_planning import step_planning

SEED = 2026
DEMO_PASSWORD = "Demo-portail-2026!"  # noqa: S105 - published demo credential
EMPLOYER_EMAIL = "gerant@boulangerie-legoff.fr"
ACCOUNTANT_EMAIL = "compta@cabinet-exemple.fr"
# The three members to try first, with fixed n° télédéclarant (the others are seeded too).
FEATURED = {
    "00010": "BZH2-LEGO-FF10",
    "00010-2": "PAMP-2LGO-FF22",
    "00010-5": "DNAN-5LGO-FF22",
    "00020": "GARA-GECO-TE20",
    "00030": "KERA-VEL3-0INF",
}


class DemoAlreadyLoaded(RuntimeError):
    pass


@dataclass
class DemoContext:
    """What the steps share: a seeded random generator and the objects created so far."""

    rng: random.Random
    today: date
    companies: dict[str, Company] = field(default_factory=dict)
    teledeclarants: dict[str, str] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    employees: dict[str, list[Employee]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reference data

TOWNS = [
    ("22000", "Saint-Brieuc"),
    ("22500", "Paimpol"),
    ("22100", "Dinan"),
    ("22300", "Lannion"),
    ("22200", "Guingamp"),
    ("22400", "Lamballe-Armor"),
    ("22600", "Loudéac"),
    ("22700", "Perros-Guirec"),
    ("22800", "Quintin"),
    ("22190", "Plérin"),
    ("22360", "Langueux"),
    ("22440", "Ploufragan"),
    ("22120", "Yffiniac"),
    ("22370", "Pléneuf-Val-André"),
    ("22380", "Saint-Cast-le-Guildo"),
    ("22430", "Erquy"),
    ("22410", "Saint-Quay-Portrieux"),
    ("22110", "Rostrenen"),
    ("22160", "Callac"),
    ("22220", "Tréguier"),
    ("22260", "Pontrieux"),
    ("22290", "Lanvollon"),
    ("22150", "Plœuc-L'Hermitage"),
    ("22230", "Merdrignac"),
    ("22250", "Broons"),
    ("22130", "Plancoët"),
    ("22490", "Pleslin-Trigavou"),
    ("22170", "Châtelaudren-Plouagat"),
]
STREETS = [
    "rue de la République",
    "rue du Général Leclerc",
    "place du Martray",
    "rue Saint-Guillaume",
    "quai de Kernoa",
    "rue de Brest",
    "boulevard Clemenceau",
    "rue des Lilas",
    "rue du Port",
    "allée des Mouettes",
    "zone artisanale de Kerjaffrès",
    "rue Jean Jaurès",
    "rue de la Gare",
    "chemin de Ker Avel",
    "rue des Capucins",
    "parc d'activités du Chêne Vert",
]
# (raison sociale, NAF, jobs with their risks) for the generated members.
TRADES = [
    ("Crêperie {}", "5610A", [("Crêpier", []), ("Serveur", []), ("Plongeur", [])]),
    ("Menuiserie {}", "1623Z", [("Menuisier", ["autorisation_conduite"]), ("Poseur", ["echafaudages"])]),
    ("Transports {}", "4941A", [("Chauffeur poids lourd", ["autorisation_conduite"]), ("Agent de quai", [])]),
    ("Électricité {}", "4321A", [("Électricien", ["habilitation_electrique"]), ("Apprenti électricien", [])]),
    ("Boucherie {}", "4722Z", [("Boucher", []), ("Vendeur en boucherie", [])]),
    ("Pharmacie {}", "4773Z", [("Pharmacien", []), ("Préparateur en pharmacie", [])]),
    ("Couverture {}", "4391B", [("Couvreur", ["echafaudages", "amiante"]), ("Manœuvre", ["manutention_55kg"])]),
    ("Garage {}", "4520A", [("Mécanicien automobile", ["cmr"]), ("Carrossier peintre", ["cmr"])]),
    ("Laboratoire {}", "7120B", [("Technicien de laboratoire", ["biologiques"]), ("Secrétaire", [])]),
    ("EHPAD {}", "8710A", [("Aide-soignant", []), ("Infirmier de nuit", []), ("Agent de service", [])]),
    ("Conserverie {}", "1020Z", [("Opérateur de production", []), ("Cariste", ["autorisation_conduite"])]),
    ("Cabinet dentaire {}", "8623Z", [("Assistant dentaire", ["rayonnements"]), ("Secrétaire médicale", [])]),
    ("Plomberie {}", "4322A", [("Plombier chauffagiste", ["plomb"]), ("Apprenti plombier", [])]),
    ("Librairie {}", "4761Z", [("Libraire", []), ("Vendeur", [])]),
]
NAMES = [
    "Le Goff",
    "Le Gall",
    "Le Bihan",
    "Le Roux",
    "Guillou",
    "Tanguy",
    "Le Corre",
    "Morvan",
    "Le Moal",
    "Jézéquel",
    "Kerhervé",
    "Le Floch",
    "Quéré",
    "Riou",
    "Prigent",
    "Hamon",
    "Le Brun",
    "Cadiou",
    "Le Bras",
    "Nicolas",
    "Salaün",
    "Ollivier",
    "Le Men",
    "Guéguen",
    "Lozac'h",
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
]
FIRST_NAMES_F = [
    "Anne",
    "Maëlle",
    "Nolwenn",
    "Gwenaëlle",
    "Soizic",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Émilie",
    "Marie",
    "Julie",
    "Sophie",
    "Claire",
    "Aurélie",
    "Katell",
    "Morgane",
    "Élodie",
    "Inès",
    "Louise",
]
FIRST_NAMES_M = [
    "Yann",
    "Erwan",
    "Loïc",
    "Gaël",
    "Ronan",
    "Tanguy",
    "Mathis",
    "Hugo",
    "Lucas",
    "Thomas",
    "Nicolas",
    "Julien",
    "Maxime",
    "Pierre",
    "Kévin",
    "Gwendal",
    "Corentin",
    "Romain",
    "Antoine",
    "Jean",
]
CREATURES = [
    "de l'Argoat",
    "du Trégor",
    "de la Rance",
    "du Goëlo",
    "de Bréhat",
    "des Sept-Îles",
    "du Penthièvre",
    "du Léguer",
    "de l'Arguenon",
    "du Mené",
    "de la Baie",
    "des Korrigans",
    "Ar Mor",
    "Breizh",
]
EXIT_REASONS = ["Fin de contrat à durée déterminée", "Démission", "Départ à la retraite", "Rupture conventionnelle"]


def make_siret(rng: random.Random) -> str:
    """A SIRET that passes the Luhn checks (SIREN and SIRET), from the seeded generator."""
    siren_body = f"{rng.randrange(10**7, 10**8):08d}"
    siren = siren_body + luhn.calc_check_digit(siren_body)
    nic_body = f"{rng.randrange(1, 10**3):04d}"
    return siren + nic_body + luhn.calc_check_digit(siren + nic_body)


def _teledeclarant(rng: random.Random) -> str:
    from services.core.credentials import _ALPHABET

    raw = "".join(rng.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def _phone(rng: random.Random) -> str:
    return "02 96 " + " ".join(f"{rng.randrange(100):02d}" for _ in range(3))


# --------------------------------------------------------------------------- steps


def _add_company(ctx: DemoContext, code: str, name: str, postal_code: str, city: str, *, parent=None, naf=None):
    number = FEATURED.get(code) or _teledeclarant(ctx.rng)
    company = Company(
        code=code,
        parent=parent,
        name=name,
        siret=make_siret(ctx.rng),
        naf=naf,
        address=f"{ctx.rng.randrange(1, 80)} {ctx.rng.choice(STREETS)}",
        postal_code=postal_code,
        city=city,
        phone=_phone(ctx.rng),
        email=None,
        teledeclarant_hash=hash_teledeclarant(code, number),
        teledeclarant_changed_at=utcnow(),
    )
    db.session.add(company)
    ctx.companies[code] = company
    ctx.teledeclarants[code] = number
    return company


def step_companies(ctx: DemoContext) -> None:
    """Members 00010 (two sites), 00020, 00030, and about forty more around the Côtes-d'Armor."""
    legoff = _add_company(ctx, "00010", "Boulangerie Le Goff", "22000", "Saint-Brieuc", naf="1071C")
    legoff.email = "contact@boulangerie-legoff.fr"
    _add_company(ctx, "00010-2", "Boulangerie Le Goff", "22500", "Paimpol", parent=legoff, naf="1071C")
    _add_company(ctx, "00010-5", "Boulangerie Le Goff", "22100", "Dinan", parent=legoff, naf="1071C")
    _add_company(ctx, "00020", "Garage des Côtes", "22190", "Plérin", naf="4520A")
    _add_company(ctx, "00030", "Cabinet infirmier Ker Avel", "22300", "Lannion", naf="8690D")
    used = set()
    for index in range(42):
        trade, naf, _jobs = TRADES[index % len(TRADES)]
        while True:
            suffix = ctx.rng.choice(CREATURES + NAMES)
            name = trade.format(suffix)
            if name not in used:
                used.add(name)
                break
        postal_code, city = ctx.rng.choice(TOWNS)
        _add_company(ctx, f"{100 + index * 10:05d}", name, postal_code, city, naf=naf)
    db.session.flush()


def step_users(ctx: DemoContext) -> None:
    """The employer of 00010 and an accountant linked to thirty companies."""
    password_hash = hash_password(DEMO_PASSWORD)
    employer = User(
        email=EMPLOYER_EMAIL,
        first_name="Maëlle",
        last_name="Le Goff",
        job_title="Gérante",
        mobile="06 12 34 56 78",
        password_hash=password_hash,
    )
    accountant = User(
        email=ACCOUNTANT_EMAIL,
        first_name="Yann",
        last_name="Kerhervé",
        job_title="Expert-comptable, Cabinet Exemple",
        password_hash=password_hash,
    )
    db.session.add_all([employer, accountant])
    db.session.add(Membership(user=employer, company=ctx.companies["00010"], role=ROLE_EMPLOYER))
    members = [c for code, c in ctx.companies.items() if "-" not in code]
    for company in members[:30]:
        db.session.add(Membership(user=accountant, company=company, role=ROLE_ACCOUNTANT))
    ctx.users["employer"] = employer
    ctx.users["accountant"] = accountant
    db.session.flush()


def _jobs_for(code: str, company: Company) -> list[tuple[str, list[str]]]:
    if code.startswith("00010"):
        return [
            ("Boulanger", []),
            ("Boulanger de nuit", []),
            ("Vendeuse", []),
            ("Pâtissier", []),
            ("Livreur", ["autorisation_conduite"]),
        ]
    if code == "00020":
        return [
            ("Mécanicien automobile", ["cmr"]),
            ("Carrossier peintre", ["cmr"]),
            ("Dépanneur", ["autorisation_conduite"]),
            ("Secrétaire", []),
        ]
    if code == "00030":
        return [("Infirmier", ["biologiques"]), ("Infirmière de nuit", ["biologiques"]), ("Secrétaire", [])]
    for trade, naf, jobs in TRADES:
        if company.naf == naf and company.name.startswith(trade.split("{")[0]):
            return jobs
    return [("Employé polyvalent", [])]


def step_employees(ctx: DemoContext) -> None:
    """Five to thirty employees per company: night workers, apprentices, SIR posts, departures."""
    rng = ctx.rng
    for code, company in ctx.companies.items():
        jobs = _jobs_for(code, company)
        staff = []
        for _ in range(rng.randint(5, 30)):
            female = rng.random() < 0.5
            job, risks = rng.choice(jobs)
            apprentice = job.startswith("Apprenti") or rng.random() < 0.06
            age_years = rng.randint(16, 20) if apprentice else rng.randint(19, 64)
            birth = ctx.today - timedelta(days=age_years * 365 + rng.randrange(365))
            entry = ctx.today - timedelta(days=rng.randrange(10, 365 * min(age_years - 15, 25)))
            night = "nuit" in job or rng.random() < 0.04
            rqth = rng.random() < 0.03
            category = CATEGORY_SIR if risks else (CATEGORY_SIA if night or rqth else CATEGORY_SI)
            departed = rng.random() < 0.08
            contract = "02" if apprentice or rng.random() < 0.15 else "01"
            employee = Employee(
                company=company,
                birth_name=rng.choice(NAMES),
                first_names=rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M),
                sex="F" if female else "M",
                birth_date=birth,
                entry_date=entry,
                contract_nature=contract,
                contract_end_date=entry + timedelta(days=730) if contract == "02" else None,
                apprentice=apprentice,
                job_title=job,
                risks=list(risks),
                night_work=night,
                rqth=rqth,
                category=category,
                exit_date=ctx.today - timedelta(days=rng.randrange(1, 200)) if departed else None,
                exit_reason=rng.choice(EXIT_REASONS) if departed else None,
            )
            db.session.add(employee)
            staff.append(employee)
        ctx.employees[code] = staff
    db.session.flush()


def step_employee_register(ctx: DemoContext) -> None:
    """Mes salariés: NIRs (encrypted) and a declaration history for the first member's staff."""
    from models.employees import EmployeeChange
    from services.core import crypto
    from services.employees import register as employee_service

    staff = ctx.employees.get("00010") or []
    actor = ctx.users.get("employer")
    for employee in staff:
        body = f"{1 if employee.sex == 'M' else 2}{employee.birth_date:%y%m}22278{ctx.rng.randint(1, 999):03d}"
        nir = body + f"{97 - int(body) % 97:02d}"
        employee.nir_encrypted, employee.nir_hash = crypto.encrypt_nir(nir), crypto.nir_hash(nir)
        db.session.add(
            EmployeeChange(
                employee=employee,
                company_id=employee.company_id,
                actor_id=getattr(actor, "id", None),
                actor_role="employeur",
                kind="embauche",
                changes={"job_title": [None, employee.job_title]},
            )
        )
    present = [e for e in staff if e.exit_date is None]
    if present:
        employee = present[0]
        employee_service.update_employee(
            employee, {"job_title": employee.job_title + " (chef d'équipe)"}, actor, "employeur"
        )
        employee_service.declare_departure(employee, ctx.today, "demission", actor, "employeur")
        employee_service.cancel_departure(employee, actor, "employeur")
    db.session.flush()


def step_billing(ctx: DemoContext) -> None:
    """Ma cotisation: this year's grid with the campaign open, and for 00020 a declaration
    confirmed by the accountant whose invoice is partly paid (its PDF is made after the load)."""
    from services import billing

    year = ctx.today.year
    tariff = billing.set_tariff(
        year,
        {
            "mode": "per_category",
            "prices": {"SI": "94.80", "SIA": "138.00", "SIR": "162.60", "apprenti": "94.80"},
            "entry_fee": {"amount": "0", "mode": "per_company"},
            "minimum": "100.00",
            "vat_rate": "20.00",
            "reference_date": f"{year}-01-01",
            "counting": {
                "min_contract_days": 0,
                "exclude_interim": True,
                "include_suspended": True,
                "include_apprentices": True,
            },
            "campaign": {
                "opens_on": (ctx.today - timedelta(days=10)).isoformat(),
                "closes_on": (ctx.today + timedelta(days=50)).isoformat(),
            },
            "payment_due_days": 30,
        },
    )
    company = ctx.companies["00020"]
    _declaration, invoice = billing.confirm_declaration(
        company, tariff, ctx.users["accountant"], attested=True, actor_role="tiers_declarant", on=ctx.today
    )
    if invoice is not None:
        db.session.flush()
        billing.record_payment(
            invoice, (invoice.total_ttc / 2).quantize(Decimal("0.01")), ctx.today, "virement", "Acompte"
        )
    db.session.flush()


def how_to_try() -> list[str]:
    """The codes, n° télédéclarant and logins to try (the same at every load)."""
    labels = {
        "00010": "Boulangerie Le Goff (Saint-Brieuc)",
        "00010-2": "Boulangerie Le Goff, site de Paimpol",
        "00010-5": "Boulangerie Le Goff, site de Dinan",
        "00020": "Garage des Côtes (Plérin)",
        "00030": "Cabinet infirmier Ker Avel (Lannion)",
    }
    lines = ["  Codes adhérent et n° télédéclarant à essayer :"]
    lines += [f"    {code:8} {number:16} {labels[code]}" for code, number in FEATURED.items()]
    lines += [
        f"  Connexions (mot de passe : {DEMO_PASSWORD}) :",
        f"    {EMPLOYER_EMAIL:32} employeur de 00010",
        f"    {ACCOUNTANT_EMAIL:32} tiers déclarant (Cabinet Exemple), 30 entreprises",
    ]
    return lines


def step_summary(ctx: DemoContext) -> None:
    """The lines printed at the end: what to try."""
    employees = sum(len(v) for v in ctx.employees.values())
    ctx.notes += [f"Démonstration chargée : {len(ctx.companies)} adhérents et sites, {employees} salariés."]
    ctx.notes += how_to_try()


def step_welcome_mail(ctx: DemoContext) -> None:
    """A message in the outbox, so that the worker and the demo mailbox have something to show."""
    from services.core.outbox import queue_mail

    employer = ctx.users["employer"]
    queue_mail(
        employer.email,
        "Bienvenue sur la démonstration du Portail adhérents",
        "demo_welcome",
        first_name=employer.first_name,
        code="00010",
    )


DEMO_STEPS = [
    step_companies,
    step_users,
    step_employees,
    step_employee_register,
    step_planning,
    step_follow_up_history,
    step_billing,
    step_welcome_mail,
]


def demo_loaded() -> bool:
    return db.session.scalar(select(Company.id).where(Company.code == "00010")) is not None


def wipe_all_data() -> None:
    """Delete every row of every table (development only; the schema stays)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))


def load_demo(*, reset: bool = False, today: date | None = None) -> DemoContext:
    """Run DEMO_STEPS in one transaction. Refuses to load twice unless `reset` wipes first."""
    ctx = DemoContext(rng=random.Random(SEED), today=today or clock.today())
    with write_intent():
        try:
            if reset:
                wipe_all_data()
            elif demo_loaded():
                db.session.rollback()
                raise DemoAlreadyLoaded(
                    "\n".join(
                        [
                            "La démonstration est déjà chargée (rien n'a été modifié ; "
                            "« flask --app app demo --reset » efface tout et la recharge).",
                            *how_to_try(),
                        ]
                    )
                )
            for step in DEMO_STEPS:
                step(ctx)
            step_summary(ctx)
            audit.record("demo.load", actor_label="ligne de commande", companies=len(ctx.companies))
            db.session.commit()
        except DemoAlreadyLoaded:
            raise
        except Exception:
            db.session.rollback()
            raise
    return ctx
