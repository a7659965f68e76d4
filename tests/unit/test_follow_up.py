"""The follow-up rules: category, next visit due and badge, table-driven with edge dates."""

from datetime import date

import pytest

from services.employees.follow_up import (
    APTITUDE,
    BADGE_LATE,
    BADGE_OK,
    BADGE_TODO,
    BEFORE_ASSIGNMENT,
    INTERMEDIATE,
    MID_CAREER,
    POST_EXPOSURE,
    SI,
    SIA,
    SIR,
    VIP,
    FollowUpFacts,
    PastVisit,
    add_months,
    add_years,
    derive_category,
    next_visit_due,
    visit_status_badge,
)

TODAY = date(2026, 6, 15)
ADULT = date(1990, 3, 10)  # 45 in 2035: no mid-career visit in the cases below


@pytest.mark.parametrize(
    ("risks", "justification", "night", "rqth", "expected"),
    [
        ([], "", False, False, SI),
        ([], None, True, False, SIA),
        ([], None, False, True, SIA),
        ([], None, True, True, SIA),
        (["amiante"], None, False, False, SIR),
        (["plomb", "cmr"], None, True, True, SIR),
        ([], "Travail en cuve confinée", False, False, SIR),
        ([], "   ", False, False, SI),
        (["habilitation_electrique"], None, False, False, SIR),
    ],
)
def test_derive_category(risks, justification, night, rqth, expected):
    category, reasons, explanation = derive_category(risks, justification, night, rqth)
    assert category == expected
    assert reasons and all(r.endswith(".") for r in reasons)
    assert explanation.endswith(".") and f"({expected})" in explanation


def test_derive_category_explains_the_risks():
    _, reasons, explanation = derive_category(["amiante", "plomb"], "Cuve", False, False)
    assert explanation == (
        "Suivi individuel renforcé (SIR), car le poste expose à l'amiante, le plomb et un autre risque déclaré."
    )
    assert any("Cuve" in r for r in reasons)


@pytest.mark.parametrize(
    ("date_", "months", "expected"),
    [
        (date(2026, 1, 15), 3, date(2026, 4, 15)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),  # leap year
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
        (date(2026, 10, 31), 3, date(2027, 1, 31)),
    ],
)
def test_add_months_clamps_to_month_end(date_, months, expected):
    assert add_months(date_, months) == expected


def test_add_years_from_29_february():
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def facts(**kw):
    kw.setdefault("birth_date", ADULT)
    kw.setdefault("entry_date", date(2026, 5, 4))
    return FollowUpFacts(**kw)


