"""Member CSV import: whole-file validation, encodings, sites, idempotence, dry run, bulk speed."""

from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import func, select
from stdnum import luhn
from stdnum.fr import siret as siret_checker

from extensions import db
from models import AuditEvent, Company
from services.core.credentials import check_teledeclarant
from services.staff.member_import import COLUMNS, apply_member_import, parse_member_csv
from tests.conftest import count_queries
from tests.factories import make_company

HEADER = ";".join(COLUMNS)
SIRETS = ["53464097409712", "30246633904050", "97366946800504", "19722233408416", "81924865900974"]


def row(code, name="Boulangerie Le Goff", siret=SIRETS[0], city="Saint-Brieuc", number="BZH2-LEGO-FF10", **kw):
    values = {
        "code_adherent": code,
        "raison_sociale": name,
        "siret": siret,
        "adresse": kw.get("adresse", "12 rue du Port"),
        "code_postal": kw.get("code_postal", "22000"),
        "ville": city,
        "telephone": kw.get("telephone", "02 96 61 22 33"),
        "email": kw.get("email", "contact@exemple.fr"),
        "num_teledeclarant": number,
    }
    return values


def csv_text(rows, delimiter=";") -> str:
    lines = [delimiter.join(COLUMNS)]
    lines += [delimiter.join(r[c] for c in COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


def good_rows():
    return [
        row("00010", "Boulangerie Le Goff", SIRETS[0], number="BZH2-LEGO-FF10"),
        row("00010-2", "Boulangerie Le Goff", SIRETS[1], city="Paimpol", code_postal="22500", number="PAMP-2LGO-FF22"),
        row("00020", "Garage des Côtes", SIRETS[2], city="Plérin", code_postal="22190", number="GARA-GECO-TE20"),
        row("00030", "Cabinet infirmier Ker Avel", SIRETS[3], city="Lannion", code_postal="22300", number="KERA-VEL3"),
    ]


def snapshot():
    db.session.expire_all()
    return [
        (c.code, c.name, c.siret, c.parent.code if c.parent else None, c.teledeclarant_hash, c.teledeclarant_changed_at)
        for c in db.session.scalars(select(Company).order_by(Company.code))
    ]


def run_import(runner, tmp_path, content, *args, name="adherents.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return runner.invoke(args=["adherents", "import", str(path), *args])


def test_import_good_file_twice_leaves_the_same_rows(runner, tmp_path):
    content = csv_text(good_rows())
    first = run_import(runner, tmp_path, content)
    assert first.exit_code == 0, first.output
    assert "4 créé(s), 0 mis à jour, 0 inchangé(s)" in first.output
    before = snapshot()
    assert [r[0] for r in before] == ["00010", "00010-2", "00020", "00030"]
    assert before[1][3] == "00010"  # the site points at its parent

    second = run_import(runner, tmp_path, content)
    assert second.exit_code == 0, second.output
    assert "0 créé(s), 0 mis à jour, 4 inchangé(s)" in second.output
    assert snapshot() == before  # same rows, same hashes, n° not marked as changed
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "adherents.import")).all()
    assert [(e.details["created"], e.details["unchanged"]) for e in events] == [(4, 0), (0, 4)]
    company = db.session.scalar(select(Company).where(Company.code == "00010"))
    assert check_teledeclarant("00010", " bzh2-lego-ff10 ", company.teledeclarant_hash)


def test_bad_siret_on_line_7_and_duplicate_on_line_12_import_nothing(runner, tmp_path):
    rows = [row(f"{100 + i:05d}", siret=SIRETS[i % 5], number=f"NUMERO-{i:04d}") for i in range(11)]
    rows[5]["siret"] = "53464097409713"  # line 7 (header is line 1)
    rows[10]["code_adherent"] = rows[1]["code_adherent"]  # line 12 repeats line 3
    result = run_import(runner, tmp_path, csv_text(rows))
    assert result.exit_code != 0
    assert "Ligne 7 : SIRET « 53464097409713 » invalide" in result.output
    assert "Ligne 12 : code adhérent 00101 déjà présent ligne 3" in result.output
    assert "rien n'a été importé" in result.output
    assert db.session.scalar(select(func.count(Company.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ";", False), ("utf-8", ",", True), ("cp1252", ";", False), ("cp1252", ",", False)],
)
def test_encodings_and_delimiters(runner, tmp_path, encoding, delimiter, bom):
    rows = good_rows()
    rows[2]["adresse"] = "Zone de Kerjaffrès, bâtiment B" if delimiter == ";" else "Zone de Kerjaffrès"
    data = csv_text(rows, delimiter).encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    result = run_import(runner, tmp_path, data)
    assert result.exit_code == 0, result.output
    names = dict(db.session.execute(select(Company.code, Company.name)).all())
    assert names["00020"] == "Garage des Côtes"
    assert db.session.scalar(select(Company.address).where(Company.code == "00020")).startswith("Zone de Kerjaffrès")


def test_quoted_field_with_a_comma_and_crlf_line_endings(runner, tmp_path):
    text = csv_text(good_rows(), ",").replace("12 rue du Port", '"12, rue du Port"').replace("\n", "\r\n")
    result = run_import(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Company.address).where(Company.code == "00010")) == "12, rue du Port"


def test_site_whose_parent_is_already_in_the_database(runner, tmp_path):
    parent = make_company("00500", teledeclarant="PARENT-0500")
    db.session.commit()
    result = run_import(runner, tmp_path, csv_text([row("00500-3", city="Dinan", number="SITE-00503")]))
    assert result.exit_code == 0, result.output
    site = db.session.scalar(select(Company).where(Company.code == "00500-3"))
    assert site.parent_id == parent.id


