"""Follow-up rules of the Code du travail: category from the answers, next visit due, badge.

Pure functions over plain values (no ORM, no request): the routes map rows to these facts."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.employees.follow_up_law import RULES, VIP_RISKS_SHORT, vip_risks_of

SI, SIA, SIR = "SI", "SIA", "SIR"

# Visit types the rules know (the planning model uses the same codes).
VIP = "vip"
APTITUDE = "aptitude"
INTERMEDIATE = "intermediaire"
MID_CAREER = "mi_carriere"
POST_EXPOSURE = "post_exposition"
VISIT_TYPE_LABELS = {
    VIP: "Visite d'information et de prévention",
    APTITUDE: "Examen médical d'aptitude",
    INTERMEDIATE: "Visite intermédiaire",
    MID_CAREER: "Visite de mi-carrière",
    POST_EXPOSURE: "Visite post-exposition",
    "reprise": "Visite de reprise",
    "pre_reprise": "Visite de pré-reprise",
    "demande": "Visite à la demande",
    "rendez_vous_liaison": "Rendez-vous de liaison",
}
# Visits that count as the periodic follow-up (they restart the renewal clock).
PERIODIC_TYPES = {VIP, APTITUDE, INTERMEDIATE}

BEFORE_ASSIGNMENT = "avant affectation"

BADGE_TODO = "À planifier"
BADGE_LATE = "En retard"
BADGE_OK = "À jour"
# A visit due within this many days is shown "À planifier".
PLANNING_WINDOW_DAYS = 90

RISK_LABELS_SHORT = {
    "amiante": "l'amiante",
    "plomb": "le plomb",
    "cmr": "des agents CMR",
    "biologiques": "des agents biologiques des groupes 3 et 4",
    "rayonnements": "des rayonnements ionisants",
    "hyperbare": "le risque hyperbare",
    "echafaudages": "la chute de hauteur (échafaudages)",
    "habilitation_electrique": "une habilitation électrique",
    "autorisation_conduite": "une autorisation de conduite",
    "manutention_55kg": "la manutention habituelle de plus de 55 kg",
    "mineur_travaux_reglementes": "des travaux réglementés pour un mineur",
}


@dataclass(frozen=True)
class FollowUpFacts:
    """What the rules need to know about one employee."""

    birth_date: date
    entry_date: date
    category: str = SI
    apprentice: bool = False
    night_work: bool = False
    exit_date: date | None = None
    ever_sir: bool = False  # was in SIR at some point (post-exposition at departure)
    vip_risks: tuple[str, ...] = ()  # R4624-18 3° and 4° risks (follow_up_law.VIP_RISKS)


@dataclass(frozen=True)
class PastVisit:
    """A visit that took place (planned or cancelled visits are not passed here)."""

    date: date
    type: str


@dataclass(frozen=True)
class DueVisit:
    type: str  # one of VISIT_TYPE_LABELS
    due: date | str | None  # a date, BEFORE_ASSIGNMENT, or None when nothing is due
    reason: str
    rule: str | None = None  # code of follow_up_law.RULES that makes it due

    @property
    def article(self) -> str | None:
        return RULES[self.rule].article if self.rule else None

    @property
    def article_label(self) -> str:
        return RULES[self.rule].article_label if self.rule else ""

    @property
    def type_label(self) -> str:
        return VISIT_TYPE_LABELS.get(self.type, self.type)

    @property
    def due_label(self) -> str:
        if self.due is None:
            return "—"
        if self.due == BEFORE_ASSIGNMENT:
            return "Avant l'affectation"
        return f"{self.due:%d/%m/%Y}"


# --------------------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """`day` plus `months`, clamped to the end of the month (30/11 + 3 months = 28 or 29/02)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    """`day` plus `years`; 29/02 becomes 28/02 in a common year."""
    return add_months(day, 12 * years)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def fr(day: date) -> str:
    return f"{day:%d/%m/%Y}"


