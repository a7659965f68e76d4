"""Reading a monthly DSN (NEODeS format) for the employee register: identity (S21.G00.30),
contracts (S21.G00.40) and their ends (S21.G00.62), per establishment (S21.G00.06 + .11).

Our own parser rather than the `dsn-tools` package (evaluated, see docs/EMPLOYEES.md): that
package needs Python >= 3.12, reads UTF-8 only, raises Lark's English errors without our line
numbers, and builds every block of the file (pay included) into objects. Here every line is
checked, the pay blocks are skipped as they are read, and nothing of the file is kept."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from services.core.crypto import NirError, normalize_nir, validate_nir

MAX_DSN_BYTES = 8 * 1024 * 1024 - 64 * 1024  # under MAX_CONTENT_LENGTH with the form around it

_LINE = re.compile(r"^S(\d{2})\.G(\d{2})\.(\d{2})\.(\d{3}),(.*)$")
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_PCS_ESE = re.compile(r"^\d{3}[a-z]$")

# S21.G00.40.007 nature du contrat: the DSN codes the register knows, others count as "Autre".
KNOWN_NATURES = {"01", "02", "03", "07", "29", "80", "90"}
# S21.G00.40.008 dispositif de politique publique: 64 and 65 are the apprenticeship contracts.
APPRENTICESHIP_SCHEMES = {"64", "65"}
# S21.G00.62.002 motif de la rupture du contrat -> the register's exit reasons.
EXIT_REASON_BY_DSN_CODE = {
    "011": "licenciement",
    "012": "licenciement",
    "014": "licenciement",
    "015": "licenciement",
    "020": "licenciement",
    "025": "licenciement",
    "026": "licenciement",
    "031": "fin_cdd",
    "032": "fin_mission",
    "033": "fin_apprentissage",
    "034": "fin_periode_essai",
    "035": "fin_periode_essai",
    "038": "retraite",
    "039": "retraite",
    "043": "rupture_conventionnelle",
    "059": "demission",
    "066": "deces",
}
# Longest values the register stores (models/employees.py).
MAX_LENGTHS = {"birth_name": 100, "usage_name": 100, "first_names": 150, "job_title": 120}


class DsnError(ValueError):
    """A file refused as a whole; the message is French and names the line when there is one."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"Ligne {line} : {message}" if line else message)
        self.line = line


@dataclass
class DsnContract:
    line: int
    start_date: date | None = None
    pcs_ese: str | None = None
    job_title: str | None = None
    nature: str | None = None
    apprentice: bool = False
    end_date: date | None = None
    end_reason: str | None = None  # the DSN code (S21.G00.62.002)


@dataclass
class DsnPerson:
    line: int
    siret: str
    nir: str | None = None
    birth_name: str | None = None
    usage_name: str | None = None
    first_names: str | None = None
    sex: str | None = None  # M | F
    birth_date: date | None = None
    contracts: list[DsnContract] = field(default_factory=list)

    @property
    def contract(self) -> DsnContract | None:
        """The contract the register follows: the last one declared for the person."""
        return self.contracts[-1] if self.contracts else None

    @property
    def display_name(self) -> str:
        return f"{(self.usage_name or self.birth_name or '').upper()} {self.first_names or ''}".strip()


@dataclass
class DsnFile:
    month: date | None
    establishments: list[tuple[str, int]]  # (SIRET, line)
    people: list[DsnPerson]

    def to_plain(self) -> dict:
        """A JSON-ready form (dates as ISO strings), sealed into the confirmation form."""

        def plain(value):
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))

    @classmethod
    def from_plain(cls, data: dict) -> DsnFile:
        def day(value):
            return date.fromisoformat(value) if value else None

        people = []
        for p in data["people"]:
            contracts = [
                DsnContract(**{**c, "start_date": day(c["start_date"]), "end_date": day(c["end_date"])})
                for c in p["contracts"]
            ]
            people.append(DsnPerson(**{**p, "birth_date": day(p["birth_date"]), "contracts": contracts}))
        return cls(
            month=day(data["month"]),
            establishments=[tuple(e) for e in data["establishments"]],
            people=people,
        )


