"""Mon planning: slot import, booking, moving, cancelling, requests, downloads, feed, access."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AppointmentRequest, AuditEvent, CalendarFeed, OutboxMessage, Slot, Visit
from models.companies import ROLE_ACCOUNTANT
from services.planning import booking, common, reminders, slot_import
from tests.conftest import count_queries, csrf_token, login
from tests.factories import (
    make_centre,
    make_company,
    make_employee,
    make_member,
    make_membership,
    make_slot,
    make_user,
    make_visit,
)

BASE = "/entreprises/00010/planning"


def future(days: int, hour: int = 9) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def setup():
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company, email="gerante@legoff.test")
    employee = make_employee(company, birth_name="Durand", first_names="Louis", entry_date=date.today())
    db.session.commit()
    return company, user, employee


def post(client, url, data=None, page=None, **kwargs):
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page or f"{BASE}/")
    return client.post(url, data=data, **kwargs)


# --------------------------------------------------------------------------- PDF parsing


def _unescape(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            n = raw[i + 1]
            simple = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
            if n in simple:
                out.append(simple[n])
                i += 2
            elif 0x30 <= n <= 0x37:
                j = i + 1
                while j < len(raw) and j < i + 4 and 0x30 <= raw[j] <= 0x37:
                    j += 1
                out.append(int(raw[i + 1 : j], 8) & 0xFF)
                i = j
            else:
                out.append(n)
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def pdf_texts(data: bytes) -> str:
    """Decode the text runs of an uncompressed fpdf2 PDF through each embedded ToUnicode map."""
    cmaps = []
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        cmaps.append({int(a, 16): chr(int(b, 16)) for a, b in re.findall(rb"<([0-9A-F]+)> <([0-9A-F]+)>", block)})
    runs = [_unescape(m) for m in re.findall(rb"\(((?:\\.|[^\\)])*)\) ?Tj", data, re.S)]
    texts = []
    for run in runs:
        for cmap in cmaps:
            texts.append("".join(cmap.get(int.from_bytes(run[i : i + 2], "big"), "?") for i in range(0, len(run), 2)))
        texts.append(run.decode("latin-1"))
    return "\n".join(texts)


# --------------------------------------------------------------------------- import


SLOTS_CSV = """debut;duree_minutes;centre;professionnel;code_adherent
15/01/2031 09:00;30;Centre de Saint-Brieuc;Dr Anne Le Bihan;00010
15/01/2031 09:30;30;Centre de Saint-Brieuc;Dr Anne Le Bihan;
2031-01-16T14:00;20;Centre de Dinan;Marc Guillou;
"""


def test_planning_slot_import_is_idempotent_and_creates_centres(runner, tmp_path):
    make_company("00010")
    db.session.commit()
    path = tmp_path / "creneaux.csv"
    path.write_text(SLOTS_CSV, encoding="utf-8")
    result = runner.invoke(args=["slots", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 créneau(x) créé(s)" in result.output
    assert "Centre créé : Centre de Dinan" in result.output
    again = runner.invoke(args=["slots", "import", str(path)])
    assert "0 créneau(x) créé(s), 3 déjà présent(s)" in again.output
    db.session.rollback()
    slots = db.session.execute(select(Slot).order_by(Slot.starts_at)).scalars().all()
    assert len(slots) == 3
    # 09:00 Paris in winter is 08:00 UTC; the first slot is reserved to 00010, the others open.
    assert slots[0].starts_at == datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
    assert slots[0].reserved_company_id is not None and slots[1].reserved_company_id is None
    assert slots[2].professional.kind == "infirmier" and slots[0].professional.kind == "medecin"
    added = runner.invoke(
        args=[
            "slots",
            "centre",
            "add",
            "Centre de Dinan",
            "--adresse",
            "3 rue du Château",
            "--ville",
            "Dinan",
            "--acces",
            "Entrée par la cour",
        ]
    )
    assert added.exit_code == 0, added.output
    db.session.rollback()
    assert slots[2].centre.address == "3 rue du Château"


def test_planning_slot_import_rejects_the_whole_file_with_line_numbers(runner, tmp_path):
    make_company("00010")
    db.session.commit()
    path = tmp_path / "creneaux.csv"
    path.write_text(
        SLOTS_CSV + "32/01/2031 09:00;30;Centre;Dr X;\n16/01/2031 10:00;abc;Centre;Dr X;99999\n", encoding="utf-8"
    )
    result = runner.invoke(args=["slots", "import", str(path)])
    assert result.exit_code != 0
    assert "Ligne 5 : date de début" in result.output
    assert "Ligne 6 : durée" in result.output
    assert "Ligne 6 : code adhérent « 99999 » inconnu" in result.output
    assert "Aucun créneau importé" in result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count(Slot.id))) == 0


def test_planning_slot_import_bad_header():
    with pytest.raises(slot_import.SlotImportError) as exc:
        slot_import.import_slots("a;b\n1;2\n")
    assert "Ligne 1" in exc.value.errors[0]


# --------------------------------------------------------------------------- booking


def test_planning_book_slot_journey(client, setup):
    company, user, employee = setup
    slot = make_slot(future(10), reserved_company=company)
    db.session.commit()
    login(client, user)
    page = client.get(f"{BASE}/creneaux").get_data(as_text=True)
    assert "Créneaux proposés" in page and f"/creneaux/{slot.id}/reserver" in page
    form = client.get(f"{BASE}/creneaux/{slot.id}/reserver").get_data(as_text=True)
    assert "DURAND Louis – VIP embauche" in form
    response = post(
        client,
        f"{BASE}/creneaux/{slot.id}/reserver",
        {"employee_id": employee.id, "visit_type": ""},
        page=f"{BASE}/creneaux/{slot.id}/reserver",
    )
    assert response.status_code == 303
    visit = db.session.execute(select(Visit)).scalar_one()
    assert visit.active_slot_id == slot.id and visit.visit_type == "vip_embauche" and visit.status == "confirmee"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "planning.slot_booked"))
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert mail.recipients == ["gerante@legoff.test"] and "DURAND Louis" in mail.body_text
    planning = client.get(f"{BASE}/").get_data(as_text=True)
    assert "DURAND Louis" in planning and "VIP embauche" in planning and "Dr Anne Le Bihan" in planning
    # The slot is no longer offered.
    assert f"/creneaux/{slot.id}/reserver" not in client.get(f"{BASE}/creneaux").get_data(as_text=True)


def test_planning_book_invalid_input_answers_422(client, setup):
    company, user, employee = setup
    slot = make_slot(future(10))
    db.session.commit()
    login(client, user)
    url = f"{BASE}/creneaux/{slot.id}/reserver"
    for data in (
        {"employee_id": ""},
        {"employee_id": "999999"},
        {"employee_id": "x" * 5000},
        {"employee_id": employee.id, "visit_type": "radiographie"},
    ):
        response = post(client, url, data, page=url)
        assert response.status_code == 422
        assert "Choisissez" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Visit.id))) == 0


def test_planning_slot_already_taken_answers_409_with_the_list(client, setup):
    company, user, employee = setup
    other = make_company("00020")
    slot = make_slot(future(10))
    free = make_slot(future(11))
    make_visit(make_employee(other), slot)
    db.session.commit()
    login(client, user)
    url = f"{BASE}/creneaux/{slot.id}/reserver"
    # The slot was free when the form was shown, then another employer took it.
    response = post(client, url, {"employee_id": employee.id}, page=f"{BASE}/creneaux/{free.id}/reserver")
    assert response.status_code == 409
    assert "Choisissez-en un autre" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Visit.id))) == 1


def test_planning_409_message_when_the_insert_loses(client, setup, monkeypatch):
    company, user, employee = setup
    other = make_company("00020")
    slot = make_slot(future(10))
    make_visit(make_employee(other), slot)
    db.session.commit()
    login(client, user)

    # The pre-check misses the concurrent booking: the UNIQUE constraint still refuses it.
    def without_precheck(company, slot, employee_id, visit_type, actor, now):
        visit = Visit(
            company_id=company.id,
            employee_id=employee_id,
            slot_id=slot.id,
            active_slot_id=slot.id,
            starts_at=slot.starts_at,
            visit_type=visit_type,
            status="confirmee",
        )
        db.session.add(visit)
        db.session.flush()
        return visit

    monkeypatch.setattr(booking, "book_slot", without_precheck)
    url = f"{BASE}/creneaux/{slot.id}/reserver"
    response = post(client, url, {"employee_id": employee.id}, page=url)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "vient d&#39;être réservé par une autre entreprise" in html and "Créneaux proposés" in html


def test_planning_concurrent_bookings_leave_one_visit(app, setup):
    """20 threads, each with its own app context and session, race for the same slot."""
    import threading

    from models import User
    from services.core.database import write_intent

    company, user, employee = setup
    slot = make_slot(future(10))
    employees = [make_employee(company) for _ in range(20)]
    db.session.commit()
    ids = [e.id for e in employees]
    slot_id, user_id, company_id = slot.id, user.id, company.id
    barrier = threading.Barrier(20)
    outcomes = []

    def attempt(employee_id):
        with app.app_context():
            from models import Company

            try:
                barrier.wait(timeout=10)
                with write_intent():
                    actor = db.session.get(User, user_id)
                    comp = db.session.get(Company, company_id)
                    the_slot = db.session.get(Slot, slot_id)
                    booking.book_slot(comp, the_slot, employee_id, "vip_embauche", actor, datetime.now(UTC))
                    db.session.commit()
                outcomes.append("ok")
            except (common.SlotTaken, Exception) as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(eid,)) for eid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.rollback()
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) <= {"ok", "SlotTaken", "IntegrityError"}, outcomes
    assert db.session.scalar(select(func.count(Visit.id)).where(Visit.slot_id == slot_id)) == 1


# --------------------------------------------------------------------------- cancel, move, proposals


def test_planning_cancel_and_move_until_the_notice_period(client, setup, app):
    company, user, employee = setup
    visit = make_visit(employee, make_slot(future(10)))
    late = make_visit(make_employee(company, birth_name="Tardif"), make_slot(future(1)))
    target = make_slot(future(12))
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "une absence non excusée est facturée 80 € HT" in html
    assert f"/visites/{late.id}/annuler" not in html and f"/visites/{visit.id}/annuler" in html
    assert post(client, f"{BASE}/visites/{late.id}/annuler").status_code == 409
    assert client.get(f"{BASE}/visites/{late.id}/deplacer").status_code == 409

    moved = post(client, f"{BASE}/visites/{visit.id}/deplacer", {"slot_id": target.id})
    assert moved.status_code == 303
    db.session.refresh(visit)
    assert visit.active_slot_id == target.id and visit.starts_at == target.starts_at
    assert post(client, f"{BASE}/visites/{visit.id}/deplacer", {"slot_id": "abc"}).status_code == 422

    cancelled = post(client, f"{BASE}/visites/{visit.id}/annuler")
    assert cancelled.status_code == 303
    db.session.refresh(visit)
    assert visit.status == "annulee" and visit.active_slot_id is None
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"planning.visit_moved", "planning.visit_cancelled"} <= actions
    subjects = [m.subject for m in db.session.execute(select(OutboxMessage)).scalars()]
    assert "Rendez-vous déplacé" in subjects and "Rendez-vous annulé" in subjects


def test_planning_proposal_confirm_or_another_date(client, setup):
    company, user, employee = setup
    first = make_visit(employee, make_slot(future(10)), status="proposee")
    second = make_visit(make_employee(company), make_slot(future(11)), status="proposee", visit_type="mi_carriere")
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "Visites à confirmer" in html and "À confirmer" in html
    assert post(client, f"{BASE}/visites/{first.id}/confirmer").status_code == 303
    db.session.refresh(first)
    assert first.status == "confirmee"
    url = f"{BASE}/visites/{second.id}/autre-date"
    bad = post(client, url, {"reason": ""}, page=url)
    assert bad.status_code == 422 and "Indiquez le motif." in bad.get_data(as_text=True)
    ok = post(client, url, {"reason": "Salarié en congés cette semaine-là"}, page=url)
    assert ok.status_code == 303
    db.session.refresh(second)
    assert second.status == "annulee" and second.active_slot_id is None
    request = db.session.execute(select(AppointmentRequest)).scalar_one()
    assert request.reason == "mi_carriere" and request.status == "en_attente"
    assert "En attente" in client.get(f"{BASE}/").get_data(as_text=True)


# --------------------------------------------------------------------------- requests


def test_planning_request_validation_and_success(client, setup, app):
    company, user, employee = setup
    login(client, user)
    url = f"{BASE}/demande"
    missing = post(client, url, {"employee_id": employee.id, "reason": "reprise"}, page=url)
    assert missing.status_code == 422
    body = missing.get_data(as_text=True)
    assert "Indiquez le type d&#39;absence." in body and "Indiquez la date de reprise." in body
    no_motivation = post(client, url, {"employee_id": employee.id, "reason": "a_la_demande"}, page=url)
    assert no_motivation.status_code == 422 and "La motivation est obligatoire" in no_motivation.get_data(as_text=True)
    odd = post(
        client,
        url,
        {"employee_id": employee.id, "reason": "x\r\n", "absence_start": "2027-02-30", "comment": "é" * 3000},
        page=url,
    )
    assert odd.status_code == 422 and "Date invalide." in odd.get_data(as_text=True)
    ok = post(
        client,
        url,
        {
            "employee_id": employee.id,
            "reason": "reprise",
            "absence_type": "accident_travail",
            "absence_start": "2027-01-04",
            "absence_end": "2027-02-15",
            "wished_from": "2027-02-15",
            "comment": "Reprise à mi-temps",
        },
        page=url,
    )
    assert ok.status_code == 303
    request = db.session.execute(select(AppointmentRequest)).scalar_one()
    assert request.absence_type == "accident_travail" and request.absence_end == date(2027, 2, 15)
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert mail.recipients == [app.config["SERVICE_PLANNING_EMAIL"]] and "Accident du travail" in mail.body_text
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "En attente" in html and "du 04/01/2027 au 15/02/2027" in html


# --------------------------------------------------------------------------- downloads and feed


def test_planning_convocation_pdf_and_ics(client, setup):
    company, user, employee = setup
    start = datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
    visit = make_visit(employee, make_slot(start, centre=make_centre("Centre de Saint-Brieuc")))
    db.session.commit()
    login(client, user)
    pdf = client.get(f"{BASE}/visites/{visit.id}/convocation.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert f'filename="convocation-2031-01-15-{visit.id}.pdf"' in pdf.headers["Content-Disposition"]
    text = pdf_texts(pdf.data)
    assert "DURAND Louis" in text and "15/01/2031" in text and "Heure : 09 h 00" in text
    assert "Parking visiteurs" in text
    ics = client.get(f"{BASE}/visites/{visit.id}/rendez-vous.ics")
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.data and b"DTSTART" in ics.data and "Durand" not in ics.headers["Content-Disposition"]
    downloads = db.session.execute(select(AuditEvent).where(AuditEvent.action == "planning.download")).scalars().all()
    assert sorted(e.details["document"] for e in downloads) == ["convocation", "ics"]


def test_planning_calendar_feed_initials_renew_revoke(client, setup):
    company, user, employee = setup
    make_visit(employee, make_slot(future(10)))
    db.session.commit()
    login(client, user)
    response = post(client, f"{BASE}/calendrier/renouveler")
    url = re.search(r'value="http://portail\.test(/calendrier/[^"]+\.ics)"', response.get_data(as_text=True)).group(1)
    feed = client.get(url)
    assert feed.status_code == 200 and b"BEGIN:VEVENT" in feed.data
    assert b"L. D." in feed.data and b"Durand" not in feed.data and b"DURAND" not in feed.data
    assert db.session.execute(select(CalendarFeed)).scalar_one().token_hash not in url
    post(client, f"{BASE}/calendrier/renouveler")
    assert client.get(url).status_code == 404  # renewed: the old address is dead
    post(client, f"{BASE}/calendrier/revoquer")
    assert db.session.scalar(select(func.count(CalendarFeed.id)).where(CalendarFeed.revoked_at.is_(None))) == 0
    assert client.get("/calendrier/nope.ics").status_code == 404


# --------------------------------------------------------------------------- reminders


def test_planning_reminders_are_sent_once(runner, setup):
    company, user, employee = setup
    soon = make_visit(employee, make_slot(future(1, hour=15)))
    make_visit(make_employee(company), make_slot(future(9)))
    make_visit(make_employee(company), make_slot(future(1, hour=16)), status="annulee")
    db.session.commit()
    first = runner.invoke(args=["reminders", "send"])
    assert "1 rappel(s)" in first.output, first.output
    second = runner.invoke(args=["reminders", "send"])
    assert "0 rappel(s)" in second.output
    assert reminders.send_reminders(datetime.now(UTC)) == 0
    db.session.rollback()
    mails = db.session.execute(select(OutboxMessage)).scalars().all()
    assert len(mails) == 1 and mails[0].subject.startswith("Rappel")
    db.session.refresh(soon)
    assert soon.reminder_sent_at is not None


# --------------------------------------------------------------------------- access


def _company_routes(visit_id, slot_id):
    return [
        ("GET", "/"),
        ("GET", "/creneaux"),
        ("GET", f"/creneaux/{slot_id}/reserver"),
        ("POST", f"/creneaux/{slot_id}/reserver"),
        ("POST", f"/visites/{visit_id}/confirmer"),
        ("GET", f"/visites/{visit_id}/autre-date"),
        ("POST", f"/visites/{visit_id}/autre-date"),
        ("POST", f"/visites/{visit_id}/annuler"),
        ("GET", f"/visites/{visit_id}/deplacer"),
        ("POST", f"/visites/{visit_id}/deplacer"),
        ("GET", f"/visites/{visit_id}/convocation.pdf"),
        ("GET", f"/visites/{visit_id}/rendez-vous.ics"),
        ("GET", "/demande"),
        ("POST", "/demande"),
        ("POST", "/calendrier/renouveler"),
        ("POST", "/calendrier/revoquer"),
    ]


def test_planning_tiers_declarant_gets_403_everywhere(client, app, setup):
    company, user, employee = setup
    visit = make_visit(employee, make_slot(future(10)), status="proposee")
    slot = make_slot(future(11))
    accountant = make_user("compta@cabinet.test")
    make_membership(accountant, company, ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        for method, path in _company_routes(visit.id, slot.id):
            response = client.open(BASE + path, method=method, data={"x": "1"})
            assert response.status_code == 403, f"{method} {path}: {response.status_code}"
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert "Mon planning" not in client.get("/entreprises/00010/").get_data(as_text=True)


def test_planning_company_b_never_sees_company_a(client, app, setup):
    company_a, user_a, employee_a = setup
    visit = make_visit(employee_a, make_slot(future(10)), status="proposee")
    reserved = make_slot(future(11), reserved_company=company_a)
    company_b = make_company("00020")
    user_b = make_member(company_b)
    make_employee(company_b, birth_name="Bertin")
    db.session.add(
        AppointmentRequest(
            company_id=company_a.id, employee_id=employee_a.id, reason="autre", status="en_attente", comment="Secret A"
        )
    )
    db.session.commit()
    # A's feed.
    login(client, user_a)
    html = post(client, f"{BASE}/calendrier/renouveler").get_data(as_text=True)
    feed_url = re.search(r'value="http://portail\.test(/calendrier/[^"]+\.ics)"', html).group(1)
    login(client, user_b)
    base_b = "/entreprises/00020/planning"
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        for method, path in _company_routes(visit.id, reserved.id):
            if "/visites/" not in path and "/creneaux/" not in path:
                continue
            response = client.open(base_b + path, method=method, data={"slot_id": reserved.id, "reason": "x"})
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        for method, path in _company_routes(visit.id, reserved.id):
            assert client.open(BASE + path, method=method).status_code == 404
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    pages = client.get(f"{base_b}/").get_data(as_text=True) + client.get(f"{base_b}/creneaux").get_data(as_text=True)
    assert "DURAND Louis" not in pages and f"/creneaux/{reserved.id}/" not in pages and "Secret A" not in pages
    feed_b = post(client, f"{base_b}/calendrier/renouveler", page=f"{base_b}/").get_data(as_text=True)
    url_b = re.search(r'value="http://portail\.test(/calendrier/[^"]+\.ics)"', feed_b).group(1)
    assert b"L. D." not in client.get(url_b).data and client.get(feed_url).status_code == 200


def test_planning_site_visits_show_on_the_member_page_with_site_filter(client, setup):
    company, user, employee = setup
    site = make_company("00010-2", parent=company, city="Dinan")
    worker = make_employee(site, birth_name="Site")
    make_visit(worker, make_slot(future(10)))
    make_visit(employee, make_slot(future(10, hour=10)))
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert "SITE Louis" in html and "DURAND Louis" in html
    filtered = client.get(f"{BASE}/?site={site.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "SITE Louis" in filtered and "DURAND Louis" not in filtered and "<html" not in filtered


def test_planning_week_view(client, setup):
    company, user, employee = setup
    start = datetime(2031, 1, 29, 9, 0, tzinfo=UTC)  # Wednesday of 2031-W05
    make_visit(employee, make_slot(start))
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/?semaine=2031-W05").get_data(as_text=True)
    assert "Semaine du Lundi 27 janvier 2031" in html and "DURAND Louis" in html
    assert "semaine=2031-W06" in html and "semaine=2031-W04" in html
    other = client.get(f"{BASE}/?semaine=2031-W06", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in other and "Aucune visite" in other and "DURAND Louis" not in other
    assert client.get(f"{BASE}/?semaine=garbage&type=x&salarie=abc&page=-3").status_code == 200


def test_planning_pages_run_a_fixed_number_of_queries(client, setup):
    company, user, employee = setup
    login(client, user)

    def fill(n):
        for i in range(n):
            e = make_employee(company)
            make_visit(e, make_slot(future(5 + i)))
            make_slot(future(2 + i % 5, hour=14))
            db.session.add(
                AppointmentRequest(company_id=company.id, employee_id=e.id, reason="autre", status="en_attente")
            )
        db.session.commit()

    def counts():
        result = []
        for path in ("/", "/?vue=semaine", "/creneaux", f"/creneaux/{last_slot_id()}/reserver"):
            with count_queries() as queries:
                assert client.get(BASE + path).status_code == 200
            result.append(len(queries))
        return result

    def last_slot_id():
        return db.session.scalar(
            select(Slot.id)
            .where(~select(Visit.id).where(Visit.active_slot_id == Slot.id).exists())
            .order_by(Slot.id.desc())
            .limit(1)
        )

    fill(2)
    client.get(f"{BASE}/")  # the first visit remembers the company (one UPDATE): not counted
    small = counts()
    fill(10)
    assert counts() == small


# --------------------------------------------------------------------------- large companies


def test_planning_employee_filter_is_a_name_search(client, setup):
    """No <select> of every employee: a name search (as you type with htmx, a GET form without
    JavaScript); ?salarie=<id> still narrows to one employee and shows the name."""
    company, user, employee = setup
    other = make_employee(company, birth_name="Martin", first_names="Zoé")
    make_visit(employee, make_slot(future(5)))
    make_visit(other, make_slot(future(6)))
    for i in range(30):
        make_employee(company, birth_name=f"Salarie{i}")
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/").get_data(as_text=True)
    assert 'type="search" id="filtre-salarie" name="q"' in html and "Salarie12" not in html
    assert 'hx-trigger="input changed delay:300ms, search, submit"' in html
    found = client.get(f"{BASE}/?q=zoé+mart", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "MARTIN Zoé" in found and "DURAND Louis" not in found and "<html" not in found
    assert "pour ces critères" in client.get(f"{BASE}/?q=100%25").get_data(as_text=True)  # LIKE escaped
    one = client.get(f"{BASE}/?salarie={employee.id}").get_data(as_text=True)
    assert "Visites de <strong>DURAND Louis</strong>" in one and "MARTIN Zoé" not in one
    assert f'name="salarie" value="{employee.id}"' in one
    # an employee of another company is ignored, not shown
    stranger = make_employee(make_company("00099"), birth_name="Secret")
    db.session.commit()
    assert "SECRET" not in client.get(f"{BASE}/?salarie={stranger.id}").get_data(as_text=True)


def test_planning_list_pages_ten_visits(client, setup):
    company, user, employee = setup
    for i in range(11):
        make_visit(employee, make_slot(future(3 + i)))
    db.session.commit()
    login(client, user)
    first = client.get(f"{BASE}/").get_data(as_text=True)
    assert first.count('<article class="visit') == 10 and "page=2" in first
    second = client.get(f"{BASE}/?page=2").get_data(as_text=True)
    assert second.count('<article class="visit') == 1 and "Page précédente" in second


def test_free_slots_twenty_at_a_time_with_voir_plus(client, setup):
    """A week can hold thousands of free slots: 20 at a time, "Voir plus de créneaux" goes on
    after the last one shown (appended by htmx, a page of its own without JavaScript)."""
    company, user, employee = setup
    monday = (datetime.now(UTC) + timedelta(days=14)).date()
    monday -= timedelta(days=monday.weekday())
    week = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
    start = datetime(monday.year, monday.month, monday.day, 7, 0, tzinfo=UTC)
    slots = [make_slot(start + timedelta(minutes=15 * i)) for i in range(25)]
    db.session.commit()
    login(client, user)
    fragment = client.get(f"{BASE}/creneaux?semaine={week}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('<li class="slot">') == 20
    assert f"/creneaux/{slots[19].id}/reserver" in fragment and f"/creneaux/{slots[20].id}/reserver" not in fragment
    more = re.search(
        r'<a class="button" href="([^"]+)" hx-get="[^"]+" hx-target="#(creneaux-plus-[^"]+)" '
        r'hx-swap="outerHTML">Voir plus de créneaux</a>',
        fragment,
    )
    assert more and f'id="{more.group(2)}"' in fragment
    url = more.group(1).replace("&amp;", "&")
    rest = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert rest.count('<li class="slot">') == 5 and "(suite)" in rest and "Voir plus" not in rest
    assert "Semaine suivante" not in rest and f"/creneaux/{slots[24].id}/reserver" in rest
    page = client.get(url).get_data(as_text=True)  # without JavaScript: a page
    assert "<h1>Créneaux proposés</h1>" in page and page.count('<li class="slot">') == 5
    assert "Début de la semaine" in page
    # A slot booked meanwhile does not shift the next batch (keyset, not offset).
    make_visit(employee, slots[3])
    db.session.commit()
    assert client.get(url).get_data(as_text=True).count('<li class="slot">') == 5
    assert client.get(f"{BASE}/creneaux?semaine={week}&apres=x-1").status_code == 200


def test_free_slots_centre_filter(client, setup):
    company, user, employee = setup
    dinan, lannion = make_centre("Centre de Dinan"), make_centre("Centre de Lannion")
    a = make_slot(future(4), centre=dinan)
    b = make_slot(future(9), centre=lannion)
    db.session.commit()
    login(client, user)
    page = client.get(f"{BASE}/creneaux").get_data(as_text=True)
    assert '<label for="filtre-centre">Centre</label>' in page and "Centre de Lannion</option>" in page
    # opens on the week of the centre's next free slot
    only = client.get(f"{BASE}/creneaux?centre={lannion.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"/creneaux/{b.id}/reserver" in only and f"/creneaux/{a.id}/reserver" not in only
    assert "filtre-centre" not in only  # the filter is outside the swapped list
    assert f"centre={lannion.id}" in only  # week navigation keeps the centre


def test_free_slots_skip_booked_and_other_companies_slots(client, setup):
    company, user, employee = setup
    other = make_company("00020")
    taken = make_slot(future(3))
    make_visit(employee, taken)
    reserved_elsewhere = make_slot(future(3, hour=10), reserved_company=other)
    mine = make_slot(future(3, hour=11), reserved_company=company)
    free = make_slot(future(3, hour=12))
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/creneaux", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"/creneaux/{mine.id}/reserver" in html and f"/creneaux/{free.id}/reserver" in html
    assert f"/creneaux/{taken.id}/" not in html and f"/creneaux/{reserved_elsewhere.id}/" not in html
    assert "Réservé à votre entreprise" in html


def test_planning_week_shows_eight_visits_a_day_and_links_to_the_list(client, setup):
    company, user, employee = setup
    day = datetime(2031, 1, 29, 7, 0, tzinfo=UTC)  # Wednesday of 2031-W05
    for i in range(10):
        make_visit(make_employee(company, birth_name=f"Nom{i:02d}"), make_slot(day + timedelta(minutes=20 * i)))
    db.session.commit()
    login(client, user)
    html = client.get(f"{BASE}/?semaine=2031-W05").get_data(as_text=True)
    assert html.count('<article class="visit') == 8 and "NOM07" in html and "NOM08" not in html
    link = re.search(
        r'<a href="([^"]+)">Voir les 10 visites<span class="visually-hidden"> du Mercredi 29 janvier '
        r"2031</span></a>",
        html,
    )
    assert link and "du=2031-01-29" in link.group(1)
    listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Visites à partir du Mercredi 29 janvier 2031" in listed and "NOM09" in listed
    assert 'name="du" value="2031-01-29"' in listed
    assert client.get(f"{BASE}/?du=garbage").status_code == 200