# --------------------------------------------------------------------------- category


def derive_category(
    risks: Iterable[str] | None,
    other_risk_justification: str | None,
    night_work: bool,
    rqth: bool,
) -> tuple[str, list[str], str]:
    """(category, reasons, one-sentence explanation) from the employer's answers."""
    vip_risks = vip_risks_of(risks)
    risks = [r for r in (risks or []) if r and r not in vip_risks]
    justification = (other_risk_justification or "").strip()
    reasons: list[str] = []
    for risk in risks:
        reasons.append(f"Le poste expose à {RISK_LABELS_SHORT.get(risk, risk)} (article R4624-23 du Code du travail).")
    for risk in vip_risks:
        reasons.append(
            f"Le poste expose à {VIP_RISKS_SHORT[risk]} : visite d'information et de prévention avant l'affectation "
            "(article R4624-18), sans suivi renforcé."
        )
    if justification:
        reasons.append(f"L'employeur a déclaré un autre poste à risque : {justification}.")
    if night_work:
        reasons.append("Le salarié travaille de nuit (article R4624-17).")
    if rqth:
        reasons.append(
            "Le salarié est reconnu travailleur handicapé ou titulaire d'une pension d'invalidité (R4624-17)."
        )

    if risks or justification:
        what = [RISK_LABELS_SHORT.get(r, r) for r in risks] + (["un autre risque déclaré"] if justification else [])
        return SIR, reasons, f"Suivi individuel renforcé (SIR), car le poste expose à {_join(what)}."
    if night_work or rqth:
        why = []
        if night_work:
            why.append("le salarié travaille de nuit")
        if rqth:
            why.append("il bénéficie d'une RQTH ou d'une pension d'invalidité")
        return SIA, reasons, f"Suivi individuel adapté (SIA), car {_join(why)}."
    if vip_risks:
        exposed = _join([VIP_RISKS_SHORT[r] for r in vip_risks])
        return (
            SI,
            reasons,
            (f"Suivi individuel (SI), avec une visite avant l'affectation car le poste expose à {exposed}."),
        )
    reasons.append("Aucun risque particulier, ni travail de nuit, ni RQTH n'est déclaré.")
    return SI, reasons, "Suivi individuel (SI) : aucun risque particulier ni situation de suivi adapté n'est déclaré."


def category_explanation(employee) -> str:
    """Why the register gives this employee its category (one sentence)."""
    return derive_category(employee.risks, employee.other_risk_justification, employee.night_work, employee.rqth)[2]


def category_refusal(employee, category: str) -> str | None:
    """None when `category` is the one the register's answers give; else why, in French. A
    category is never set beside the answers: correct the risks or flags in the register."""
    derived, _, explanation = derive_category(
        employee.risks, employee.other_risk_justification, employee.night_work, employee.rqth
    )
    if category == derived:
        return None
    return (
        f"La catégorie {category} contredit le registre. {explanation} "
        "Corrigez les risques du poste, le travail de nuit ou la RQTH dans le registre."
    )


def _join(parts: Sequence[str]) -> str:
    parts = list(parts)
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " et " + parts[-1]


# --------------------------------------------------------------------------- next visit


