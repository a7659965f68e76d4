"""Test data factories: plain functions that add rows and flush (tests commit when needed)."""

from __future__ import annotations

import itertools
from datetime import date

from extensions import db
from models import Company, Employee, Membership, User
from models.companies import ROLE_EMPLOYER
from models.users import KIND_STAFF
from services.auth.passwords import hash_password
from services.core.credentials import hash_teledeclarant

_seq = itertools.count(1)
DEFAULT_PASSWORD = "Correct horse battery staple 42"


def make_company(code: str | None = None, *, teledeclarant: str = "ABCD-EFGH-JKMN", parent=None, **fields) -> Company:
    code = code or f"{next(_seq) + 10000:05d}"
    company = Company(
        code=code,
        parent=parent,
        name=fields.pop("name", f"Entreprise {code}"),
        siret=fields.pop("siret", "73282932000074"),
        city=fields.pop("city", "Saint-Brieuc"),
        postal_code=fields.pop("postal_code", "22000"),
        address=fields.pop("address", "1 rue du Port"),
        teledeclarant_hash=hash_teledeclarant(code, teledeclarant) if teledeclarant else None,
        **fields,
    )
    db.session.add(company)
    db.session.flush()
    return company


def make_user(email: str | None = None, *, password: str | None = DEFAULT_PASSWORD, **fields) -> User:
    user = User(
        email=(email or f"user{next(_seq)}@example.test").lower(),
        last_name=fields.pop("last_name", "Martin"),
        first_name=fields.pop("first_name", "Claire"),
        job_title=fields.pop("job_title", "Gérante"),
        password_hash=hash_password(password) if password else None,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_staff(email: str | None = None, *, role: str = "agent", **fields) -> User:
    return make_user(email, kind=KIND_STAFF, staff_role=role, **fields)


def make_membership(user: User, company: Company, role: str = ROLE_EMPLOYER, **fields) -> Membership:
    membership = Membership(user=user, company=company, role=role, **fields)
    db.session.add(membership)
    db.session.flush()
    return membership


def make_member(company: Company | None = None, role: str = ROLE_EMPLOYER, **user_fields) -> User:
    """A user with a membership on `company` (created when not given)."""
    company = company or make_company()
    user = make_user(**user_fields)
    make_membership(user, company, role)
    return user


def make_employee(company: Company, **fields) -> Employee:
    employee = Employee(
        company=company,
        birth_name=fields.pop("birth_name", f"Durand{next(_seq)}"),
        first_names=fields.pop("first_names", "Louis"),
        sex=fields.pop("sex", "M"),
        birth_date=fields.pop("birth_date", date(1990, 5, 17)),
        entry_date=fields.pop("entry_date", date(2024, 1, 8)),
        job_title=fields.pop("job_title", "Technicien"),
        contract_nature=fields.pop("contract_nature", "01"),
        risks=fields.pop("risks", []),
        **fields,
    )
    db.session.add(employee)
    db.session.flush()
    return employee


# --------------------------------------------------------------------------- planning


def make_centre(name: str | None = None, **fields):
    from models.planning import Centre

    centre = Centre(
        name=name or f"Centre {next(_seq)}",
        address=fields.pop("address", "12 rue des Lilas"),
        postal_code=fields.pop("postal_code", "22000"),
        city=fields.pop("city", "Saint-Brieuc"),
        access_notes=fields.pop("access_notes", "Parking visiteurs à l'arrière, 1er étage."),
        **fields,
    )
    db.session.add(centre)
    db.session.flush()
    return centre


def make_slot(starts_at=None, *, centre=None, professional=None, reserved_company=None, **fields):
    """A slot (default: in 10 days at 09:00 UTC), with a centre and a doctor when not given."""
    from datetime import UTC, datetime, timedelta

    from models.planning import Professional, Slot

    if professional is None:
        professional = Professional(name=f"Dr Anne Le Bihan {next(_seq)}", kind="medecin")
        db.session.add(professional)
    if starts_at is None:
        starts_at = (datetime.now(UTC) + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    slot = Slot(
        starts_at=starts_at,
        duration_minutes=fields.pop("duration_minutes", 30),
        centre=centre or make_centre(),
        professional=professional,
        reserved_company_id=reserved_company.id if reserved_company is not None else None,
        **fields,
    )
    db.session.add(slot)
    db.session.flush()
    return slot


def make_visit(employee, slot=None, *, status: str = "confirmee", visit_type: str = "vip_embauche", **fields):
    """A visit of `employee` on `slot` (created when not given); active statuses hold the slot."""
    from models.planning import ACTIVE_VISIT_STATUSES, Visit

    slot = slot or make_slot()
    visit = Visit(
        company_id=employee.company_id,
        employee_id=employee.id,
        slot_id=slot.id,
        active_slot_id=slot.id if status in ACTIVE_VISIT_STATUSES else None,
        starts_at=slot.starts_at,
        visit_type=visit_type,
        status=status,
        proposed_by_service=status == "proposee",
        **fields,
    )
    db.session.add(visit)
    db.session.flush()
    return visit


# --- Espace service (staff back office) ---


def enrol_totp(user: User) -> str:
    """Give a staff user a confirmed TOTP second factor; returns the secret (base32)."""
    import pyotp

    from models.base import utcnow
    from services.auth.totp import encrypt_secret

    secret = pyotp.random_base32()
    user.totp_secret_encrypted = encrypt_secret(secret)
    user.totp_enabled_at = utcnow()
    db.session.flush()
    return secret


# --------------------------------------------------------------------------- billing


def make_tariff(year: int | None = None, **overrides):
    """A per-category grid (SI 94,80 / SIA 138 / SIR 162,60 HT, TVA 20 %) whose campaign is open
    today unless `campaign` says otherwise; `overrides` use the JSON format of docs/BILLING.md."""
    from datetime import timedelta

    from services.billing import set_tariff, today

    now = today()
    year = year or now.year
    data = {
        "mode": "per_category",
        "prices": {"SI": "94.80", "SIA": "138.00", "SIR": "162.60", "apprenti": None},
        "vat_rate": "20.00",
        "reference_date": f"{year}-01-01",
        "counting": {"min_contract_days": 0, "exclude_interim": True, "include_suspended": True},
        "campaign": {
            "opens_on": (now - timedelta(days=10)).isoformat(),
            "closes_on": (now + timedelta(days=30)).isoformat(),
        },
        "payment_due_days": 30,
    }
    data.update(overrides)
    return set_tariff(year, data)


def make_declaration_company(code: str | None = None, **fields):
    """The issue's company: 12 employees, 2 of them SIR, one gone before the reference date
    (1 January of this year) and one interim worker: 10 count (8 SI + 2 SIR)."""
    from datetime import date as _date

    from services.billing import today

    year = today().year
    company = make_company(code, **fields)
    for i in range(8):
        make_employee(company, birth_name=f"Salarie{i:02d}", first_names="Anne")
    for i in range(2):
        make_employee(company, birth_name=f"Soudeur{i}", first_names="Paul", category="SIR", risks=["amiante"])
    make_employee(company, birth_name="Parti", first_names="Jean", exit_date=_date(year - 1, 11, 30))
    make_employee(company, birth_name="Interimaire", first_names="Luc", contract_nature="03")
    return company
