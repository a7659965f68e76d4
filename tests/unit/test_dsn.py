"""The DSN reader: the blocks the register needs, pay skipped, every fault with its line."""

from datetime import date

import pytest

from services.employees.dsn import DsnError, parse
from tests.dsn_fixtures import sample


def test_dsn_sample_reads_identity_contracts_and_ends():
    dsn = parse(sample())
    assert dsn.month == date(2026, 11, 1)
    assert dsn.establishments == [("00000000000026", 30), ("00000000000034", 166)]
    people = {p.birth_name: p for p in dsn.people}
    assert set(people) == {"MARTIN", "LE GOFF", "KERMARREC", "DURAND", "LE BIHAN"}
    le_goff = people["LE GOFF"].contract
    assert (le_goff.nature, le_goff.end_date, le_goff.end_reason) == ("02", date(2026, 11, 30), "031")
    assert (
        people["KERMARREC"].contract.apprentice
        and people["KERMARREC"].contract.job_title == "APPRENTI BOULANGER-PÂTISSIER"
    )
    assert people["DURAND"].first_names == "LÉA" and people["DURAND"].sex == "F"
    assert people["DURAND"].siret == "00000000000034"


def test_dsn_pay_blocks_are_not_kept():
    plain = str(parse(sample()).to_plain())
    for pay in ("2150.00", "1690.12", "34.83", "RETA"):
        assert pay not in plain


def test_dsn_plain_round_trip():
    from services.employees.dsn import DsnFile

    dsn = parse(sample())
    assert DsnFile.from_plain(dsn.to_plain()) == dsn


def test_dsn_utf8_and_latin1_read_alike():
    latin1 = sample()
    utf8 = latin1.decode("latin-1").encode("utf-8")
    assert parse(utf8) == parse(latin1)
    assert parse(b"\xef\xbb\xbf" + utf8) == parse(latin1)
    assert parse(latin1.replace(b"\n", b"\r\n")) == parse(latin1)


def _lines(*extra: str) -> bytes:
    base = [
        "S10.G00.00.001,'Paie'",
        "S20.G00.05.005,'01112026'",
        "S21.G00.06.001,'000000000'",
        "S21.G00.11.001,'00026'",
    ]
    return "\n".join([*base, *extra]).encode()


PERSON = [
    "S21.G00.30.001,'188032227804593'",
    "S21.G00.30.002,'MARTIN'",
    "S21.G00.30.004,'PAUL'",
    "S21.G00.30.005,'01'",
    "S21.G00.30.006,'14031988'",
    "S21.G00.40.001,'02092019'",
    "S21.G00.40.006,'BOULANGER'",
    "S21.G00.40.007,'01'",
]


@pytest.mark.parametrize(
    "content, message",
    [
        (_lines("S21.G00.30.001 '1'"), "Ligne 5 : cette ligne ne suit pas le format"),
        (_lines("S21.G00.30.002,'MARTIN"), "Ligne 5 : la valeur n'est pas fermée"),
        (
            _lines(*PERSON[:4], "S21.G00.30.006,'1988-03-14'"),
            "Ligne 9 : la date de naissance « 1988-03-14 » n'est pas au format JJMMAAAA.",
        ),
        (_lines(*PERSON[:3], "S21.G00.30.005,'1'"), "Ligne 8 : le sexe « 1 » doit valoir 01"),
        (
            _lines(*PERSON[:2]),
            "Ligne 5 : il manque pour ce salarié : prénoms (S21.G00.30.004), sexe (S21.G00.30.005), date de naissance",
        ),
        (_lines(*PERSON[:7]), "Ligne 10 : il manque la nature du contrat"),
        (
            _lines(*PERSON[:5], "S21.G00.40.001,'02092019'", "S21.G00.40.004,'ABCD'"),
            "Ligne 11 : le code PCS-ESE « ABCD »",
        ),
        (_lines(*PERSON[:5], "S21.G00.40.007,'CDI'"), "Ligne 10 : la nature du contrat « CDI »"),
        (_lines("S21.G00.62.001,'30112026'"), "Ligne 5 : fin de contrat (S21.G00.62) déclarée hors d'un contrat"),
        (_lines("S21.G00.40.001,'30112026'"), "Ligne 5 : contrat (S21.G00.40) déclaré hors d'un salarié"),
        (
            _lines(*[p.replace("'01'", "'02'") if p.startswith("S21.G00.30.005") else p for p in PERSON]),
            "Ligne 5 : Le premier chiffre du numéro de sécurité sociale ne correspond pas au sexe",
        ),
        (b"S10.G00.00.001,'Paie'\nS21.G00.30.001,'1'", "Ligne 2 : salarié déclaré avant son établissement"),
        (b"S10.G00.00.001,'Paie'\n", "Cette DSN ne déclare aucun établissement"),
        (b"S21.G00.11.001,'00026'", "Ligne 1 : établissement (S21.G00.11) déclaré avant son entreprise"),
        (b"\xff\xfeS\x001\x00", "UTF-16"),
        (_lines("S21.G00.30.002,'MAR\x85TIN'").replace(b"\xc2\x85", b"\x85"), "Ligne 5 : caractère illisible"),
        (_lines("S21.G00.30.002,'" + "X" * 101 + "'"), "Ligne 5 : Le nom de famille dépasse 100 caractères."),
    ],
)
def test_dsn_faults_name_their_line(content, message):
    with pytest.raises(DsnError) as caught:
        parse(content)
    assert message in str(caught.value)


def test_dsn_person_without_nir_and_several_contracts():
    person = [line for line in PERSON if not line.startswith("S21.G00.30.001")]
    second = ["S21.G00.40.001,'01102026'", "S21.G00.40.006,'CHEF BOULANGER'", "S21.G00.40.007,'02'"]
    dsn = parse(_lines(*person, *second, "S21.G00.50.001,'30112026'", "S21.G00.62.001,'30112026'"))
    (martin,) = dsn.people
    assert martin.nir is None and len(martin.contracts) == 2
    assert martin.contract.job_title == "CHEF BOULANGER" and martin.contract.end_date == date(2026, 11, 30)