def next_visit_due(facts: FollowUpFacts, visits: Iterable[PastVisit], today: date) -> DueVisit:
    """The next visit an employee is due: its type, its due date, why (in French) and the rule
    (its article). Each rule applies only from its date of effect (follow_up_law.RULES): a
    visit is due only if its rule is in force on the date it falls due."""
    done = sorted((v for v in visits if v.date <= today), key=lambda v: v.date)
    # "Ever SIR" reads the history: the register's flag and the SIR visits that took place.
    ever_sir = facts.category == SIR or facts.ever_sir or any(v.type in (APTITUDE, INTERMEDIATE) for v in done)

    # Departure: post-exposition for an employee who is or was in SIR, nothing otherwise.
    if facts.exit_date is not None:
        if ever_sir and RULES["post_exposure"].in_force_on(facts.exit_date):
            if any(v.type == POST_EXPOSURE and v.date >= add_months(facts.exit_date, -6) for v in done):
                return DueVisit(POST_EXPOSURE, None, "La visite post-exposition a eu lieu.", "post_exposure")
            was = "suivi en SIR" if facts.category == SIR else "suivi en SIR par le passé"
            return DueVisit(
                POST_EXPOSURE,
                facts.exit_date,
                f"Visite post-exposition : le salarié, {was}, quitte l'entreprise le {fr(facts.exit_date)}.",
                "post_exposure",
            )
        if facts.exit_date <= today:
            return DueVisit(
                VIP, None, f"Le salarié a quitté l'entreprise le {fr(facts.exit_date)} : aucune visite à prévoir."
            )

    candidate = _periodic_due(facts, done, today)
    mid = _mid_career_due(facts, done)
    if mid is not None and _sort_key(mid.due) < _sort_key(candidate.due):
        return mid
    return candidate


def _sort_key(due: date | str | None) -> date:
    if due is None:
        return date.max
    if due == BEFORE_ASSIGNMENT:
        return date.min
    return due


def _initial_due(facts: FollowUpFacts, today: date, reason: str, type_: str, rule: str) -> DueVisit:
    # Before assignment: a future hire can still be seen in time; otherwise the entry date has passed.
    due = BEFORE_ASSIGNMENT if facts.entry_date > today else facts.entry_date
    return DueVisit(type_, due, reason, rule)


def _periodic_due(facts: FollowUpFacts, done: list[PastVisit], today: date) -> DueVisit:
    if facts.category == SIR:
        aptitude = [v for v in done if v.type == APTITUDE]
        if not aptitude:
            return _initial_due(
                facts,
                today,
                "Suivi individuel renforcé : l'examen médical d'aptitude a lieu avant l'affectation au poste.",
                APTITUDE,
                "aptitude_initial",
            )
        last_exam = aptitude[-1].date
        intermediate = [v for v in done if v.type in (INTERMEDIATE, VIP) and v.date > last_exam]
        if not intermediate:
            return DueVisit(
                INTERMEDIATE,
                add_years(last_exam, 2),
                "Suivi individuel renforcé : visite intermédiaire par un professionnel de santé au plus tard "
                f"2 ans après l'examen d'aptitude du {fr(last_exam)}.",
                "intermediate",
            )
        return DueVisit(
            APTITUDE,
            add_years(last_exam, 4),
            f"Suivi individuel renforcé : renouvellement de l'examen d'aptitude au plus tard 4 ans après celui du "
            f"{fr(last_exam)}.",
            "aptitude_renewal",
        )

    periodic = [v for v in done if v.type in PERIODIC_TYPES]
    if not periodic:
        under_18 = age_on(facts.birth_date, facts.entry_date) < 18
        vip_risks = vip_risks_of(facts.vip_risks)
        if facts.night_work:
            return _initial_due(
                facts,
                today,
                "Travail de nuit : la visite d'information et de prévention a lieu avant l'affectation au poste.",
                VIP,
                "vip_before_assignment",
            )
        if under_18:
            return _initial_due(
                facts,
                today,
                "Salarié de moins de 18 ans : la visite d'information et de prévention a lieu avant l'affectation "
                "au poste.",
                VIP,
                "vip_before_assignment",
            )
        if vip_risks:
            exposed = _join([VIP_RISKS_SHORT[r] for r in vip_risks])
            return _initial_due(
                facts,
                today,
                f"Le poste expose à {exposed} : la visite d'information et de prévention a lieu avant "
                "l'affectation au poste.",
                VIP,
                "vip_before_assignment",
            )
        if facts.apprentice:
            return DueVisit(
                VIP,
                add_months(facts.entry_date, 2),
                f"Apprenti : visite d'information et de prévention dans les 2 mois suivant l'entrée du "
                f"{fr(facts.entry_date)}.",
                "vip_apprentice",
            )
        return DueVisit(
            VIP,
            add_months(facts.entry_date, 3),
            f"Visite d'information et de prévention dans les 3 mois suivant l'entrée du {fr(facts.entry_date)}.",
            "vip_initial",
        )
    last = periodic[-1].date
    if facts.category == SIA:
        return DueVisit(
            VIP,
            add_years(last, 3),
            f"Suivi individuel adapté : renouvellement au plus tard 3 ans après la dernière visite du {fr(last)}.",
            "vip_renewal_sia",
        )
    return DueVisit(
        VIP,
        add_years(last, 5),
        f"Suivi individuel : renouvellement au plus tard 5 ans après la dernière visite du {fr(last)}.",
        "vip_renewal_si",
    )