CASES = [
    # id, facts, visits, expected type, expected due, words in reason
    ("si-vip-3-months", facts(), [], VIP, date(2026, 8, 4), "3 mois"),
    ("si-vip-month-end", facts(entry_date=date(2025, 11, 30)), [], VIP, date(2026, 2, 28), "3 mois"),
    ("si-vip-leap", facts(entry_date=date(2023, 11, 30)), [], VIP, date(2024, 2, 29), "3 mois"),
    ("apprentice-2-months", facts(apprentice=True), [], VIP, date(2026, 7, 4), "Apprenti"),
    (
        "night-before-assignment-future",
        facts(night_work=True, category=SIA, entry_date=date(2026, 7, 1)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "nuit",
    ),
    ("night-started-already", facts(night_work=True, category=SIA), [], VIP, date(2026, 5, 4), "nuit"),
    (
        "under-18-before-assignment",
        facts(birth_date=date(2009, 1, 1), entry_date=date(2026, 9, 1)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "moins de 18 ans",
    ),
    ("18-on-entry-day-is-adult", facts(birth_date=date(2008, 5, 4)), [], VIP, date(2026, 8, 4), "3 mois"),
    (
        "17-the-day-before-18",
        facts(birth_date=date(2008, 7, 5), entry_date=date(2026, 7, 4)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "moins de 18 ans",
    ),
    (
        "si-renewal-5-years",
        facts(entry_date=date(2020, 1, 6)),
        [PastVisit(date(2020, 2, 3), VIP)],
        VIP,
        date(2025, 2, 3),
        "5 ans",
    ),
    (
        "si-renewal-from-29-feb",
        facts(entry_date=date(2024, 1, 6)),
        [PastVisit(date(2024, 2, 29), VIP)],
        VIP,
        date(2029, 2, 28),
        "5 ans",
    ),
    (
        "sia-renewal-3-years",
        facts(category=SIA, entry_date=date(2020, 1, 6)),
        [PastVisit(date(2024, 6, 15), VIP)],
        VIP,
        date(2027, 6, 15),
        "3 ans",
    ),
    (
        "sir-exam-before-assignment",
        facts(category=SIR, entry_date=date(2026, 7, 1)),
        [],
        APTITUDE,
        BEFORE_ASSIGNMENT,
        "avant l'affectation",
    ),
    (
        "sir-intermediate-2-years",
        facts(category=SIR, entry_date=date(2024, 6, 1)),
        [PastVisit(date(2024, 5, 20), APTITUDE)],
        INTERMEDIATE,
        date(2026, 5, 20),
        "2 ans",
    ),
    (
        "sir-renewal-4-years",
        facts(category=SIR, entry_date=date(2024, 6, 1)),
        [PastVisit(date(2024, 5, 20), APTITUDE), PastVisit(date(2026, 4, 2), INTERMEDIATE)],
        APTITUDE,
        date(2028, 5, 20),
        "4 ans",
    ),
    (
        "sir-old-intermediate-does-not-count",
        facts(category=SIR, entry_date=date(2020, 6, 1)),
        [PastVisit(date(2021, 1, 1), INTERMEDIATE), PastVisit(date(2025, 5, 20), APTITUDE)],
        INTERMEDIATE,
        date(2027, 5, 20),
        "2 ans",
    ),
    (
        "mid-career-in-year-45",
        facts(birth_date=date(1981, 9, 1), entry_date=date(2010, 1, 4)),
        [PastVisit(date(2024, 1, 10), VIP)],
        MID_CAREER,
        date(2026, 12, 31),
        "45 ans",
    ),
    (
        "mid-career-done-2-years-early",
        facts(birth_date=date(1981, 9, 1), entry_date=date(2010, 1, 4)),
        [PastVisit(date(2024, 1, 10), MID_CAREER), PastVisit(date(2024, 1, 10), VIP)],
        VIP,
        date(2029, 1, 10),
        "5 ans",
    ),
    (
        "mid-career-before-entry-ignored",
        facts(birth_date=date(1970, 1, 1), entry_date=date(2020, 1, 6)),
        [PastVisit(date(2020, 3, 1), VIP)],
        VIP,
        date(2025, 3, 1),
        "5 ans",
    ),
    (
        "periodic-earlier-than-mid-career",
        facts(birth_date=date(1983, 1, 1), entry_date=date(2018, 1, 1)),
        [PastVisit(date(2019, 3, 1), VIP)],
        VIP,
        date(2024, 3, 1),
        "5 ans",
    ),
    (
        "post-exposition-at-departure",
        facts(category=SIR, exit_date=date(2026, 6, 30), entry_date=date(2020, 1, 1)),
        [PastVisit(date(2020, 1, 1), APTITUDE)],
        POST_EXPOSURE,
        date(2026, 6, 30),
        "post-exposition",
    ),
    (
        "post-exposition-former-sir",
        facts(category=SI, ever_sir=True, exit_date=date(2026, 6, 1)),
        [],
        POST_EXPOSURE,
        date(2026, 6, 1),
        "SIR",
    ),
    (
        "post-exposition-done",
        facts(category=SIR, exit_date=date(2026, 6, 1)),
        [PastVisit(date(2026, 6, 1), POST_EXPOSURE)],
        POST_EXPOSURE,
        None,
        "a eu lieu",
    ),
    ("si-departed-nothing-due", facts(exit_date=date(2026, 6, 15)), [], VIP, None, "quitté"),
    (
        "future-visits-ignored",
        facts(entry_date=date(2020, 1, 6)),
        [PastVisit(date(2020, 2, 3), VIP), PastVisit(date(2026, 9, 1), VIP)],
        VIP,
        date(2025, 2, 3),
        "5 ans",
    ),
]


@pytest.mark.parametrize(
    ("facts_", "visits", "type_", "due", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_next_visit_due(facts_, visits, type_, due, words):
    result = next_visit_due(facts_, visits, TODAY)
    assert (result.type, result.due) == (type_, due)
    assert words in result.reason


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (None, BADGE_OK),
        (BEFORE_ASSIGNMENT, BADGE_TODO),
        (date(2026, 6, 14), BADGE_LATE),  # the day before today
        (TODAY, BADGE_TODO),  # due today is not late yet
        (date(2026, 9, 13), BADGE_TODO),  # exactly 90 days ahead
        (date(2026, 9, 14), BADGE_OK),  # 91 days ahead
    ],
)
def test_visit_status_badge(due, expected):
    assert visit_status_badge(due, TODAY) == expected