def test_site_without_known_parent_is_refused(runner, tmp_path):
    result = run_import(runner, tmp_path, csv_text([row("00010"), row("00040-2", number="SITE-AAAA")]))
    assert result.exit_code != 0
    assert "Ligne 3 : site 00040-2 : l'adhérent 00040 est absent du fichier et du portail" in result.output


def test_dry_run_writes_nothing(runner, tmp_path):
    result = run_import(runner, tmp_path, csv_text(good_rows()), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Simulation" in result.output and "4 créé(s)" in result.output
    assert db.session.scalar(select(func.count(Company.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_reimport_updates_fields_and_keeps_the_number_when_absent(runner, tmp_path):
    run_import(runner, tmp_path, csv_text(good_rows()))
    old_hash = db.session.scalar(select(Company.teledeclarant_hash).where(Company.code == "00020"))
    rows = good_rows()
    rows[0]["raison_sociale"] = "Boulangerie Le Goff et fils"
    rows[2]["num_teledeclarant"] = ""  # known company: the number stays
    rows[3]["num_teledeclarant"] = "NOUVEAU-NUMERO"
    result = run_import(runner, tmp_path, csv_text(rows))
    assert result.exit_code == 0, result.output
    assert "0 créé(s), 2 mis à jour, 2 inchangé(s)" in result.output
    db.session.expire_all()
    companies = {c.code: c for c in db.session.scalars(select(Company))}
    assert companies["00010"].name == "Boulangerie Le Goff et fils"
    assert companies["00020"].teledeclarant_hash == old_hash
    assert check_teledeclarant("00030", "NOUVEAU-NUMERO", companies["00030"].teledeclarant_hash)
    assert db.session.scalar(select(func.count(Company.id))) == 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code_adherent", "0010", "code adhérent « 0010 » invalide"),
        ("code_adherent", "00010-", "invalide"),
        ("raison_sociale", "", "raison sociale manquante"),
        ("raison_sociale", "x" * 201, "raison_sociale : 200 caractères au plus"),
        ("siret", "", "SIRET manquant"),
        ("siret", "1234", "SIRET « 1234 » invalide"),
        ("code_postal", "2200", "code postal « 2200 » invalide"),
        ("ville", "", "ville manquante"),
        ("telephone", "12", "téléphone « 12 » invalide"),
        ("email", "pas-une-adresse", "adresse e-mail « pas-une-adresse » invalide"),
        ("num_teledeclarant", "", "n° télédéclarant manquant pour le nouvel adhérent 00010"),
        ("raison_sociale", "Nom\x07bizarre", "caractère de contrôle interdit"),
    ],
)
def test_each_bad_field_is_named(field, value, message):
    rows = good_rows()
    rows[0][field] = value
    result = parse_member_csv(csv_text(rows).encode())
    assert not result.ok and result.rows == []
    assert any(e.line == 2 and message in e.message for e in result.errors), result.errors


def test_line_break_inside_a_field_is_refused():
    text = csv_text(good_rows()).replace("Garage des Côtes", '"Garage\ndes Côtes"')
    result = parse_member_csv(text.encode())
    assert any("retour à la ligne interdit" in e.message for e in result.errors), result.errors
    # The line numbers after a multi-line record stay those of the file.
    bad = csv_text(good_rows()).replace("Garage des Côtes", '"Garage\ndes Côtes"').replace(SIRETS[3], "1")
    assert any(e.line == 6 and "SIRET" in e.message for e in parse_member_csv(bad.encode()).errors)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Fichier vide"),
        (b"code;nom\n00010;X\n", "En-tête incorrect"),
        (b"\x00\x01\x02PK", "caractères nuls"),
        (HEADER.encode() + b"\n", "aucune ligne"),
        ((HEADER + "\n00010;trop;peu\n").encode(), "3 colonnes au lieu de 9"),
    ],
)
def test_unreadable_files_are_refused(content, message):
    result = parse_member_csv(content)
    assert not result.ok
    assert any(message in str(e) for e in result.errors), result.errors


def _valid_siret(rng) -> str:
    siren = f"{rng.randrange(10**7, 10**8):08d}"
    siren += luhn.calc_check_digit(siren)
    nic = f"{rng.randrange(1, 10**3):04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


@pytest.mark.slow
def test_twenty_thousand_rows_import_in_bulk():
    rng = random.Random(20_000)
    rows = []
    for i in range(16_000):
        code = f"{i + 1:05d}"
        rows.append(row(code, f"Entreprise {i}", _valid_siret(rng), number=f"NUM-{i:06d}", email=f"c{i}@exemple.fr"))
        if i % 4 == 0:
            rows.append(row(f"{code}-2", f"Entreprise {i} site", _valid_siret(rng), number=f"SITE-{i:06d}"))
    rows = rows[:20_000]
    assert all(siret_checker.is_valid(r["siret"]) for r in rows[:50])
    data = csv_text(rows).encode()

    started = time.perf_counter()
    result = parse_member_csv(data)
    parsed = time.perf_counter()
    assert result.ok, result.errors[:5]
    with count_queries() as queries:
        summary = apply_member_import(result.rows, source="bench")
        db.session.commit()
    applied = time.perf_counter()
    print(f"\n20,000 rows: parse {parsed - started:.2f} s, apply {applied - parsed:.2f} s, {len(queries)} statements")
    assert summary.created == 20_000
    assert len(queries) < 200  # bulk statements, not one query per row
    assert applied - started < 120  # generous sanity bound; speed is measured, not unit-tested

    again = parse_member_csv(data)
    with count_queries() as queries:
        summary = apply_member_import(again.rows, source="bench")
    assert summary.unchanged == 20_000 and summary.created == summary.updated == 0
    assert len(queries) < 10
