"""Visits after booking, on the service's side: cancel or move one visit, or cancel a
professional's half-day; employers are told by e-mail and see it; employees are due again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.outbox import OutboxMessage
from models.planning import Professional, Slot, Visit
from services.planning.common import PARIS
from tests.conftest import csrf_token, login
from tests.factories import make_centre, make_company, make_employee, make_member, make_slot, make_visit
from tests.web.service_helpers import staff_logged_in

TODAY = date.today()


def _day_at(days: int, hour: int, minute: int = 0) -> datetime:
    day = TODAY + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _mails(subject: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject == subject)))


def test_cancelling_one_visit_needs_a_reason_tells_the_employer_and_puts_the_employee_back(client):
    staff_logged_in(client)
    company = make_company("00010", name="Boulangerie Le Goff")
    employer = make_member(company, email="gerant@legoff.test")
    employee = make_employee(company, birth_name="Martin", first_names="Julie", entry_date=TODAY - timedelta(days=200))
    visit = make_visit(employee, make_slot(_day_at(5, 9)))
    db.session.commit()
    assert "MARTIN Julie" not in client.get("/service/convocations").text
    page = client.get(f"/service/visites/{visit.id}/modifier")
    assert page.status_code == 200 and "Annuler la visite" in page.text
    token = csrf_token(client, f"/service/visites/{visit.id}/modifier")

    response = client.post(f"/service/visites/{visit.id}/annulation", data={"csrf_token": token, "cancel_reason": "  "})
    assert response.status_code == 422 and "Indiquez le motif" in response.text
    db.session.refresh(visit)
    assert visit.status == "confirmee"

    response = client.post(
        f"/service/visites/{visit.id}/annulation", data={"csrf_token": token, "cancel_reason": "Médecin malade"}
    )
    assert response.status_code == 303
    db.session.refresh(visit)
    assert (visit.status, visit.active_slot_id, visit.service_change_reason) == ("annulee", None, "Médecin malade")
    (mail,) = _mails("Rendez-vous annulé par le service")
    assert mail.recipients == ["gerant@legoff.test"] and "Motif : Médecin malade" in mail.body_text
    assert "MARTIN Julie" in client.get("/service/convocations").text
    # A second cancellation is refused.
    response = client.post(f"/service/visites/{visit.id}/annulation", data={"csrf_token": token, "cancel_reason": "x"})
    assert response.status_code == 422 and "n'est plus prévue" in response.text

    login(client, employer)
    planning = client.get("/entreprises/00010/planning/").text
    assert "Rendez-vous annulés ou déplacés par le service" in planning and "motif : Médecin malade" in planning


def test_moving_a_visit_to_a_free_slot_tells_the_employer(client):
    staff_logged_in(client)
    company = make_company("00010")
    make_member(company, email="gerant@legoff.test")
    other = make_company("00020")
    employee = make_employee(company, birth_name="Martin", first_names="Julie")
    visit = make_visit(employee, make_slot(_day_at(5, 9)))
    target = make_slot(_day_at(6, 10))
    reserved = make_slot(_day_at(6, 11), reserved_company=other)
    db.session.commit()
    token = csrf_token(client, f"/service/visites/{visit.id}/modifier")
    page = client.get(f"/service/visites/{visit.id}/modifier").text
    assert f'value="{target.id}"' in page and f'value="{reserved.id}"' not in page

    response = client.post(
        f"/service/visites/{visit.id}/deplacement",
        data={"csrf_token": token, "slot": reserved.id, "move_reason": "Salle indisponible"},
    )
    assert response.status_code == 422 and "réservé à un autre adhérent" in response.text
    response = client.post(
        f"/service/visites/{visit.id}/deplacement", data={"csrf_token": token, "slot": "", "move_reason": "x"}
    )
    assert response.status_code == 422 and "Choisissez un créneau de la liste." in response.text
    response = client.post(
        f"/service/visites/{visit.id}/deplacement",
        data={"csrf_token": token, "slot": target.id, "move_reason": "Salle indisponible"},
    )
    assert response.status_code == 303
    db.session.refresh(visit)
    assert (visit.slot_id, visit.active_slot_id, visit.status) == (target.id, target.id, "confirmee")
    (mail,) = _mails("Rendez-vous déplacé par le service")
    assert "Motif : Salle indisponible" in mail.body_text and "il était prévu le" in mail.body_text
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "service.visit_moved")) == 1


def test_an_afternoon_absence_cancels_that_afternoon_only_and_removes_its_free_slots(client):
    staff_logged_in(client)
    a = make_company("00010", name="Boulangerie Le Goff")
    b = make_company("00020", name="Garage des Côtes")
    make_member(a, email="gerant@legoff.test")
    make_member(b, email="gerant@garage.test")
    doctor = Professional(name="Dr Anne Le Bihan", kind="medecin")
    db.session.add(doctor)
    centre = make_centre()
    morning = make_visit(
        make_employee(a, birth_name="Matin"), make_slot(_day_at(4, 9), centre=centre, professional=doctor)
    )
    after_1 = make_visit(
        make_employee(a, birth_name="Aprem"), make_slot(_day_at(4, 14), centre=centre, professional=doctor)
    )
    after_2 = make_visit(
        make_employee(b, birth_name="Garage"), make_slot(_day_at(4, 15), centre=centre, professional=doctor)
    )
    free = make_slot(_day_at(4, 16), centre=centre, professional=doctor)
    db.session.commit()
    free_id = free.id

    preview = client.get(
        f"/service/absences?professionnel={doctor.id}&jour={(TODAY + timedelta(days=4)).isoformat()}&periode=apres_midi"
    )
    assert preview.status_code == 200
    assert "APREM" in preview.text and "GARAGE" in preview.text and "MATIN" not in preview.text
    bad = client.get(f"/service/absences?professionnel={doctor.id}&jour=demain&periode=apres_midi")
    assert bad.status_code == 422 and "Saisissez une date valide" in bad.text

    token = csrf_token(client, "/service/absences")
    data = {
        "csrf_token": token,
        "professionnel": doctor.id,
        "jour": (TODAY + timedelta(days=4)).isoformat(),
        "periode": "apres_midi",
        "motif": "",
    }
    response = client.post("/service/absences", data=data)
    assert response.status_code == 422 and "Indiquez le motif" in response.text
    response = client.post("/service/absences", data={**data, "motif": "Absence du Dr Le Bihan"})
    assert response.status_code == 303
    statuses = {v.id: v.status for v in db.session.scalars(select(Visit))}
    assert statuses == {morning.id: "confirmee", after_1.id: "annulee", after_2.id: "annulee"}
    assert db.session.get(Slot, free_id) is None
    mails = _mails("Rendez-vous annulé par le service")
    assert sorted(m.recipients[0] for m in mails) == ["gerant@garage.test", "gerant@legoff.test"]
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "service.professional_absence")) == 1
    listing = client.get("/service/convocations").text
    assert "APREM" in listing and "GARAGE" in listing and "MATIN" not in listing


def test_only_staff_reach_the_change_pages(client):
    company = make_company()
    user = make_member(company)
    visit = make_visit(make_employee(company))
    db.session.commit()
    login(client, user)
    assert client.get(f"/service/visites/{visit.id}/modifier").status_code == 404
    assert client.get("/service/absences").status_code == 404
