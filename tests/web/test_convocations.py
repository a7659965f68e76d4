"""The service's convocation list: employees due across members, filters, a fixed number of
queries, proposing slots or convoking directly (all or nothing), hires in the request queue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.outbox import OutboxMessage
from models.planning import AppointmentRequest, Professional, Visit
from services.employees import register as employee_service
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_centre, make_company, make_employee, make_member, make_slot, make_visit
from tests.web.service_helpers import staff_logged_in

TODAY = date.today()


def _members():
    a = make_company("00010", name="Boulangerie Le Goff", postal_code="22000")
    b = make_company("00020", name="Garage des Côtes", postal_code="29200")
    employer_a = make_member(a, email="gerant@legoff.test")
    employer_b = make_member(b, email="gerant@garage.test")
    old = TODAY - timedelta(days=200)
    late_a = make_employee(a, birth_name="Martin", first_names="Julie", entry_date=old)
    soon_a = make_employee(a, birth_name="Bernard", first_names="Paul", entry_date=TODAY - timedelta(days=30))
    sir_b = make_employee(
        b,
        birth_name="Kerleau",
        first_names="Yann",
        risks=["amiante"],
        category="SIR",
        entry_date=TODAY + timedelta(days=10),
    )
    db.session.commit()
    return a, b, employer_a, employer_b, (late_a, soon_a, sir_b)


def _free_slots(centre, count, *, kind="medecin", days=3):
    pro = Professional(name=f"Dr Slot {kind} {centre.id}", kind=kind)
    db.session.add(pro)
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)
    return [make_slot(start + timedelta(minutes=30 * i), centre=centre, professional=pro) for i in range(count)]


def test_the_list_shows_who_is_due_by_date_and_leaves_out_the_booked_the_gone_and_the_radiated(client):
    staff_logged_in(client)
    a, b, _, _, (late_a, soon_a, sir_b) = _members()
    booked = make_employee(a, birth_name="Réservé", first_names="Jean", entry_date=TODAY - timedelta(days=300))
    make_visit(booked)
    gone = make_employee(a, birth_name="Parti", first_names="Luc", entry_date=TODAY - timedelta(days=300))
    gone.exit_date = TODAY - timedelta(days=3)
    radiated = make_company("00030", name="Radiée SARL", active=False)
    make_employee(radiated, birth_name="Radié", first_names="Tom", entry_date=TODAY - timedelta(days=300))
    db.session.commit()

    text = client.get("/service/convocations").text
    assert "3 salariés à convoquer" in text
    assert text.index("MARTIN Julie") < text.index("KERLEAU Yann") < text.index("BERNARD Paul")
    assert "RÉSERVÉ" not in text and "PARTI" not in text and "RADIÉ" not in text
    assert "En retard" in text and "R4624-24" in text and "Examen médical d&#39;aptitude (SIR)" in text

    only_sir = client.get("/service/convocations?type=sir_initial").text
    assert "1 salarié à convoquer" in only_sir and "KERLEAU Yann" in only_sir
    renewals = client.get("/service/convocations?type=renouvellement").text
    assert "0 salarié" in renewals and "Aucun salarié à convoquer" in renewals
    member = client.get("/service/convocations?adherent=00020").text
    assert "KERLEAU Yann" in member and "MARTIN Julie" not in member
    window = client.get(f"/service/convocations?du={TODAY.isoformat()}").text
    assert "MARTIN Julie" not in window and "BERNARD Paul" in window
    centre = make_centre("Centre de Quimper", postal_code="29000")
    db.session.commit()
    by_centre = client.get(f"/service/convocations?centre={centre.id}").text
    assert "KERLEAU Yann" in by_centre and "MARTIN Julie" not in by_centre


def test_bad_filters_get_a_message_next_to_the_field_and_a_4xx(client):
    staff_logged_in(client)
    response = client.get("/service/convocations?du=31/02/2027&au=2026-01-01")
    assert response.status_code == 422
    assert "Saisissez une date valide (jj/mm/aaaa)." in response.text


def test_the_list_runs_a_fixed_number_of_queries_whatever_the_rows(client):
    staff_logged_in(client)
    a, *_ = _members()
    client.get("/service/convocations")
    with count_queries() as few:
        response = client.get("/service/convocations")
    assert response.status_code == 200
    for i in range(40):
        make_employee(a, birth_name=f"Nom{i}", entry_date=TODAY - timedelta(days=100 + i))
    db.session.commit()
    with count_queries() as many:
        response = client.get("/service/convocations")
    assert len(many) == len(few)
    assert "43 salariés à convoquer" in response.text and "Page 1 sur 2" in response.text
    assert "Page 2 sur 2" in client.get("/service/convocations?page=2").text


def test_only_staff_see_the_list(client):
    company = make_company()
    user = make_member(company)
    db.session.commit()
    login(client, user)
    assert client.get("/service/convocations").status_code == 404


def test_proposing_slots_to_three_employees_of_two_members_tells_each_employer(client):
    agent = staff_logged_in(client)
    a, b, employer_a, employer_b, (late_a, soon_a, sir_b) = _members()
    centre = make_centre("Centre de Saint-Brieuc")
    slots = _free_slots(centre, 4)
    db.session.commit()
    token = csrf_token(client, "/service/convocations")
    response = client.post(
        "/service/convocations",
        data={
            "csrf_token": token,
            "salarie": [late_a.id, soon_a.id, sir_b.id],
            "centre_creneaux": centre.id,
            "a_partir_du": TODAY.isoformat(),
            "action": "proposer",
        },
    )
    assert response.status_code == 303
    visits = list(db.session.scalars(select(Visit).order_by(Visit.starts_at)))
    assert [(v.employee_id, v.status, v.slot_id) for v in visits] == [
        (late_a.id, "proposee", slots[0].id),
        (sir_b.id, "proposee", slots[1].id),
        (soon_a.id, "proposee", slots[2].id),
    ]
    assert visits[1].visit_type == "examen_sir" and visits[0].visit_type == "vip_embauche"
    assert all(v.proposed_by_service and v.created_by_id == agent.id for v in visits)
    mails = list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == "Rendez-vous proposé par le service"))
    )
    assert sorted(m.recipients[0] for m in mails) == ["gerant@garage.test", "gerant@legoff.test", "gerant@legoff.test"]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "service.employee_convoked")) == 3
    assert "Aucun salarié à convoquer" in client.get("/service/convocations").text

    # Each employer sees the proposal to confirm in their planning.
    login(client, employer_b)
    planning_page = client.get("/entreprises/00020/planning/").text
    assert "Visites à confirmer" in planning_page and "KERLEAU Yann" in planning_page


def test_convoking_directly_confirms_and_answers_the_hire_request(client):
    staff_logged_in(client)
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerant@legoff.test")
    db.session.commit()
    employee = employee_service.create_employee(
        company,
        {
            "birth_name": "Nouveau",
            "first_names": "Léa",
            "sex": "F",
            "birth_date": date(1995, 4, 2),
            "entry_date": TODAY + timedelta(days=15),
            "job_title": "Boulangère",
            "night_work": True,
        },
        employer,
        "employeur",
    )
    db.session.commit()
    request = db.session.scalar(select(AppointmentRequest))
    assert request.reason == "embauche" and request.status == "en_attente"
    assert "avant l'affectation au poste (R4624-18)" in request.details
    queue = client.get("/service/demandes").text
    assert "Visite d&#39;embauche (VIP ou examen d&#39;aptitude)" in queue and "NOUVEAU Léa" in queue

    centre = make_centre()
    (slot,) = _free_slots(centre, 1, kind="infirmier")
    db.session.commit()
    response = client.post(
        "/service/convocations",
        data={
            "csrf_token": csrf_token(client, "/service/convocations"),
            "salarie": [employee.id],
            "centre_creneaux": centre.id,
            "a_partir_du": TODAY.isoformat(),
            "action": "convoquer",
        },
    )
    assert response.status_code == 303
    visit = db.session.scalar(select(Visit))
    assert (visit.status, visit.slot_id, visit.request_id) == ("confirmee", slot.id, request.id)
    db.session.refresh(request)
    assert request.status == "planifiee"
    assert db.session.scalar(select(func.count()).where(OutboxMessage.subject == "Rendez-vous confirmé")) == 1


def test_an_accountant_or_an_import_hire_follows_the_rule_but_the_service_creates_none(client):
    company = make_company()
    employee_service.create_employee(
        company,
        {
            "birth_name": "Import",
            "first_names": "A",
            "sex": "M",
            "birth_date": date(1990, 1, 1),
            "entry_date": TODAY,
            "job_title": "X",
        },
        None,
        "service",
    )
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AppointmentRequest)) == 0


def test_refusals_write_nothing_and_keep_the_choices(client):
    staff_logged_in(client)
    a, b, _, _, (late_a, soon_a, sir_b) = _members()
    centre = make_centre("Centre de Saint-Brieuc")
    _free_slots(centre, 2, kind="infirmier")  # no doctor: the SIR aptitude exam cannot be placed
    db.session.commit()
    token = csrf_token(client, "/service/convocations")
    base = {"csrf_token": token, "a_partir_du": TODAY.isoformat(), "action": "proposer"}

    response = client.post("/service/convocations", data={**base, "centre_creneaux": centre.id})
    assert response.status_code == 422 and "Cochez au moins un salarié à convoquer." in response.text

    response = client.post("/service/convocations", data={**base, "salarie": [late_a.id]})
    assert response.status_code == 422 and "Choisissez le centre où proposer les créneaux." in response.text
    assert f'value="{late_a.id}" id="salarie-{late_a.id}" checked' in response.text

    response = client.post(
        "/service/convocations", data={**base, "salarie": [late_a.id, sir_b.id], "centre_creneaux": centre.id}
    )
    assert response.status_code == 422
    assert "Pas assez de créneaux libres dans ce centre à partir de cette date pour : KERLEAU Yann." in response.text
    response = client.post(
        "/service/convocations",
        data={**base, "salarie": [late_a.id], "centre_creneaux": centre.id, "a_partir_du": "demain"},
    )
    assert response.status_code == 422 and "Saisissez une date valide" in response.text
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0
    response = client.post("/service/convocations", data={**base, "csrf_token": "x", "salarie": [late_a.id]})
    assert response.status_code in (400, 422)
