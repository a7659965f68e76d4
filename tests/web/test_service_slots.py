"""Back-office slots: series creation (DST, weekdays, reserved member), the week view (fixed
query count, taken and free), removal of free slots only, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from extensions import db
from models.audit import AuditEvent
from models.planning import Centre, Professional, Slot, Visit
from services.planning import slot_series
from services.planning.slot_series import PARIS
from tests.conftest import count_queries, csrf_token
from tests.factories import make_company, make_employee
from tests.web.service_helpers import staff_logged_in

SERIES_URL = "/service/creneaux/serie"


def _dst_sunday() -> date:
    """The next spring DST change in Paris (last Sunday of March), a year ahead at least."""
    year = date.today().year + 1
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _centre_and_professional():
    centre = Centre(name="Centre de Saint-Brieuc", address="12 rue des Lilas, 22000 Saint-Brieuc")
    professional = Professional(name="Dr Anne Le Bihan", kind="medecin")
    db.session.add_all([centre, professional])
    db.session.commit()
    return centre, professional


def _series_data(client, centre_, professional_, **overrides):
    data = {
        "centre": str(centre_.id),
        "professional": str(professional_.id),
        "first_date": "",
        "last_date": "",
        "weekdays": ["0", "1", "2", "3", "4"],
        "start_time": "09:00",
        "end_time": "12:00",
        "duration": "30",
        "reserved_code": "",
        "action": "creer",
        "csrf_token": csrf_token(client, SERIES_URL),
    }
    data.update(overrides)
    return data


def _slot_count() -> int:
    return db.session.execute(select(func.count()).select_from(Slot)).scalar_one()


def _book(slot, company):
    employee = make_employee(company)
    visit = Visit(
        company=company,
        employee=employee,
        slot_id=slot.id,
        active_slot_id=slot.id,
        starts_at=slot.starts_at,
        visit_type="reprise",
        status="confirmee",
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def test_service_slots_series_across_dst_week(client):
    centre, professional = _centre_and_professional()
    staff_logged_in(client)
    sunday = _dst_sunday()
    friday, tuesday = sunday - timedelta(days=2), sunday + timedelta(days=2)
    data = _series_data(
        client, centre, professional, first_date=friday.isoformat(), last_date=tuesday.isoformat(), weekdays=["0", "4"]
    )
    response = client.post(SERIES_URL, data=data)
    assert response.status_code == 303
    # Friday and Monday only (weekday filter), 6 slots of 30 min from 09:00 to 12:00 each.
    assert _slot_count() == 12
    starts = sorted(s.astimezone(UTC) for s in db.session.execute(select(Slot.starts_at)).scalars())
    assert starts[0] == datetime.combine(friday, time(8, 0), tzinfo=UTC)  # UTC+1 before the change
    monday = sunday + timedelta(days=1)
    assert starts[6] == datetime.combine(monday, time(7, 0), tzinfo=UTC)  # UTC+2 after it
    assert all(s.astimezone(PARIS).time() >= time(9) for s in starts)
    year, week, _ = friday.isocalendar()
    assert f"semaine={year}-W{week:02d}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "12 créneaux créés (0 existaient déjà)." in page
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "slots.series_created")).scalar_one()
    assert event.details["created"] == 12

    # Again with a longer period: the existing ones are not created twice.
    data = _series_data(
        client,
        centre,
        professional,
        first_date=friday.isoformat(),
        last_date=tuesday.isoformat(),
        weekdays=["0", "1", "4"],
    )
    client.post(SERIES_URL, data=data)
    assert _slot_count() == 18
    html = client.get("/service/creneaux").get_data(as_text=True)
    assert "6 créneaux créés (12 existaient déjà)" in html


def test_service_slots_series_flash_and_week(client):
    centre, professional = _centre_and_professional()
    staff_logged_in(client)
    monday = date.today() + timedelta(days=14 - date.today().weekday())
    data = _series_data(
        client, centre, professional, first_date=monday.isoformat(), last_date=(monday + timedelta(days=6)).isoformat()
    )
    response = client.post(SERIES_URL, data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "30 créneaux créés (0 existaient déjà)" in html
    assert "Semaine du " + monday.strftime("%d/%m/%Y") in html
    assert html.count(">libre<") == 30
    assert "Samedi" in html and "Dimanche" not in html


def test_service_slots_series_preview_counts_without_creating(client):
    centre, professional = _centre_and_professional()
    staff_logged_in(client)
    monday = date.today() + timedelta(days=14 - date.today().weekday())
    data = _series_data(
        client,
        centre,
        professional,
        first_date=monday.isoformat(),
        last_date=(monday + timedelta(days=6)).isoformat(),
        action="apercu",
        duration="60",
    )
    response = client.post(SERIES_URL, data=data)
    assert response.status_code == 200
    assert "Cette série compte 15 créneaux à venir" in response.get_data(as_text=True)
    assert _slot_count() == 0


def test_service_slots_series_new_centre_and_professional_reserved(client):
    company = make_company("00010")
    make_company("00020", active=False)
    db.session.commit()
    staff_logged_in(client)
    monday = date.today() + timedelta(days=14 - date.today().weekday())
    base = {
        "centre": "0",
        "new_centre_name": "Centre de Lannion",
        "new_centre_address": "3 quai d'Aiguillon, 22300 Lannion",
        "professional": "0",
        "new_professional_name": "Yann Kerboul",
        "new_professional_kind": "infirmier",
        "first_date": monday.isoformat(),
        "last_date": monday.isoformat(),
        "weekdays": ["0"],
        "start_time": "14:00",
        "end_time": "15:00",
        "duration": "20",
        "action": "creer",
    }
    for code, message in (("99999", "Aucun adhérent actif"), ("00020", "Aucun adhérent actif")):
        response = client.post(
            SERIES_URL, data={**base, "reserved_code": code, "csrf_token": csrf_token(client, SERIES_URL)}
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html and 'value="Centre de Lannion"' in html
    response = client.post(
        SERIES_URL, data={**base, "reserved_code": "00010", "csrf_token": csrf_token(client, SERIES_URL)}
    )
    assert response.status_code == 303
    slots = db.session.execute(select(Slot)).scalars().all()
    assert len(slots) == 3 and {s.reserved_company_id for s in slots} == {company.id}
    assert slots[0].centre.name == "Centre de Lannion" and slots[0].professional.kind == "infirmier"
    week = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "réservé 00010" in week


def test_service_slots_series_bad_input_answers_422_in_french(client):
    centre, professional = _centre_and_professional()
    staff_logged_in(client)
    cases = [
        ({"first_date": "", "last_date": ""}, "Ce champ est obligatoire."),
        ({"first_date": "2030-02-30", "last_date": "2030-03-01"}, "Saisissez une date valide"),
        ({"first_date": "2030-03-10", "last_date": "2030-03-01"}, "La date de fin doit être postérieure"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "weekdays": []}, "Cochez au moins un jour"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "weekdays": ["9"]}, "Jour de la semaine inconnu"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "end_time": "08:00"}, "heure de fin doit être après"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "start_time": "25:99"}, "Saisissez une heure valide"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "duration": "17"}, "Choisissez une durée proposée"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "centre": "abc"}, "Choisissez un centre de la liste"),
        (
            {"first_date": "2030-03-01", "last_date": "2030-03-08", "professional": "0"},
            "Indiquez le nom du nouveau professionnel",
        ),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "centre": "0"}, "Indiquez le nom du nouveau centre"),
        (
            {"first_date": "2030-01-01", "last_date": "2030-12-31", "end_time": "20:00", "duration": "15"},
            "au plus 2000",
        ),
        ({"first_date": "2030-01-01", "last_date": "2031-06-01"}, "Une série couvre au plus un an"),
        ({"first_date": "2020-01-06", "last_date": "2020-01-10"}, "Aucun créneau à venir"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "reserved_code": "000\n10"}, "une seule ligne"),
        ({"first_date": "2030-03-01", "last_date": "2030-03-08", "reserved_code": "x" * 50}, "Code trop long"),
    ]
    for overrides, message in cases:
        response = client.post(SERIES_URL, data=_series_data(client, centre, professional, **overrides))
        html = response.get_data(as_text=True)
        assert response.status_code == 422, overrides
        assert message in html, (overrides, message)
    fragment = client.post(
        SERIES_URL, data=_series_data(client, centre, professional), headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Ce champ est obligatoire." in fragment
    assert _slot_count() == 0


def _week_of(start: datetime) -> str:
    year, week, _ = start.astimezone(PARIS).isocalendar()
    return f"{year}-W{week:02d}"


def _make_slots(centre, professional, count, start):
    slots = [
        Slot(starts_at=start + timedelta(minutes=30 * i), duration_minutes=30, centre=centre, professional=professional)
        for i in range(count)
    ]
    db.session.add_all(slots)
    db.session.commit()
    return slots


def _next_monday_9h() -> datetime:
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(9), tzinfo=PARIS).astimezone(UTC)


def test_service_slots_week_shows_taken_code_and_fixed_queries(client):
    centre, professional = _centre_and_professional()
    other = Professional(name="Dr Erwan Cadiou", kind="medecin")
    db.session.add(other)
    company = make_company("00010")
    start = _next_monday_9h()
    slots = _make_slots(centre, professional, 3, start)
    _make_slots(centre, other, 2, start)
    visit = _book(slots[0], company)
    staff_logged_in(client)
    url = f"/service/creneaux?semaine={_week_of(start)}"
    html = client.get(url).get_data(as_text=True)
    assert "pris · 00010" in html and visit.employee.birth_name not in html
    assert html.count(">libre<") == 4
    assert f'name="creneau" value="{slots[0].id}"' not in html
    filtered = client.get(f"{url}&professionnel={professional.id}").get_data(as_text=True)
    assert filtered.count(">libre<") == 2
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "Semaine suivante" in fragment

    with count_queries() as few:
        client.get(url)
    _make_slots(centre, professional, 20, start + timedelta(days=1))
    for slot in db.session.execute(select(Slot).where(Slot.starts_at > start + timedelta(days=1))).scalars().all()[:5]:
        _book(slot, company)
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert html.count("pris · 00010") == 6
    assert len(many) == len(few)


def test_service_slots_week_odd_arguments(client):
    staff_logged_in(client)
    for query in ("semaine=2027-W99", "semaine=abc", "centre=abc&professionnel=99999999999", "semaine=%00"):
        assert client.get(f"/service/creneaux?{query}").status_code == 200, query
    html = client.get("/service/creneaux?semaine=2027-W05").get_data(as_text=True)
    assert "Semaine du 01/02/2027 au 07/02/2027" in html
    assert "semaine=2027-W04" in html and "semaine=2027-W06" in html


def test_service_slots_removal_refuses_taken_slots(client):
    centre, professional = _centre_and_professional()
    company = make_company("00010")
    start = _next_monday_9h()
    slots = _make_slots(centre, professional, 3, start)
    _book(slots[0], company)
    staff_logged_in(client)
    week_url = f"/service/creneaux?semaine={_week_of(start)}"
    token = csrf_token(client, week_url)
    response = client.post(
        "/service/creneaux/supprimer",
        data={"creneau": [str(slots[0].id), str(slots[1].id)], "semaine": _week_of(start), "csrf_token": token},
    )
    assert response.status_code == 409
    assert "sont pris : aucun créneau" in response.get_data(as_text=True)
    assert _slot_count() == 3
    response = client.post(
        "/service/creneaux/supprimer",
        data={"creneau": [str(slots[1].id), str(slots[2].id), "abc"], "semaine": _week_of(start), "csrf_token": token},
    )
    assert response.status_code == 303 and f"semaine={_week_of(start)}" in response.headers["Location"]
    assert "2 créneaux supprimés." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.execute(select(Slot.id)).scalars().all() == [slots[0].id]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "slots.removed")).scalar_one()
    assert event.details["count"] == 2
    assert client.post("/service/creneaux/supprimer", data={"csrf_token": token}).status_code == 409
    assert (
        client.post("/service/creneaux/supprimer", data={"creneau": ["999999"], "csrf_token": token}).status_code == 409
    )


def test_service_slots_removal_refuses_past_slots(client):
    centre, professional = _centre_and_professional()
    past = _make_slots(centre, professional, 1, datetime.now(UTC) - timedelta(days=1))
    staff_logged_in(client)
    token = csrf_token(client, "/service/creneaux")
    response = client.post("/service/creneaux/supprimer", data={"creneau": [str(past[0].id)], "csrf_token": token})
    assert response.status_code == 409 and _slot_count() == 1


def test_service_slots_dashboard_counts_free_slots(client):
    centre, professional = _centre_and_professional()
    company = make_company("00010")
    soon = datetime.now(UTC) + timedelta(hours=2)
    slots = _make_slots(centre, professional, 4, soon)
    _make_slots(centre, professional, 2, soon + timedelta(days=10))
    _book(slots[0], company)
    staff_logged_in(client)
    html = client.get("/service/").get_data(as_text=True)
    assert "Créneaux libres dans les 7 prochains jours" in html
    assert slot_series.free_slots_between(soon - timedelta(minutes=1), soon + timedelta(days=7)) == 3
    assert 'href="/service/creneaux"' in html


def test_service_slots_series_service_skips_past_and_dst_gap():
    centre = Centre(name="C", address="A")
    professional = Professional(name="P", kind="medecin")
    db.session.add_all([centre, professional])
    db.session.flush()
    sunday = _dst_sunday()
    # 01:30 to 03:30 on the change day: 02:00 and 02:30 do not exist in Paris.
    starts = slot_series.series_starts(sunday, sunday, {6}, time(1, 30), time(3, 30), 30)
    assert [s.astimezone(PARIS).strftime("%H:%M") for s in starts] == ["01:30", "03:00"]
    now = datetime.combine(sunday - timedelta(days=1), time(23, 30), tzinfo=UTC)
    result = slot_series.create_series(
        centre, professional, sunday, sunday, {6}, time(0, 0), time(3, 0), 60, None, None, now=now
    )
    # 00:00 (23:00 UTC, past) is skipped; 01:00 is created; 02:00 does not exist.
    assert (result.created, result.past) == (1, 1)