# --------------------------------------------------------------------------- decoding


def decode(raw: bytes) -> list[str]:
    """The file's lines, from UTF-8 or Latin-1 (ISO 8859-1); anything else is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        raise DsnError(
            "Le fichier est en UTF-16 ou n'est pas un fichier texte : "
            "enregistrez la DSN en UTF-8 ou en Latin-1 (ISO 8859-1)."
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    # Not splitlines(): it also breaks on \x85 and the other C1 separators, hiding them.
    lines = text.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if _UNREADABLE.search(line):
            raise DsnError(
                "caractère illisible : le fichier n'est ni en UTF-8 ni en Latin-1 (ISO 8859-1), "
                "les deux encodages acceptés pour une DSN.",
                number,
            )
    return lines


# --------------------------------------------------------------------------- parsing


def _date(value: str, line: int, label: str) -> date:
    if not re.fullmatch(r"\d{8}", value):
        raise DsnError(f"la {label} « {value[:20]} » n'est pas au format JJMMAAAA.", line)
    try:
        return date(int(value[4:8]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        raise DsnError(f"la {label} « {value} » n'existe pas.", line) from None


def _text(value: str, line: int, name: str, label: str) -> str | None:
    value = " ".join(value.split())
    if len(value) > MAX_LENGTHS.get(name, 200):
        raise DsnError(f"{label} dépasse {MAX_LENGTHS[name]} caractères.", line)
    return value or None


def parse(raw: bytes) -> DsnFile:
    """Read a DSN; raises DsnError (French, with the line number) on the first fault."""
    lines = decode(raw)
    month = None
    siren = None
    establishments: list[tuple[str, int]] = []
    people: list[DsnPerson] = []
    person: DsnPerson | None = None
    contract: DsnContract | None = None
    previous: tuple[str, str] | None = None  # (block, rubric) of the previous line
    seen_header = False

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        if not match:
            raise DsnError(
                "cette ligne ne suit pas le format d'une DSN (« S21.G00.30.001,'valeur' »).",
                number,
            )
        s, g, b, rubric, value = match.groups()
        block = f"S{s}.G{g}.{b}"
        if value.startswith("'"):
            if len(value) < 2 or not value.endswith("'"):
                raise DsnError("la valeur n'est pas fermée par une apostrophe.", number)
            value = value[1:-1]
        value = value.strip()
        # A block starts again when the rubric numbers go back (e.g. the next person's .001).
        new_instance = previous is None or previous[0] != block or rubric <= previous[1]
        previous = (block, rubric)

        if block.startswith("S10"):
            seen_header = True
        elif block == "S20.G00.05" and rubric == "005" and value:
            month = _date(value, number, "date du mois déclaré")
        elif block == "S21.G00.06" and rubric == "001":
            if not re.fullmatch(r"\d{9}", value):
                raise DsnError(f"le SIREN « {value[:20]} » doit comporter 9 chiffres.", number)
            siren = value
        elif block == "S21.G00.11" and rubric == "001":
            if siren is None:
                raise DsnError("établissement (S21.G00.11) déclaré avant son entreprise (S21.G00.06).", number)
            if not re.fullmatch(r"\d{5}", value):
                raise DsnError(f"le NIC « {value[:20]} » doit comporter 5 chiffres.", number)
            establishments.append((siren + value, number))
            person = contract = None
        elif block == "S21.G00.30":
            if new_instance:
                if not establishments:
                    raise DsnError("salarié déclaré avant son établissement (S21.G00.11).", number)
                person = DsnPerson(line=number, siret=establishments[-1][0])
                people.append(person)
                contract = None
            _person_field(person, rubric, value, number)
        elif block == "S21.G00.40":
            if person is None:
                raise DsnError("contrat (S21.G00.40) déclaré hors d'un salarié (S21.G00.30).", number)
            if new_instance:
                contract = DsnContract(line=number)
                person.contracts.append(contract)
            _contract_field(contract, rubric, value, number)
        elif block == "S21.G00.62":
            if contract is None:
                raise DsnError("fin de contrat (S21.G00.62) déclarée hors d'un contrat (S21.G00.40).", number)
            if rubric == "001":
                contract.end_date = _date(value, number, "date de fin du contrat")
            elif rubric == "002":
                contract.end_reason = value or None
        # Every other block (pay, contributions, absences, organisations...) is skipped unread.

    if not seen_header and not establishments:
        raise DsnError("Ce fichier n'est pas une DSN : aucune ligne « S10.G00.00 » ni établissement « S21.G00.11 ».")
    if not establishments:
        raise DsnError("Cette DSN ne déclare aucun établissement (bloc S21.G00.11).")
    for p in people:
        _check_person(p)
    return DsnFile(month=month, establishments=establishments, people=people)


def _person_field(person: DsnPerson, rubric: str, value: str, line: int) -> None:
    if rubric == "001" and value:
        person.nir = normalize_nir(value)
    elif rubric == "002":
        person.birth_name = _text(value, line, "birth_name", "Le nom de famille")
    elif rubric == "003":
        person.usage_name = _text(value, line, "usage_name", "Le nom d'usage")
    elif rubric == "004":
        person.first_names = _text(value, line, "first_names", "Les prénoms")
    elif rubric == "005":
        if value not in ("01", "02"):
            raise DsnError(f"le sexe « {value[:10]} » doit valoir 01 (masculin) ou 02 (féminin).", line)
        person.sex = "M" if value == "01" else "F"
    elif rubric == "006":
        person.birth_date = _date(value, line, "date de naissance")


def _contract_field(contract: DsnContract, rubric: str, value: str, line: int) -> None:
    if rubric == "001":
        contract.start_date = _date(value, line, "date de début du contrat")
    elif rubric == "004" and value:
        pcs = value.lower()
        if not _PCS_ESE.match(pcs):
            raise DsnError(f"le code PCS-ESE « {value[:10]} » doit comporter 3 chiffres et une lettre.", line)
        contract.pcs_ese = pcs
    elif rubric == "006":
        contract.job_title = _text(value, line, "job_title", "Le libellé de l'emploi")
    elif rubric == "007":
        if not re.fullmatch(r"\d{2}", value):
            raise DsnError(f"la nature du contrat « {value[:10]} » doit être un code à 2 chiffres.", line)
        contract.nature = value
    elif rubric == "008":
        contract.apprentice = value in APPRENTICESHIP_SCHEMES


def _check_person(person: DsnPerson) -> None:
    missing = [
        label
        for label, value in (
            ("nom de famille (S21.G00.30.002)", person.birth_name),
            ("prénoms (S21.G00.30.004)", person.first_names),
            ("sexe (S21.G00.30.005)", person.sex),
            ("date de naissance (S21.G00.30.006)", person.birth_date),
        )
        if not value
    ]
    if missing:
        raise DsnError(f"il manque pour ce salarié : {', '.join(missing)}.", person.line)
    if person.nir:
        try:
            person.nir = validate_nir(person.nir, person.sex, person.birth_date)
        except NirError as exc:
            raise DsnError(str(exc), person.line) from None
    for contract in person.contracts:
        if contract.start_date is None:
            raise DsnError("il manque la date de début du contrat (S21.G00.40.001).", contract.line)
        if not contract.job_title:
            raise DsnError("il manque le libellé de l'emploi (S21.G00.40.006).", contract.line)
        if not contract.nature:
            raise DsnError("il manque la nature du contrat (S21.G00.40.007).", contract.line)
