"""The demo data: deterministic, idempotent, realistic enough to try every page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from stdnum.fr import siret

from extensions import db
from models import Company, Employee, Membership, OutboxMessage, User
from models.companies import ROLE_ACCOUNTANT
from services import demo
from services.auth.passwords import verify_password
from services.core.credentials import check_teledeclarant


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Company, User, Membership, Employee))


def test_demo_loads_members_sites_users_and_employees():
    ctx = demo.load_demo()
    companies = {c.code: c for c in db.session.scalars(select(Company))}
    assert companies["00010"].name == "Boulangerie Le Goff" and companies["00010"].city == "Saint-Brieuc"
    assert {s.code: s.city for s in companies["00010"].sites} == {"00010-2": "Paimpol", "00010-5": "Dinan"}
    assert companies["00020"].name == "Garage des Côtes"
    assert companies["00030"].name == "Cabinet infirmier Ker Avel"
    assert len([c for c in companies if "-" not in c]) >= 40
    assert all(siret.is_valid(c.siret) for c in companies.values())
    for code, number in demo.FEATURED.items():
        assert check_teledeclarant(code, number, companies[code].teledeclarant_hash)

    employer = db.session.scalar(select(User).where(User.email == demo.EMPLOYER_EMAIL))
    accountant = db.session.scalar(select(User).where(User.email == demo.ACCOUNTANT_EMAIL))
    assert verify_password(employer.password_hash, demo.DEMO_PASSWORD)
    assert verify_password(accountant.password_hash, demo.DEMO_PASSWORD)
    assert [m.company.code for m in employer.memberships] == ["00010"]
    assert len(accountant.memberships) == 30 and {m.role for m in accountant.memberships} == {ROLE_ACCOUNTANT}

    per_company = dict(
        db.session.execute(select(Employee.company_id, func.count()).group_by(Employee.company_id)).all()
    )
    assert len(per_company) == len(companies) and all(5 <= n <= 30 for n in per_company.values())
    employees = db.session.scalars(select(Employee)).all()
    assert any(e.night_work for e in employees) and any(e.apprentice for e in employees)
    assert any(e.risks and e.category == "SIR" for e in employees)
    assert any(e.exit_date for e in employees)
    subjects = db.session.scalars(select(OutboxMessage.subject)).all()
    assert "Bienvenue sur la démonstration du Portail adhérents" in subjects

    # Planning and billing have something to show.
    from models.billing import Invoice, TariffYear
    from models.planning import AppointmentRequest, Slot, Visit

    assert db.session.scalar(select(func.count(Slot.id))) > 50
    statuses = set(db.session.scalars(select(Visit.status)))
    assert {"confirmee", "proposee", "realisee"} <= statuses
    assert db.session.scalar(select(func.count(AppointmentRequest.id))) == 1
    assert db.session.scalar(select(func.count(TariffYear.id))) == 1
    invoice = db.session.scalars(select(Invoice)).one()
    assert invoice.company.code == "00020" and 0 < invoice.amount_due < invoice.total_ttc
    assert any("BZH2-LEGO-FF10" in line for line in ctx.notes)


def test_demo_is_idempotent_and_deterministic():
    demo.load_demo()
    first = counts()
    sirets = db.session.scalars(select(Company.siret).order_by(Company.code)).all()
    with pytest.raises(demo.DemoAlreadyLoaded):
        demo.load_demo()
    assert counts() == first
    demo.load_demo(reset=True)
    assert counts() == first
    assert db.session.scalars(select(Company.siret).order_by(Company.code)).all() == sirets


def test_demo_command_prints_codes_and_logins(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for text in ("00010", "BZH2-LEGO-FF10", "00010-5", demo.EMPLOYER_EMAIL, demo.ACCOUNTANT_EMAIL, demo.DEMO_PASSWORD):
        assert text in result.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "déjà chargée" in again.output and "BZH2-LEGO-FF10" in again.output


def test_demo_register_looks_like_a_real_service():
    """Issue 17: most employees up to date, a few due, a few late; each visit held by a
    professional its kind allows; no mi-carrière from before the law."""
    from collections import Counter
    from datetime import date

    from models.planning import Slot, Visit
    from services.employees import follow_up, follow_up_law
    from services.planning.reading import suggest_next_visit

    demo.load_demo()
    today = date.today()
    visits: dict[int, list[Visit]] = {}
    for visit in db.session.scalars(select(Visit)):
        visits.setdefault(visit.employee_id, []).append(visit)
    badges = Counter()
    for employee in db.session.scalars(select(Employee).where(Employee.exit_date.is_(None))):
        done = [
            follow_up.PastVisit(v.starts_at.date(), follow_up.RULE_TYPES.get(v.visit_type, v.visit_type))
            for v in visits.get(employee.id, [])
            if v.status == "realisee"
        ]
        due = follow_up.next_visit_due(follow_up.facts_of(employee), done, today)
        badges[follow_up.visit_status_badge(due.due, today)] += 1
        assert not (due.type == follow_up.MID_CAREER and due.due.year < 2022)
        suggest_next_visit(employee, visits.get(employee.id, []), today)
    total = sum(badges.values())
    assert badges[follow_up.BADGE_OK] > total * 0.6
    assert 0 < badges[follow_up.BADGE_LATE] < total * 0.2 and 0 < badges[follow_up.BADGE_TODO] < total * 0.3
    for visit in db.session.scalars(select(Visit).where(Visit.slot_id.is_not(None))):
        slot = db.session.get(Slot, visit.slot_id)
        assert follow_up_law.professional_refusal(visit.visit_type, "", slot.professional.kind) is None
