"""The articles of the Code du travail behind the follow-up rules, with their dates of effect.

Pure data and functions over plain values (no ORM, no request). `services.employees.follow_up` picks the
rule that applies to a due visit and evaluates it with the rules in force on that date; the
reprise thresholds, the rendez-vous de liaison and the professionals allowed for each visit
kind live here too, so the employer's and the staff's side check the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.employees import VIP_RISKS  # R4624-18 3° and 4°: a VIP before assignment, not SIR
from models.planning import REPRISE_DEADLINE_DAYS

# Décret 2016-1908 (the VIP, the SIR and their rhythms) applies from 1 January 2017.
DECREE_2016_1908 = date(2017, 1, 1)
# Loi 2021-1018 "santé au travail": in force 31 March 2022 (mi-carrière, rendez-vous de liaison...).
LAW_2021_1018 = date(2022, 3, 31)
# Décret 2022-372: the reprise and pré-reprise thresholds for leaves starting from 1 April 2022.
DECREE_2022_372 = date(2022, 4, 1)


@dataclass(frozen=True)
class Rule:
    code: str
    article: str
    in_force_from: date
    summary: str  # French, one sentence, as a person who knows the Code du travail reads it

    def in_force_on(self, day: date) -> bool:
        return day >= self.in_force_from

    @property
    def article_label(self) -> str:
        return f"Article {self.article} du Code du travail"


_RULES = (
    Rule("vip_initial", "R4624-10", DECREE_2016_1908, "VIP dans les 3 mois suivant la prise de poste."),
    Rule("vip_apprentice", "R6222-40-1", DECREE_2016_1908, "Apprenti : VIP dans les 2 mois suivant l'embauche."),
    Rule(
        "vip_before_assignment",
        "R4624-18",
        DECREE_2016_1908,
        "VIP avant l'affectation : travail de nuit (1°), moins de 18 ans (2°), agents biologiques du "
        "groupe 2 (3°), champs électromagnétiques au-delà des valeurs limites (4°).",
    ),
    Rule("vip_renewal_si", "R4624-16", DECREE_2016_1908, "Suivi individuel : renouvellement au plus tous les 5 ans."),
    Rule(
        "vip_renewal_sia",
        "R4624-17",
        DECREE_2016_1908,
        "Suivi adapté (handicap, invalidité, travail de nuit) : renouvellement au plus tous les 3 ans.",
    ),
    Rule("aptitude_initial", "R4624-24", DECREE_2016_1908, "SIR : examen médical d'aptitude avant l'affectation."),
    Rule(
        "intermediate",
        "R4624-28",
        DECREE_2016_1908,
        "SIR : visite intermédiaire au plus tard 2 ans après l'examen d'aptitude.",
    ),
    Rule("aptitude_renewal", "R4624-28", DECREE_2016_1908, "SIR : renouvellement de l'examen au plus tous les 4 ans."),
    Rule(
        "mid_career",
        "L4624-2-2",
        LAW_2021_1018,
        "Visite de mi-carrière dans l'année des 45 ans (loi 2021-1018, depuis le 31/03/2022).",
    ),
    Rule(
        "post_exposure",
        "L4624-2-1",
        LAW_2021_1018,
        "Visite post-exposition au départ d'un salarié qui est ou a été en SIR (loi 2021-1018, depuis le 31/03/2022).",
    ),
    Rule(
        "reprise",
        "R4624-31",
        DECREE_2022_372,
        "Visite de reprise dans les 8 jours de la reprise : maternité, maladie professionnelle (toute durée), "
        "accident du travail de 30 jours ou plus, maladie ou accident non professionnel de 60 jours ou plus.",
    ),
    Rule(
        "reprise_before_2022",
        "R4624-31",
        DECREE_2016_1908,
        "Visite de reprise (arrêt commencé avant le 01/04/2022) : maladie ou accident non professionnel "
        "de 30 jours ou plus.",
    ),
    Rule("pre_reprise", "R4624-29", DECREE_2022_372, "Visite de pré-reprise pendant un arrêt de plus de 30 jours."),
    Rule(
        "liaison",
        "L1226-1-3",
        LAW_2021_1018,
        "Rendez-vous de liaison pendant un arrêt de plus de 30 jours (depuis le 31/03/2022).",
    ),
    Rule("on_request", "R4624-34", DECREE_2016_1908, "Visite à la demande de l'employeur, motivée."),
)
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def article_of(code: str) -> str:
    return RULES[code].article


# --------------------------------------------------------------------------- risks of R4624-18

# Risks that make a VIP due before assignment (R4624-18 3° and 4°) without making the post SIR.
VIP_RISKS_SHORT = {
    "biologiques_groupe2": "des agents biologiques du groupe 2",
    "champs_electromagnetiques": "des champs électromagnétiques au-delà des valeurs limites",
}


def vip_risks_of(risks) -> list[str]:
    return [r for r in (risks or []) if r in VIP_RISKS]


# --------------------------------------------------------------------------- who examines

DOCTOR, NURSE = "medecin", "infirmier"
# Planning visit type -> (professional kinds allowed, article). The aptitude exam and its renewal,
# the reprise, the pré-reprise, the post-exposition and the employer's request are the doctor's;
# the VIP, the SIR intermediate visit and the mi-carrière visit may be a nurse's (R4624-28,
# L4624-2-2 and the doctor's protocol, R4623-14).
ALLOWED_PROFESSIONALS: dict[str, tuple[frozenset[str], str]] = {
    "vip_embauche": (frozenset({DOCTOR, NURSE}), "R4624-10"),
    "vip_periodique": (frozenset({DOCTOR, NURSE}), "R4624-16"),
    "examen_sir": (frozenset({DOCTOR}), "R4624-24 et R4624-25"),
    "intermediaire_sir": (frozenset({DOCTOR, NURSE}), "R4624-28"),
    "reprise": (frozenset({DOCTOR}), "R4624-31"),
    "pre_reprise": (frozenset({DOCTOR}), "R4624-29"),
    "a_la_demande": (frozenset({DOCTOR}), "R4624-34"),
    "mi_carriere": (frozenset({DOCTOR, NURSE}), "L4624-2-2"),
    "post_exposition": (frozenset({DOCTOR}), "L4624-2-1"),
    "rendez_vous_liaison": (frozenset({DOCTOR, NURSE}), "L1226-1-3"),
}
KIND_NAMES = {DOCTOR: "un médecin du travail", NURSE: "un·e infirmier·e en santé au travail"}


def professional_refusal(visit_type: str, visit_label: str, professional_kind: str) -> str | None:
    """None when a professional of `professional_kind` may hold a visit of `visit_type`; else
    the French reason, with the article."""
    allowed, article = ALLOWED_PROFESSIONALS.get(visit_type, (frozenset({DOCTOR, NURSE}), ""))
    if professional_kind in allowed:
        return None
    who = " ou ".join(KIND_NAMES[k] for k in (DOCTOR, NURSE) if k in allowed)
    articles = f"articles {article}" if " et " in article else f"article {article}"
    return (
        f"« {visit_label} » est réalisé(e) par {who} ({articles} du Code du travail) : "
        f"ce créneau est celui d'{KIND_NAMES.get(professional_kind, professional_kind)}. "
        "Choisissez un créneau d'un médecin du travail."
    )


# --------------------------------------------------------------------------- reprise (R4624-31)

MATERNITY, OCCUPATIONAL_DISEASE, WORK_ACCIDENT, ILLNESS = (
    "maternite",
    "maladie_professionnelle",
    "accident_travail",
    "maladie",
)


def reprise_threshold(absence_type: str, absence_start: date) -> int:
    """Minimum length in days of an absence that calls for a reprise visit (0: any length)."""
    if absence_type in (MATERNITY, OCCUPATIONAL_DISEASE):
        return 0
    if absence_type == WORK_ACCIDENT:
        return 30
    return 60 if absence_start >= DECREE_2022_372 else 30


def absence_days(absence_start: date, return_date: date) -> int:
    """Days away from work: from the first day off to the day before the return."""
    return (return_date - absence_start).days


def reprise_refusal(absence_type: str, absence_start: date, return_date: date) -> str | None:
    """None when the absence calls for a reprise visit (R4624-31); else why not, in French."""
    threshold = reprise_threshold(absence_type, absence_start)
    days = absence_days(absence_start, return_date)
    if days >= threshold:
        return None
    what = {
        WORK_ACCIDENT: "un accident du travail",
        ILLNESS: "une maladie ou un accident non professionnel",
    }.get(absence_type, "cette absence")
    since = " (arrêt commencé depuis le 01/04/2022)" if absence_type == ILLNESS and threshold == 60 else ""
    return (
        f"La visite de reprise est obligatoire après {threshold} jours d'absence pour {what}{since} "
        f"(article R4624-31 du Code du travail) : l'absence déclarée dure {days} jour{'s' if days > 1 else ''}. "
        "Pour un autre motif, demandez une visite à la demande de l'employeur."
    )


def reprise_due(return_date: date) -> date:
    """The reprise visit takes place on the return, at the latest within 8 days (R4624-31)."""
    return return_date + timedelta(days=REPRISE_DEADLINE_DAYS)


# --------------------------------------------------------------------------- pré-reprise, liaison


def long_leave_refusal(reason: str, absence_start: date | None, absence_end: date | None, today: date) -> str | None:
    """Pré-reprise (R4624-29) and rendez-vous de liaison (L1226-1-3): during a leave of more than
    30 days; the liaison exists since 31/03/2022. `absence_end` is the planned return (or None)."""
    rule = RULES["liaison" if reason == "rendez_vous_liaison" else "pre_reprise"]
    what = "Le rendez-vous de liaison" if reason == "rendez_vous_liaison" else "La visite de pré-reprise"
    if absence_start is None:
        return "Indiquez le début de l'arrêt de travail."
    if reason == "rendez_vous_liaison" and not rule.in_force_on(today):
        return f"{what} n'existe que depuis le 31/03/2022 (article {rule.article} du Code du travail)."
    end = absence_end or today
    days = (end - absence_start).days
    if days <= 30:
        return (
            f"{what} est prévu(e) pendant un arrêt de travail de plus de 30 jours (article {rule.article} du Code "
            f"du travail) : l'arrêt déclaré dure {days} jour{'s' if days > 1 else ''}."
        )
    if absence_end is not None and absence_end <= today:
        return f"{what} a lieu pendant l'arrêt (article {rule.article}) : l'arrêt déclaré est terminé."
    return None


ABSENCE_REASONS = ("reprise", "pre_reprise", "rendez_vous_liaison")


def request_refusal(data: dict, today: date | None = None) -> str | None:
    """Why a request (reason, absence_type, absence_start, absence_end) cannot be made, in French,
    with the article; None when it can. The form shows the same message next to its field."""
    reason = data.get("reason")
    start, end = data.get("absence_start"), data.get("absence_end")
    if reason == "reprise" and data.get("absence_type") and start and end:
        return reprise_refusal(data["absence_type"], start, end)
    if reason in ("pre_reprise", "rendez_vous_liaison"):
        from models.base import utcnow

        return long_leave_refusal(reason, start, end, today or utcnow().date())
    return None


def visit_types_for(professional_kind: str) -> list[str]:
    """The planning visit types a professional of this kind may hold, in the table's order."""
    return [code for code, (allowed, _article) in ALLOWED_PROFESSIONALS.items() if professional_kind in allowed]
