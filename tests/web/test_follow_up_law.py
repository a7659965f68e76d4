"""Issue 17 through the pages: the right professional, reprise thresholds, the rendez-vous de
liaison, outcomes from the visit's start and their corrections, slot overlaps, the article on
the employee page, the register's memory of SIR and temporary NIRs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AppointmentRequest, AuditEvent, Employee, Slot, Visit
from models.billing import Invoice, PendingFee
from models.planning import Professional
from services import billing
from services.core.database import write_intent
from services.planning import appointment_requests, common, slot_import, slot_series
from tests.conftest import csrf_token, login
from tests.factories import (
    make_centre,
    make_company,
    make_declaration_company,
    make_employee,
    make_member,
    make_slot,
    make_tariff,
    make_visit,
)
from tests.web.service_helpers import staff_logged_in

BASE = "/entreprises/00010/planning"


def at(days: int, hour: int = 9) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def nurse(name="Yann Kerléo"):
    professional = Professional(name=name, kind="infirmier")
    db.session.add(professional)
    db.session.flush()
    return professional


def audits(action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


@pytest.fixture
def member():
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company, email="gerante@legoff.test")
    sir = make_employee(
        company, birth_name="Le Floch", first_names="Maël", category="SIR", risks=["plomb"], entry_date=date.today()
    )
    db.session.commit()
    return company, user, sir


# --------------------------------------------------------------------------- who examines


def test_sir_exam_refused_on_a_nurse_slot_accepted_on_a_doctor_slot(client, member):
    company, user, sir = member
    nurse_slot = make_slot(at(10), professional=nurse(), reserved_company=company)
    doctor_slot = make_slot(at(11), reserved_company=company)
    db.session.commit()
    login(client, user)
    url = f"{BASE}/creneaux/{nurse_slot.id}/reserver"
    hint = client.get(url).get_data(as_text=True)
    assert "Visites possibles sur ce créneau : VIP embauche, VIP périodique, Visite intermédiaire SIR" in hint
    data = {"employee_id": sir.id, "visit_type": "examen_sir", "csrf_token": csrf_token(client, url)}
    refused = client.post(url, data=data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "est réalisé(e) par un médecin du travail (articles R4624-24 et R4624-25 du Code du travail)" in text
    assert db.session.scalar(select(func.count(Visit.id))) == 0
    # The suggested type (the SIR exam) is refused the same way.
    suggested = client.post(url, data={**data, "visit_type": ""})
    assert suggested.status_code == 422 and "R4624-24" in suggested.get_data(as_text=True)
    url = f"{BASE}/creneaux/{doctor_slot.id}/reserver"
    ok = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
    assert ok.status_code == 303
    assert db.session.execute(select(Visit)).scalar_one().visit_type == "examen_sir"


def test_a_vip_may_be_a_nurses_visit(client, member):
    company, user, _ = member
    newcomer = make_employee(company, birth_name="Nouveau", entry_date=date.today())
    slot = make_slot(at(10), professional=nurse(), reserved_company=company)
    db.session.commit()
    login(client, user)
    url = f"{BASE}/creneaux/{slot.id}/reserver"
    response = client.post(
        url, data={"employee_id": newcomer.id, "visit_type": "vip_embauche", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 303


def test_moving_a_reprise_visit_to_a_nurse_slot_is_refused(client, member):
    company, user, sir = member
    visit = make_visit(sir, make_slot(at(10)), visit_type="reprise")
    nurse_slot = make_slot(at(12), professional=nurse())
    db.session.commit()
    login(client, user)
    url = f"{BASE}/visites/{visit.id}/deplacer"
    response = client.post(url, data={"slot_id": nurse_slot.id, "csrf_token": csrf_token(client, url)})
    assert response.status_code == 409 and "R4624-31" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Visit, visit.id).slot_id != nurse_slot.id


def test_staff_cannot_place_a_reprise_on_a_nurse_slot(client, member):
    company, user, sir = member
    request = appointment_requests.create_request(
        company,
        {
            "employee_id": sir.id,
            "reason": "reprise",
            "absence_type": "maternite",
            "absence_start": date(2026, 1, 5),
            "absence_end": date(2026, 5, 4),
        },
        user,
    )
    slot = make_slot(at(10), professional=nurse())
    db.session.commit()
    staff_logged_in(client)
    url = f"/service/demandes/{request.id}"
    page = client.get(url).get_data(as_text=True)
    assert "au plus tard le 12/05/2026 (8 jours après la reprise, article R4624-31)" in page
    response = client.post(
        f"{url}/placer", data={"slot": slot.id, "visit_type": "reprise", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 422 and "R4624-31" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(AppointmentRequest, request.id).status == "en_attente"


# --------------------------------------------------------------------------- reprise, liaison


def _request(client, employee, **data):
    url = f"{BASE}/demande"
    return client.post(url, data={"employee_id": employee.id, "csrf_token": csrf_token(client, url), **data})


def test_reprise_under_the_threshold_is_refused_with_the_rule(client, member):
    company, user, sir = member
    login(client, user)
    refused = _request(
        client, sir, reason="reprise", absence_type="maladie", absence_start="2026-03-01", absence_end="2026-03-11"
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "obligatoire après 60 jours d&#39;absence" in text and "R4624-31" in text and "dure 10 jours" in text
    assert 'value="2026-03-11"' in text  # input kept
    assert db.session.scalar(select(func.count(AppointmentRequest.id))) == 0
    ok = _request(
        client,
        sir,
        reason="reprise",
        absence_type="accident_travail",
        absence_start="2026-03-01",
        absence_end="2026-04-06",
    )
    assert ok.status_code == 303
    page = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Visite à organiser au plus tard le 14/04/2026 (8 jours après la reprise, article R4624-31)." in page


def test_rendez_vous_de_liaison_is_a_reason_of_its_own(client, member):
    company, user, sir = member
    login(client, user)
    today = date.today()
    short = _request(client, sir, reason="rendez_vous_liaison", absence_start=(today - timedelta(days=10)).isoformat())
    assert short.status_code == 422 and "L1226-1-3" in short.get_data(as_text=True)
    ok = _request(client, sir, reason="rendez_vous_liaison", absence_start=(today - timedelta(days=40)).isoformat())
    assert ok.status_code == 303
    request = db.session.execute(select(AppointmentRequest)).scalar_one()
    assert request.reason == "rendez_vous_liaison" and request.absence_start == today - timedelta(days=40)
    assert "Rendez-vous de liaison" in client.get(f"{BASE}/").get_data(as_text=True)


# --------------------------------------------------------------------------- outcomes


def test_outcome_only_from_the_visits_start(client, member):
    company, user, sir = member
    visit = make_visit(sir, make_slot(at(3)), visit_type="examen_sir")
    db.session.commit()
    staff_logged_in(client)
    url = f"/service/visites/{visit.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Le résultat s'enregistre à partir du début de la visite" in page
    response = client.post(f"{url}/resultat", data={"outcome": "realisee", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 422 and "à partir de son heure de début" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Visit, visit.id).status == "confirmee"


def test_a_wrong_no_show_is_corrected_and_its_invoiced_fee_cancelled_by_a_credit_note(client, app):
    company = make_declaration_company("00010", name="Boulangerie Le Goff")
    make_tariff()
    employer = make_member(company, email="gerante@legoff.test")
    employee = make_employee(company)
    visit = make_visit(employee, make_slot(at(-1)), visit_type="vip_periodique")
    db.session.commit()
    staff_logged_in(client)
    url = f"/service/visites/{visit.id}"
    recorded = client.post(
        f"{url}/resultat",
        data={"outcome": "absence_non_excusee", "bill_fee": "y", "csrf_token": csrf_token(client, url)},
    )
    assert recorded.status_code == 303
    tariff = billing.tariff_for_year(billing.today().year)
    with write_intent():
        _, invoice = billing.confirm_declaration(company, tariff, employer, attested=True)
        db.session.commit()
    assert any(line.code == "NO_SHOW" for line in invoice.lines)

    no_reason = client.post(
        f"{url}/corriger-resultat",
        data={"correction-outcome": "realisee", "correction-reason": "", "csrf_token": csrf_token(client, url)},
    )
    assert no_reason.status_code == 422 and "Indiquez le motif de la correction" in no_reason.get_data(as_text=True)
    corrected = client.post(
        f"{url}/corriger-resultat",
        data={
            "correction-outcome": "realisee",
            "correction-reason": "Le salarié était présent, erreur de saisie.",
            "csrf_token": csrf_token(client, url),
        },
    )
    assert corrected.status_code == 303
    db.session.rollback()
    assert db.session.get(Visit, visit.id).status == "realisee"
    credit = db.session.execute(select(Invoice).where(Invoice.kind == "credit_note")).scalar_one()
    assert credit.corrects_id == invoice.id and credit.total_ht == app_fee(app)
    assert [line.label for line in credit.lines][0].startswith("Annulation – Absence non excusée")
    (event,) = audits("service.visit_outcome_corrected")
    assert event.details["old"] == "absence_non_excusee" and event.details["reason"].startswith("Le salarié")
    assert audits("service.no_show_fee_withdrawn")[0].details["credit_note"] == credit.number


def app_fee(app):
    from decimal import Decimal

    return Decimal(app.config["NO_SHOW_FEE_AMOUNT"]).quantize(Decimal("0.01"))


def test_a_fee_not_invoiced_yet_is_simply_withdrawn_and_the_type_can_change(client, member):
    company, user, sir = member
    visit = make_visit(sir, make_slot(at(-2)), visit_type="vip_periodique")
    db.session.commit()
    staff_logged_in(client)
    url = f"/service/visites/{visit.id}"
    client.post(
        f"{url}/resultat",
        data={"outcome": "absence_non_excusee", "bill_fee": "y", "csrf_token": csrf_token(client, url)},
    )
    assert db.session.scalar(select(func.count(PendingFee.id))) == 1
    response = client.post(
        f"{url}/corriger-resultat",
        data={
            "correction-outcome": "absence_excusee",
            "correction-reason": "Arrêt maladie reçu le lendemain.",
            "csrf_token": csrf_token(client, url),
        },
    )
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(func.count(PendingFee.id))) == 0
    assert db.session.get(Visit, visit.id).status == "absence_excusee"

    changed = client.post(
        f"{url}/type",
        data={
            "type-visit_type": "examen_sir",
            "type-reason": "Poste exposé au plomb.",
            "csrf_token": csrf_token(client, url),
        },
    )
    assert changed.status_code == 303
    db.session.rollback()
    assert db.session.get(Visit, visit.id).visit_type == "examen_sir"
    assert audits("service.visit_type_changed")[0].details["old"] == "vip_periodique"


def test_changing_the_type_to_a_doctors_visit_on_a_nurse_slot_is_refused(client, member):
    company, user, sir = member
    visit = make_visit(sir, make_slot(at(5), professional=nurse()), visit_type="vip_embauche")
    db.session.commit()
    staff_logged_in(client)
    url = f"/service/visites/{visit.id}"
    response = client.post(
        f"{url}/type",
        data={"type-visit_type": "examen_sir", "type-reason": "Erreur de type.", "csrf_token": csrf_token(client, url)},
    )
    assert response.status_code == 422 and "R4624-24" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Visit, visit.id).visit_type == "vip_embauche"


# --------------------------------------------------------------------------- slots


def test_slot_import_refuses_the_past_and_overlaps_across_centres():
    make_company("00010")
    db.session.commit()
    first = (
        "debut;duree_minutes;centre;professionnel;code_adherent\n"
        "15/01/2031 09:00;30;Centre de Saint-Brieuc;Dr Anne Le Bihan;\n"
    )
    assert slot_import.import_slots(first).created == 1
    db.session.commit()
    other_centre = (
        "debut;duree_minutes;centre;professionnel;code_adherent\n"
        "15/01/2031 09:00;30;Centre de Dinan;Dr Anne Le Bihan;\n"
        "15/01/2031 09:15;30;Centre de Dinan;Dr Anne Le Bihan;\n"
        "10/03/2020 09:00;30;Centre de Dinan;Dr Anne Le Bihan;\n"
    )
    with pytest.raises(slot_import.SlotImportError) as exc:
        slot_import.import_slots(other_centre)
    errors = exc.value.errors
    assert errors[0].startswith("Ligne 2 : Dr Anne Le Bihan a déjà un créneau le 15/01/2031 de 09:00 à 09:30")
    assert "au Centre de Saint-Brieuc" in errors[0] and errors[1].startswith("Ligne 3 :")
    assert "Ligne 4 : le créneau le 10/03/2020" in errors[2] and "est passé" in errors[2]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Slot.id))) == 1
    assert slot_import.import_slots(first).existing == 1  # the very same slot exists already


def test_series_overlapping_a_slot_in_another_centre_is_refused():
    doctor = Professional(name="Dr Anne Le Bihan", kind="medecin")
    db.session.add(doctor)
    day = date.today() + timedelta(days=7)
    make_slot(
        datetime.combine(day, time(10), common.PARIS).astimezone(UTC), professional=doctor, centre=make_centre("Dinan")
    )
    with pytest.raises(slot_series.SeriesError) as exc:
        slot_series.create_series(
            make_centre("Saint-Brieuc"), doctor, day, day, {day.weekday()}, time(9), time(12), 30, None, None
        )
    assert "a déjà un créneau" in exc.value.message and "Dinan" in exc.value.message


# --------------------------------------------------------------------------- register


def test_employee_page_shows_the_article_and_the_sir_history(client, member):
    company, user, sir = member
    login(client, user)
    page = client.get(f"/entreprises/00010/salaries/{sir.id}").get_data(as_text=True)
    assert "(Article R4624-24 du Code du travail)" in page
    # No longer exposed, then leaving: the post-exposition visit is still due (L4624-2-1).
    employee = db.session.get(Employee, sir.id)
    assert employee.ever_sir
    employee.risks, employee.category, employee.exit_date = [], "SI", date.today() + timedelta(days=20)
    db.session.commit()
    page = client.get(f"/entreprises/00010/salaries/{sir.id}").get_data(as_text=True)
    assert "Visite post-exposition" in page and "suivi en SIR par le passé" in page and "L4624-2-1" in page


def test_temporary_nir_accepted_in_the_register(client, member):
    company, user, _ = member
    login(client, user)
    url = "/entreprises/00010/salaries/nouveau"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "birth_name": "Nguyen",
            "first_names": "Lan",
            "sex": "F",
            "birth_date": "1992-04-03",
            "nir": "785017512345697",
            "entry_date": date.today().isoformat(),
            "contract_nature": "01",
            "job_title": "Préparatrice",
            "risks": ["biologiques_groupe2"],
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    employee = db.session.execute(select(Employee).where(Employee.birth_name == "Nguyen")).scalar_one()
    assert employee.category == "SI" and employee.risks == ["biologiques_groupe2"]
