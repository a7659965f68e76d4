"""The follow-up rules, one table row per article of the Code du travail.

Each row reads: the situation, the visit due, its date and the article that makes it due. The
rules apply from their date of effect (services.employees.follow_up_law.RULES): the engine evaluates a
visit with the rules in force on the date it falls due."""

from datetime import date

import pytest

from services.core.crypto import NirError, validate_nir
from services.employees.follow_up import (
    APTITUDE,
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
    category_refusal,
    derive_category,
    next_visit_due,
)
from services.employees.follow_up_law import (
    RULES,
    long_leave_refusal,
    professional_refusal,
    reprise_due,
    reprise_refusal,
)

TODAY = date(2026, 6, 15)


def employee(**kw):
    kw.setdefault("birth_date", date(1990, 3, 10))  # 45 in 2035: no mi-carrière below unless said
    kw.setdefault("entry_date", date(2026, 5, 4))
    return FollowUpFacts(**kw)


def done(day, kind):
    return PastVisit(day, kind)


# (case, employee, visits done, visit due, due date, article)
RULE_TABLE = [
    ("R4624-10 VIP within 3 months of taking up the post", employee(), [], VIP, date(2026, 8, 4), "R4624-10"),
    (
        "R6222-40-1 apprentice: VIP within 2 months",
        employee(apprentice=True),
        [],
        VIP,
        date(2026, 7, 4),
        "R6222-40-1",
    ),
    (
        "R4624-18 1° night worker: VIP before assignment",
        employee(category=SIA, night_work=True, entry_date=date(2026, 7, 1)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "R4624-18",
    ),
    (
        "R4624-18 2° under 18: VIP before assignment",
        employee(birth_date=date(2009, 9, 1), entry_date=date(2026, 7, 1)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "R4624-18",
    ),
    (
        "R4624-18 3° biological agents of group 2: VIP before assignment, not SIR",
        employee(vip_risks=("biologiques_groupe2",), entry_date=date(2026, 7, 1)),
        [],
        VIP,
        BEFORE_ASSIGNMENT,
        "R4624-18",
    ),
    (
        "R4624-18 4° electromagnetic fields above the limit values: VIP before assignment (already started)",
        employee(vip_risks=("champs_electromagnetiques",)),
        [],
        VIP,
        date(2026, 5, 4),
        "R4624-18",
    ),
    (
        "R4624-16 SI: renewal at most 5 years after the last visit",
        employee(entry_date=date(2019, 1, 7)),
        [done(date(2021, 4, 1), VIP)],
        VIP,
        date(2026, 4, 1),
        "R4624-16",
    ),
    (
        "R4624-17 SIA (RQTH, invalidity, night): renewal at most 3 years",
        employee(category=SIA, entry_date=date(2019, 1, 7)),
        [done(date(2024, 2, 29), VIP)],
        VIP,
        date(2027, 2, 28),
        "R4624-17",
    ),
    (
        "R4624-24 SIR: aptitude exam before assignment",
        employee(category=SIR, entry_date=date(2026, 9, 1)),
        [],
        APTITUDE,
        BEFORE_ASSIGNMENT,
        "R4624-24",
    ),
    (
        "R4624-28 SIR: intermediate visit at most 2 years after the exam",
        employee(category=SIR, entry_date=date(2024, 1, 8)),
        [done(date(2024, 1, 5), APTITUDE)],
        INTERMEDIATE,
        date(2026, 1, 5),
        "R4624-28",
    ),
    (
        "R4624-28 SIR: exam renewed at most 4 years after the last one",
        employee(category=SIR, entry_date=date(2024, 1, 8)),
        [done(date(2024, 1, 5), APTITUDE), done(date(2025, 12, 1), INTERMEDIATE)],
        APTITUDE,
        date(2028, 1, 5),
        "R4624-28",
    ),
    (
        "L4624-2-2 mi-carrière in the year of the 45th birthday (2026, after 31/03/2022)",
        employee(birth_date=date(1981, 9, 1), entry_date=date(2010, 1, 4)),
        [done(date(2024, 1, 10), VIP)],
        MID_CAREER,
        date(2026, 12, 31),
        "L4624-2-2",
    ),
    (
        "L4624-2-2 mi-carrière in 2022: the year the law came into force counts",
        employee(birth_date=date(1977, 5, 2), entry_date=date(2000, 1, 3)),
        [done(date(2021, 1, 10), VIP)],
        MID_CAREER,
        date(2022, 12, 31),
        "L4624-2-2",
    ),
    (
        "Issue 17: born 1960, hired 1990, VIP 2023: no mi-carrière in 2005 (loi 2021-1018), next VIP 01/06/2028",
        employee(birth_date=date(1960, 4, 12), entry_date=date(1990, 9, 3)),
        [done(date(2023, 6, 1), VIP)],
        VIP,
        date(2028, 6, 1),
        "R4624-16",
    ),
    (
        "L4624-2-2 45th birthday in 2021, before the law: the periodic visit only",
        employee(birth_date=date(1976, 3, 1), entry_date=date(2000, 1, 3)),
        [done(date(2024, 3, 1), VIP)],
        VIP,
        date(2029, 3, 1),
        "R4624-16",
    ),
    (
        "L4624-2-1 post-exposition on the departure of an employee in SIR",
        employee(category=SIR, entry_date=date(2020, 1, 6), exit_date=date(2026, 6, 30)),
        [done(date(2020, 1, 6), APTITUDE)],
        POST_EXPOSURE,
        date(2026, 6, 30),
        "L4624-2-1",
    ),
    (
        "Issue 17: L4624-2-1 formerly SIR (register history), now SI, leaves: post-exposition",
        employee(category=SI, ever_sir=True, entry_date=date(2018, 1, 8), exit_date=date(2026, 7, 31)),
        [done(date(2024, 5, 2), VIP)],
        POST_EXPOSURE,
        date(2026, 7, 31),
        "L4624-2-1",
    ),
    (
        "Issue 17: L4624-2-1 formerly SIR (an aptitude exam took place), now SI, leaves: post-exposition",
        employee(category=SI, entry_date=date(2018, 1, 8), exit_date=date(2026, 7, 31)),
        [done(date(2018, 1, 5), APTITUDE), done(date(2024, 5, 2), VIP)],
        POST_EXPOSURE,
        date(2026, 7, 31),
        "L4624-2-1",
    ),
]


@pytest.mark.parametrize(
    ("facts", "visits", "kind", "due", "article"), [row[1:] for row in RULE_TABLE], ids=[row[0] for row in RULE_TABLE]
)
def test_rule_table(facts, visits, kind, due, article):
    result = next_visit_due(facts, visits, TODAY)
    assert (result.type, result.due, result.article) == (kind, due, article)
    assert result.reason and result.article_label == f"Article {article} du Code du travail"


def test_a_departure_before_the_post_exposition_rule_owes_nothing():
    facts = employee(category=SIR, entry_date=date(2015, 1, 5), exit_date=date(2021, 12, 31))
    result = next_visit_due(facts, [done(date(2015, 1, 5), APTITUDE)], TODAY)
    assert result.due is None and "quitté" in result.reason


def test_every_rule_has_an_article_and_a_date_of_effect():
    assert RULES["mid_career"].in_force_from == date(2022, 3, 31)
    assert RULES["liaison"].in_force_from == date(2022, 3, 31)
    assert not RULES["mid_career"].in_force_on(date(2022, 3, 30))
    assert all(rule.article and rule.summary.endswith(".") for rule in RULES.values())


# --------------------------------------------------------------------------- R4624-23 / R4624-18


@pytest.mark.parametrize(
    ("risks", "night", "rqth", "category", "words"),
    [
        (["amiante"], False, False, SIR, "R4624-23"),
        (["biologiques_groupe2"], False, False, SI, "R4624-18"),
        (["champs_electromagnetiques"], True, False, SIA, "R4624-18"),
        (["biologiques_groupe2", "plomb"], False, False, SIR, "R4624-23"),
        ([], False, True, SIA, "R4624-17"),
    ],
)
def test_category_from_the_register(risks, night, rqth, category, words):
    derived, reasons, _ = derive_category(risks, None, night, rqth)
    assert derived == category and any(words in r for r in reasons)


class _Row:
    def __init__(self, **kw):
        self.risks, self.other_risk_justification = kw.get("risks", []), None
        self.night_work, self.rqth = kw.get("night_work", False), kw.get("rqth", False)


def test_a_category_beside_the_register_is_refused():
    exposed = _Row(risks=["amiante"])
    assert "(SIR), car le poste expose à l'amiante" in category_refusal(exposed, SI)
    assert category_refusal(exposed, SIR) is None


# --------------------------------------------------------------------------- R4624-31 reprise

# (absence, first day off, return, refused?)
REPRISE_TABLE = [
    ("maternite", date(2026, 3, 1), date(2026, 3, 5), False),  # maternity: any length
    ("maladie_professionnelle", date(2026, 3, 1), date(2026, 3, 3), False),  # any length
    ("accident_travail", date(2026, 3, 1), date(2026, 3, 31), False),  # 30 days
    ("accident_travail", date(2026, 3, 1), date(2026, 3, 30), True),  # 29 days
    ("maladie", date(2026, 3, 1), date(2026, 4, 30), False),  # 60 days
    ("maladie", date(2026, 3, 1), date(2026, 4, 29), True),  # 59 days
    ("maladie", date(2026, 3, 1), date(2026, 3, 11), True),  # issue 17: 10 days
    ("maladie", date(2022, 2, 1), date(2022, 3, 5), False),  # 32 days, leave begun before 01/04/2022
]


@pytest.mark.parametrize(("absence", "start", "back", "refused"), REPRISE_TABLE)
def test_reprise_thresholds_r4624_31(absence, start, back, refused):
    refusal = reprise_refusal(absence, start, back)
    assert (refusal is not None) == refused
    if refused:
        assert "R4624-31" in refusal


def test_reprise_refusal_states_the_rule():
    refusal = reprise_refusal("maladie", date(2026, 3, 1), date(2026, 3, 11))
    assert refusal.startswith("La visite de reprise est obligatoire après 60 jours d'absence")
    assert "l'absence déclarée dure 10 jours" in refusal


def test_reprise_visit_within_8_days_of_the_return():
    assert reprise_due(date(2026, 6, 29)) == date(2026, 7, 7)


# --------------------------------------------------------------------------- R4624-29, L1226-1-3


@pytest.mark.parametrize(
    ("reason", "start", "end", "today", "refused", "article"),
    [
        ("pre_reprise", date(2026, 5, 1), date(2026, 7, 1), TODAY, False, "R4624-29"),
        ("pre_reprise", date(2026, 6, 1), date(2026, 6, 20), TODAY, True, "R4624-29"),
        ("rendez_vous_liaison", date(2026, 5, 1), None, TODAY, False, "L1226-1-3"),
        ("rendez_vous_liaison", date(2026, 5, 20), None, TODAY, True, "L1226-1-3"),  # 26 days so far
        ("rendez_vous_liaison", date(2022, 1, 3), None, date(2022, 3, 1), True, "L1226-1-3"),  # before the law
    ],
)
def test_long_leave_requests(reason, start, end, today, refused, article):
    refusal = long_leave_refusal(reason, start, end, today)
    assert (refusal is not None) == refused
    if refused:
        assert article in refusal


# --------------------------------------------------------------------------- who examines


@pytest.mark.parametrize(
    ("visit_type", "kind", "allowed", "article"),
    [
        ("examen_sir", "infirmier", False, "R4624-24"),
        ("examen_sir", "medecin", True, ""),
        ("reprise", "infirmier", False, "R4624-31"),
        ("pre_reprise", "infirmier", False, "R4624-29"),
        ("vip_embauche", "infirmier", True, ""),
        ("vip_periodique", "medecin", True, ""),
        ("intermediaire_sir", "infirmier", True, ""),
        ("a_la_demande", "infirmier", False, "R4624-34"),
        ("post_exposition", "infirmier", False, "L4624-2-1"),
        ("mi_carriere", "infirmier", True, ""),
        ("rendez_vous_liaison", "infirmier", True, ""),
    ],
)
def test_visit_kinds_name_the_allowed_professionals(visit_type, kind, allowed, article):
    refusal = professional_refusal(visit_type, "Examen", kind)
    assert (refusal is None) == allowed
    if not allowed:
        assert article in refusal and "médecin du travail" in refusal


# --------------------------------------------------------------------------- NIR


def test_temporary_nir_is_accepted_whatever_the_sex():
    assert validate_nir("785017512345697", "F", date(1985, 1, 1)) == "785017512345697"
    assert validate_nir("892109912345673", "M", None) == "892109912345673"
    with pytest.raises(NirError, match="sexe"):
        validate_nir("295109912611193", "M", None)
