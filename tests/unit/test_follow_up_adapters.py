"""The planning suggests the visit type and date that the follow-up rules give."""

from datetime import UTC, date, datetime

from extensions import db
from services.employees import follow_up
from services.planning.reading import suggest_next_visit
from tests.factories import make_company, make_employee, make_slot, make_visit


def test_planning_visit_type_mapping():
    assert follow_up.planning_visit_type(follow_up.VIP, False) == "vip_embauche"
    assert follow_up.planning_visit_type(follow_up.VIP, True) == "vip_periodique"
    assert follow_up.planning_visit_type(follow_up.APTITUDE, False) == "examen_sir"
    assert follow_up.planning_visit_type(follow_up.INTERMEDIATE, True) == "intermediaire_sir"


def test_new_hire_is_suggested_a_vip_within_three_months():
    employee = make_employee(make_company("00010"), entry_date=date(2026, 9, 1), birth_date=date(1990, 1, 1))
    due, visit_type = suggest_next_visit(employee, [], date(2026, 9, 15))
    assert (due, visit_type) == (date(2026, 12, 1), "vip_embauche")


def test_sir_employee_is_suggested_the_aptitude_exam_before_assignment():
    employee = make_employee(make_company("00010"), entry_date=date(2026, 9, 1), category="SIR", risks=["plomb"])
    due, visit_type = suggest_next_visit(employee, [], date(2026, 9, 15))
    assert (due, visit_type) == (date(2026, 9, 1), "examen_sir")


def test_after_a_done_vip_the_periodic_one_is_suggested():
    company = make_company("00010")
    employee = make_employee(company, entry_date=date(2020, 1, 6), birth_date=date(1990, 1, 1))
    slot = make_slot(datetime(2020, 2, 3, 9, tzinfo=UTC))
    visit = make_visit(employee, slot, status="realisee", visit_type="vip_embauche")
    db.session.flush()
    due, visit_type = suggest_next_visit(employee, [visit], date(2024, 6, 1))
    assert visit_type == "vip_periodique" and due == date(2025, 2, 3)
