"""Statistics: each indicator's table, its SVG chart (no script) and its CSV, for a year and
a centre; staff only."""

from __future__ import annotations

from datetime import UTC, date, datetime

from extensions import db
from models.planning import Professional
from services.planning.common import PARIS
from tests.conftest import login
from tests.factories import make_centre, make_company, make_employee, make_member, make_slot, make_visit
from tests.web.service_helpers import staff_logged_in

YEAR = date.today().year - 1


def _at(month: int, day: int = 10) -> datetime:
    return datetime(YEAR, month, day, 9, 0, tzinfo=PARIS).astimezone(UTC)


def _world():
    a = make_company("00010", postal_code="22000")
    b = make_company("00020", postal_code="29200")
    doctor = Professional(name="Dr Le Bihan", kind="medecin")
    db.session.add(doctor)
    brieuc = make_centre("Centre de Saint-Brieuc", postal_code="22000")
    quimper = make_centre("Centre de Quimper", postal_code="29000")
    hired = make_employee(a, entry_date=date(YEAR, 1, 5))
    late = make_employee(a, entry_date=date(YEAR, 2, 1), category="SIR", risks=["plomb"])
    make_employee(b, entry_date=date(YEAR, 3, 1))
    make_visit(hired, make_slot(_at(1, 20), centre=brieuc, professional=doctor), status="realisee")
    make_visit(late, make_slot(_at(9), centre=brieuc, professional=doctor), status="realisee", visit_type="examen_sir")
    make_visit(hired, make_slot(_at(9, 12), centre=brieuc, professional=doctor), status="absence_non_excusee")
    make_visit(late, make_slot(_at(9, 14), centre=quimper, professional=doctor), status="realisee")
    db.session.commit()
    return brieuc


def test_the_page_shows_each_indicator_with_its_table_chart_and_csv(client):
    staff_logged_in(client)
    brieuc = _world()
    html = client.get(f"/service/statistiques?annee={YEAR}").text
    for title in (
        "Visites réalisées par mois et par type",
        "Taux d&#39;absence par mois",
        "Délai entre l&#39;embauche et la première visite",
        "Effectif suivi au 31/12/",
        "Créances par ancienneté (TTC)",
    ):
        assert title in html, title
    assert f"/service/statistiques/visites.svg?annee={YEAR}" in html

    csv = client.get(f"/service/statistiques/visites.csv?annee={YEAR}").get_data(as_text=True)
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0] == "Mois;VIP embauche;Examen médical d'aptitude (SIR);Total"
    assert lines[1] == "Janvier;1;0;1" and lines[9] == "Septembre;1;1;2"
    by_centre = client.get(f"/service/statistiques/visites.csv?annee={YEAR}&centre={brieuc.id}").text
    assert "Septembre;0;1;1" in by_centre
    absences = client.get(f"/service/statistiques/absences.csv?annee={YEAR}").text
    assert "Septembre;3;1;33.3" in absences
    delay = client.get(f"/service/statistiques/delai.csv?annee={YEAR}").text
    assert "Moins d'1 mois;1" in delay and "Plus de 6 mois;1" in delay and "Pas encore de visite;1" in delay
    delay_centre = client.get(f"/service/statistiques/delai.csv?annee={YEAR}&centre={brieuc.id}").text
    assert "Pas encore de visite;0" in delay_centre
    headcount = client.get(f"/service/statistiques/effectifs.csv?annee={YEAR}").text
    assert "SI;2" in headcount and "SIR;1" in headcount

    svg = client.get(f"/service/statistiques/visites.svg?annee={YEAR}")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data and b"<script" not in svg.data
    assert "script-src" not in svg.headers["Content-Security-Policy"]
    assert client.get("/service/statistiques/inconnu.svg").status_code == 404
    assert client.get("/service/statistiques?annee=abc").status_code == 200


def test_only_staff_see_the_figures(client):
    company = make_company()
    login(client, make_member(company))
    assert client.get("/service/statistiques").status_code == 404