def _mid_career_due(facts: FollowUpFacts, done: list[PastVisit]) -> DueVisit | None:
    year = facts.birth_date.year + 45
    due = date(year, 12, 31)
    if not RULES["mid_career"].in_force_on(due):
        return None  # the year of the 45th birthday ended before the visit existed (loi 2021-1018)
    if year < facts.entry_date.year:
        return None  # the 45th birthday fell before the employee joined
    if facts.exit_date is not None and facts.exit_date.year < year:
        return None
    if any(v.type == MID_CAREER and v.date.year >= year - 2 for v in done):
        return None
    return DueVisit(
        MID_CAREER,
        due,
        f"Visite de mi-carrière dans l'année des 45 ans du salarié ({year}).",
        "mid_career",
    )


def visit_status_badge(due: date | str | None, today: date) -> str:
    """ "En retard" past the due date, "À planifier" within 90 days or before assignment, else "À jour"."""
    if due is None:
        return BADGE_OK
    if due == BEFORE_ASSIGNMENT:
        return BADGE_TODO
    if due < today:
        return BADGE_LATE
    if due <= today + timedelta(days=PLANNING_WINDOW_DAYS):
        return BADGE_TODO
    return BADGE_OK


BADGE_CLASSES = {BADGE_OK: "badge--ok", BADGE_TODO: "badge--todo", BADGE_LATE: "badge--late"}


# --------------------------------------------------------------------------- ORM adapters
# The only place that maps rows (Employee, planning Visit) to the plain facts above.

# Planning visit types (models.planning.VISIT_TYPES) -> the rules' types.
RULE_TYPES = {
    "vip_embauche": VIP,
    "vip_periodique": VIP,
    "examen_sir": APTITUDE,
    "intermediaire_sir": INTERMEDIATE,
    "mi_carriere": MID_CAREER,
    "post_exposition": POST_EXPOSURE,
}


def facts_of(employee) -> FollowUpFacts:
    """The follow-up facts of an Employee row."""
    return FollowUpFacts(
        birth_date=employee.birth_date,
        entry_date=employee.entry_date,
        category=employee.category,
        apprentice=bool(employee.apprentice),
        night_work=bool(employee.night_work),
        exit_date=employee.exit_date,
        # The register keeps `ever_sir` once the employee has been in SIR (models.employees).
        ever_sir=employee.category == SIR or bool(getattr(employee, "ever_sir", False)),
        vip_risks=tuple(vip_risks_of(getattr(employee, "risks", None))),
    )


def planning_visit_type(rule_type: str, has_done_visit: bool) -> str:
    """The planning visit type to book for a due visit of the rules."""
    if rule_type == VIP:
        return "vip_periodique" if has_done_visit else "vip_embauche"
    return {
        APTITUDE: "examen_sir",
        INTERMEDIATE: "intermediaire_sir",
        MID_CAREER: "mi_carriere",
        POST_EXPOSURE: "post_exposition",
        "demande": "a_la_demande",
    }.get(rule_type, rule_type)
