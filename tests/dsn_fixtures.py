"""The register the sample DSN of docs/samples is made for: Boulangerie Le Goff, 00010, with its
sites of Paimpol (00010-2) and Dinan (00010-5)."""

from datetime import date
from pathlib import Path

from services.core import crypto
from tests.factories import make_company, make_employee

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"


def sample(name: str = "dsn-boulangerie-le-goff-2026-11.dsn") -> bytes:
    return (SAMPLES / name).read_bytes()


def make_bakery():
    """The member, its two sites and the register before the November 2026 DSN."""
    member = make_company("00010", name="Boulangerie Le Goff", siret="00000000000018", city="Saint-Brieuc")
    paimpol = make_company("00010-2", name="Boulangerie Le Goff", siret="00000000000026", city="Paimpol", parent=member)
    dinan = make_company("00010-5", name="Boulangerie Le Goff", siret="00000000000034", city="Dinan", parent=member)
    martin = make_employee(
        paimpol,
        birth_name="MARTIN",
        first_names="Paul",
        birth_date=date(1988, 3, 14),
        entry_date=date(2019, 9, 2),
        job_title="Boulanger",
        pcs_ese="636d",
        nir_encrypted=crypto.encrypt_nir("188032227804593"),
        nir_hash=crypto.nir_hash("188032227804593"),
    )
    le_goff = make_employee(
        paimpol,
        birth_name="LE GOFF",
        first_names="Yann",
        birth_date=date(1994, 7, 21),
        entry_date=date(2026, 5, 4),
        job_title="Vendeur",
        contract_nature="02",
        pcs_ese="554a",
        nir_encrypted=crypto.encrypt_nir("194072216811289"),
        nir_hash=crypto.nir_hash("194072216811289"),
    )
    durand = make_employee(
        dinan,
        birth_name="DURAND",
        first_names="Léa",
        sex="F",
        birth_date=date(1997, 10, 8),
        entry_date=date(2023, 2, 1),
        job_title="Vendeuse",
        pcs_ese="554a",
        nir_encrypted=crypto.encrypt_nir("297102205003169"),
        nir_hash=crypto.nir_hash("297102205003169"),
    )
    robin = make_employee(dinan, birth_name="ROBIN", first_names="Hugo", job_title="Pâtissier")
    return member, paimpol, dinan, {"martin": martin, "le_goff": le_goff, "durand": durand, "robin": robin}
