"""The stored next due visit: written after every flush that changes an employee or a visit,
equal to the rules' answer, and checked by `flask follow-up verify`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from extensions import db
from models.employees import Employee
from services.employees import next_due
from services.employees import register as employee_service
from services.employees.follow_up import add_months, add_years
from tests.factories import make_company, make_employee, make_slot, make_user, make_visit


def _stored(employee_id: int) -> tuple:
    db.session.expire_all()
    employee = db.session.get(Employee, employee_id)
    return employee.next_due_date, employee.next_due_kind, employee.next_due_article


def test_a_new_employee_gets_its_initial_vip_within_three_months():
    company = make_company()
    entry = date.today() - timedelta(days=10)
    employee = make_employee(company, entry_date=entry)
    db.session.commit()
    assert _stored(employee.id) == (add_months(entry, 3), "vip_embauche", "R4624-10")


def test_a_sir_hire_is_due_its_aptitude_exam_before_assignment():
    company = make_company()
    entry = date.today() + timedelta(days=20)
    user = make_user()
    employee = employee_service.create_employee(
        company,
        {
            "birth_name": "Kerleau",
            "first_names": "Yann",
            "sex": "M",
            "birth_date": date(1990, 1, 1),
            "entry_date": entry,
            "job_title": "Couvreur",
            "risks": ["amiante"],
        },
        user,
        "employeur",
    )
    db.session.commit()
    assert _stored(employee.id) == (entry, "examen_sir", "R4624-24")


def test_a_visit_done_restarts_the_clock_and_a_change_of_facts_recomputes():
    company = make_company()
    employee = make_employee(company, entry_date=date(2020, 1, 6))
    db.session.commit()
    assert _stored(employee.id)[0] == add_months(date(2020, 1, 6), 3)
    last_week = datetime.now(UTC) - timedelta(days=7)
    visit = make_visit(employee, make_slot(last_week), status="confirmee")
    db.session.commit()
    assert _stored(employee.id)[1] == "vip_embauche"  # a booked visit is not a visit done
    visit.status = "realisee"
    db.session.commit()
    done_day = last_week.astimezone(next_due.PARIS).date()
    assert _stored(employee.id) == (add_years(done_day, 5), "vip_periodique", "R4624-16")
    employee = db.session.get(Employee, employee.id)
    employee_service.update_employee(employee, {"night_work": True}, make_user(), "employeur")
    db.session.commit()
    assert _stored(employee.id) == (add_years(done_day, 3), "vip_periodique", "R4624-17")


def test_a_departure_of_a_sir_employee_calls_for_the_post_exposition_visit():
    company = make_company()
    employee = make_employee(company, risks=["plomb"], category="SIR", entry_date=date(2015, 3, 2))
    exit_day = date.today() + timedelta(days=30)
    employee_service.declare_departure(employee, exit_day, "retraite", make_user(), "employeur")
    db.session.commit()
    assert _stored(employee.id) == (exit_day, "post_exposition", "L4624-2-1")


def test_verify_reports_zero_then_finds_and_fixes_a_difference(runner):
    company = make_company()
    employees = [make_employee(company, entry_date=date(2019, 2, 1) + timedelta(days=i)) for i in range(3)]
    db.session.commit()
    result = runner.invoke(args=["follow-up", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 salarié(s) vérifié(s), 0 différence(s)." in result.output

    # A row written without the ORM (as an import script would) is caught, then fixed.
    db.session.execute(Employee.__table__.update().where(Employee.id == employees[1].id).values(next_due_date=None))
    db.session.commit()
    result = runner.invoke(args=["follow-up", "verify"])
    assert result.exit_code == 1
    assert "1 différence(s)" in result.output
    assert f"salarié {employees[1].id} : enregistré aucune visite due" in result.output
    result = runner.invoke(args=["follow-up", "verify", "--fix"])
    assert "1 correction(s) enregistrée(s)." in result.output
    result = runner.invoke(args=["follow-up", "verify"])
    assert result.exit_code == 0 and "0 différence(s)" in result.output


def test_verify_finds_no_difference_on_the_demo_data(runner):
    from services import demo

    demo.load_demo()
    db.session.commit()
    result = runner.invoke(args=["follow-up", "verify"])
    assert result.exit_code == 0, result.output
    assert " 0 différence(s)." in result.output
    assert db.session.scalar(db.select(db.func.count()).where(Employee.next_due_date.is_not(None))) > 10
