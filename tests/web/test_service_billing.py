"""Back-office billing: tariffs (admin edits, agents read), declarations per campaign, invoices,
payments seen by the employer, reminders (once per 7 days), signals and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, OutboxMessage
from models.billing import Invoice, TariffYear
from models.companies import ROLE_ACCOUNTANT
from services import billing
from services.billing import admin as billing_admin
from services.core.database import write_intent
from services.staff import dashboard as staff_dashboard
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_declaration_company, make_member, make_tariff
from tests.web.service_helpers import login_staff, staff_logged_in

HX = {"HX-Request": "true"}


def audit_actions():
    db.session.commit()
    return [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def outbox_count() -> int:
    db.session.commit()
    return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def confirmed_invoice(company, user=None) -> Invoice:
    with write_intent():
        _, invoice = billing.confirm_declaration(
            company, billing.tariff_for_year(billing.today().year), user, attested=True
        )
        db.session.commit()
    return invoice


@pytest.fixture
def billed(client):
    """00010 declared (invoice 1 300,32 € TTC), 00020 not yet; an employer on 00010."""
    company = make_declaration_company("00010", name="Boulangerie Le Goff", email="compta@legoff.test")
    make_company("00020", name="Garage Morvan", city="Lannion", email="garage@morvan.test")
    make_tariff()
    employer = make_member(company, email="gerante@legoff.test")
    db.session.commit()
    invoice = confirmed_invoice(company, employer)
    return company, employer, invoice


def tariff_form(token, **overrides):
    year = billing.today().year + 1
    data = {
        "csrf_token": token,
        "year": str(year),
        "mode": "per_category",
        "price_si": "94,80",
        "price_sia": "138",
        "price_sir": "162.60",
        "price_apprentice": "",
        "size_bands": "",
        "size_band_method": "progressive",
        "entry_fee": "30,00",
        "entry_fee_mode": "per_new_employee",
        "entry_fee_cap": "300",
        "minimum_amount": "100",
        "vat_rate": "20,00",
        "reference_date": "01-01",
        "min_contract_days": "0",
        "exclude_interim": "y",
        "include_suspended": "y",
        "include_apprentices": "y",
        "campaign_opens_on": f"{year}-01-05",
        "campaign_closes_on": f"{year}-02-28",
        "payment_due_days": "30",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------- tariffs


def test_service_billing_admin_creates_and_edits_a_tariff(client):
    staff_logged_in(client, role="admin")
    year = billing.today().year + 1
    token = csrf_token(client, "/service/tarifs/nouveau")
    response = client.post("/service/tarifs/nouveau", data=tariff_form(token))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/service/tarifs/{year}")
    tariff = billing.tariff_for_year(year)
    assert tariff.price_si == billing.money("94.80") and tariff.entry_fee_cap == billing.money("300")
    assert tariff.entry_fee_mode == "per_new_employee" and str(tariff.reference_date) == f"{year}-01-01"
    assert tariff.include_apprentices and tariff.exclude_interim
    # Size bands, 31 December, unchecked boxes.
    data = tariff_form(
        token,
        mode="size_bands",
        price_si="",
        price_sia="",
        price_sir="",
        size_bands="1-10 : 110,00\n11- : 98,50",
        size_band_method="flat",
        reference_date="12-31",
        exclude_interim=None,
        include_apprentices=None,
    )
    response = client.post(f"/service/tarifs/{year}", data=data, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/service/tarifs/{year}"
    db.session.refresh(tariff)
    assert tariff.mode == "size_bands" and tariff.size_bands[1] == {"from": 11, "to": None, "price": "98.50"}
    assert str(tariff.reference_date) == f"{year - 1}-12-31" and not tariff.exclude_interim
    assert not tariff.include_apprentices
    assert audit_actions().count("tariff.set") == 2
    html = client.get("/service/tarifs").get_data(as_text=True)
    assert f"/service/tarifs/{year}" in html and html.count("<h1") == 1
    assert "11- : 98,50" in client.get(f"/service/tarifs/{year}").get_data(as_text=True)


def test_service_billing_tariff_errors_answer_422_in_french_with_input_kept(client):
    staff_logged_in(client, role="admin")
    token = csrf_token(client, "/service/tarifs/nouveau")
    cases = [
        ({"price_si": ""}, "Valeur obligatoire."),
        ({"price_sia": "abc"}, "Montant invalide (exemple : 94,80)."),
        ({"vat_rate": "150"}, "Taux en pourcentage"),
        ({"campaign_closes_on": "2000-01-01"}, "La clôture précède l&#39;ouverture."),
        ({"mode": "size_bands", "size_bands": "2-10 : 5"}, "La tranche 1 doit commencer à 1."),
        ({"mode": "size_bands", "size_bands": "n'importe quoi"}, "illisible"),
        ({"mode": "size_bands", "size_bands": "1-10 : 5"}, "La dernière tranche doit être ouverte"),
        ({"campaign_opens_on": "31/02/2027"}, "Saisissez une date valide"),
        ({"payment_due_days": "-3"}, "Délai entre 0 et 365 jours."),
        ({"payment_due_days": "abc"}, "Saisissez un nombre entier."),
        ({"min_contract_days": "9" * 30}, "Nombre de jours entre 0 et 3650."),
        ({"entry_fee_mode": "whatever"}, "Choisissez une valeur de la liste."),
        ({"price_si": "1\r\n2"}, "une seule ligne"),
        ({"price_si": "9" * 40}, "Montant trop long."),
    ]
    for overrides, message in cases:
        for headers in ({}, HX):
            response = client.post("/service/tarifs/nouveau", data=tariff_form(token, **overrides), headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 422, (overrides, response.status_code)
            assert message in html, (overrides, message)
            assert 'value="138"' in html or "sia" in str(overrides)  # input kept
    assert db.session.execute(select(TariffYear)).first() is None


def test_service_billing_tariff_with_confirmed_declarations_is_frozen(client, billed):
    staff_logged_in(client, role="admin")
    year = billing.today().year
    path = f"/service/tarifs/{year}"
    html = client.get(path).get_data(as_text=True)
    assert "ne peuvent plus être modifiées" in html and "Enregistrer la grille" not in html
    token = csrf_token(client, path)
    response = client.post(path, data=tariff_form(token, year=str(year), price_si="1"))
    assert response.status_code == 409 and "ne peuvent plus être modifiées" in response.get_data(as_text=True)
    assert billing.tariff_for_year(year).price_si == billing.money("94.80")
    # The service refuses it too (whatever the caller).
    with pytest.raises(billing.TariffError):
        billing_admin.save_tariff(year, billing.tariff_to_dict(billing.tariff_for_year(year)), None)
    # A year that already exists cannot be created twice.
    response = client.post("/service/tarifs/nouveau", data=tariff_form(token, year=str(year)))
    assert response.status_code == 422 and "Une grille existe déjà" in response.get_data(as_text=True)


def test_service_billing_agents_read_tariffs_but_cannot_edit(app, client, billed):
    staff_logged_in(client, role="agent")
    year = billing.today().year
    assert client.get("/service/tarifs").status_code == 200
    html = client.get(f"/service/tarifs/{year}").get_data(as_text=True)
    assert "94,80\u00a0€ HT" in html and "Enregistrer la grille" not in html
    assert client.get("/service/tarifs/nouveau").status_code == 403
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        assert client.post("/service/tarifs/nouveau", data=tariff_form("")).status_code == 403
        assert client.post(f"/service/tarifs/{year}", data=tariff_form("")).status_code == 403
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert client.get("/service/tarifs/1999").status_code == 404


@pytest.mark.parametrize("role", ["employeur", ROLE_ACCOUNTANT])
def test_service_billing_members_get_404(client, billed, role):
    _, _, invoice = billed
    user = make_member(make_company("00030"), role=role, email=f"{role}@x.test")
    db.session.commit()
    login(client, user)
    for path in (
        "/service/tarifs",
        f"/service/tarifs/{billing.today().year}",
        "/service/declarations",
        "/service/declarations/non-declares.csv",
        "/service/factures",
        f"/service/factures/{invoice.id}",
    ):
        assert client.get(path).status_code == 404, path


# --------------------------------------------------------------------------- declarations


def test_service_billing_declarations_received_and_missing(client, billed):
    staff_logged_in(client)
    make_company("00040", name="Inactive SARL", active=False)
    db.session.commit()
    year = billing.today().year
    html = client.get(f"/service/declarations?annee={year}").get_data(as_text=True)
    received, missing = html.split("Adhérents n'ayant pas encore déclaré")
    assert f"Déclarations reçues pour {year} (1)" in received and "00010 - Boulangerie Le Goff" in received
    assert "SI 8, SIR 2" in received and "1\u00a0300,32\u00a0€" in received
    assert "(1)" in missing[:10] and "00020" in missing and "00010" not in missing and "00040" not in missing
    assert html.count("<h1") == 1
    # Search, and the fragment for htmx.
    fragment = client.get(f"/service/declarations?annee={year}&q=morvan", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "00020" in fragment and "(0)" in fragment
    # CSV export of the not-declared list.
    response = client.get(f"/service/declarations/non-declares.csv?annee={year}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffCode adhérent;") and "00020;Garage Morvan;Lannion;garage@morvan.test" in body
    assert "00010" not in body
    # A campaign year without grid: everyone is missing; odd parameters never break the page.
    assert "00010" in client.get("/service/declarations?annee=2001").get_data(as_text=True)
    assert client.get("/service/declarations?annee=abcd&q=%00x&page=-1&page_nd=zz").status_code == 200


def test_service_billing_declarations_paginate_with_fixed_queries(client, billed):
    staff_logged_in(client)
    year = billing.today().year

    def measure():
        with count_queries() as queries:
            assert client.get(f"/service/declarations?annee={year}").status_code == 200
        return len(queries)

    few = measure()
    for i in range(60):
        make_company(f"{100 + i:05d}", name=f"Entreprise {i}")
    db.session.commit()
    assert measure() == few
    html = client.get(f"/service/declarations?annee={year}&page_nd=3").get_data(as_text=True)
    assert "Page 3 sur 3" in html and "(61)" in html


# --------------------------------------------------------------------------- invoices and payments


def test_service_billing_payment_updates_the_employer_status(app, client, billed):
    company, employer, invoice = billed
    agent = staff_logged_in(client)
    path = f"/service/factures/{invoice.id}"
    html = client.get(path).get_data(as_text=True)
    assert invoice.number in html and "À payer" in html and "Enregistrer un paiement" in html
    assert "Cotisation – suivi individuel (SI)" in html
    token = csrf_token(client, path)
    post = f"{path}/paiements"
    data = {"csrf_token": token, "paid_on": billing.today().isoformat(), "method": "virement", "reference": "VIR 42"}
    # Errors: amount above the balance, bad date, future date, unknown method.
    for overrides, message in (
        ({"amount": "5000"}, "Le montant dépasse le reste à payer"),
        ({"amount": "0"}, "Le montant doit être positif."),
        ({"amount": "12abc"}, "Montant invalide"),
        ({"amount": "10", "paid_on": "pas une date"}, "Saisissez une date valide"),
        ({"amount": "10", "paid_on": (billing.today() + timedelta(days=3)).isoformat()}, "dans le futur"),
        ({"amount": "10", "method": "bitcoin"}, "Choisissez une valeur de la liste."),
        ({"amount": "10", "reference": "a\r\nBcc: x"}, "une seule ligne"),
    ):
        for headers in ({}, HX):
            response = client.post(post, data={**data, **overrides}, headers=headers)
            body = response.get_data(as_text=True)
            assert response.status_code == 422 and message in body, (overrides, response.status_code)
            if headers:
                assert "<html" not in body and "Enregistrer le paiement" in body
    assert not invoice.payments
    response = client.post(post, data={**data, "amount": "300,32"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == path
    assert "Partiellement payée" in client.get(path).get_data(as_text=True)
    response = client.post(post, data={**data, "amount": "1000"})
    assert response.status_code == 303
    html = client.get(path).get_data(as_text=True)
    assert "Payée" in html and "Enregistrer un paiement" not in html
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "payment.recorded")).scalars().all()
    assert len(events) == 2 and {e.actor_id for e in events} == {agent.id}
    # The employer sees "Payée" in Mon espace documentaire.
    login(client, employer)
    documents = client.get("/entreprises/00010/documents").get_data(as_text=True)
    assert invoice.number in documents and "Payée" in documents and "À payer" not in documents


def test_service_billing_invoice_list_filters_and_fixed_queries(client, billed):
    company, employer, invoice = billed
    other = make_declaration_company("00050", name="Menuiserie Kerbrat")
    db.session.commit()
    second = confirmed_invoice(other)
    second.due_date = billing.today() - timedelta(days=3)
    db.session.commit()
    staff_logged_in(client)
    html = client.get("/service/factures").get_data(as_text=True)
    assert invoice.number in html and second.number in html and "2 factures" in html
    late = client.get("/service/factures?statut=en_retard").get_data(as_text=True)
    assert second.number in late and invoice.number not in late
    assert "Relancer toutes les factures en retard" in late
    to_pay = client.get("/service/factures?statut=a_payer", headers=HX).get_data(as_text=True)
    assert "<html" not in to_pay and invoice.number in to_pay and second.number not in to_pay
    assert second.number in client.get("/service/factures?code=00050").get_data(as_text=True)
    assert "Aucune facture" in client.get("/service/factures?annee=2001").get_data(as_text=True)
    assert client.get("/service/factures?statut=%00&annee=x&code=%25_&page=abc").status_code == 200
    assert client.get("/service/factures/999999").status_code == 404

    def measure():
        with count_queries() as queries:
            assert client.get("/service/factures").status_code == 200
        return len(queries)

    few = measure()
    for i in range(4):
        extra = make_declaration_company(f"{200 + i:05d}")
        db.session.commit()
        paid = confirmed_invoice(extra)
        billing.record_payment(paid, "10", billing.today(), "cheque")
        db.session.commit()
    assert measure() == few


# --------------------------------------------------------------------------- reminders


def _overdue(invoice):
    invoice.due_date = billing.today() - timedelta(days=1)
    db.session.commit()


def test_service_billing_reminder_once_per_seven_days(client, billed):
    company, employer, invoice = billed
    staff_logged_in(client)
    path = f"/service/factures/{invoice.id}"
    token = csrf_token(client, path)
    # Not overdue: refused.
    response = client.post(f"{path}/relance", data={"csrf_token": token})
    assert response.status_code == 303 and outbox_count() == 0
    assert "Seule une facture en retard" in client.get(path).get_data(as_text=True)
    _overdue(invoice)
    before = outbox_count()
    assert client.post(f"{path}/relance", data={"csrf_token": token}).status_code == 303
    assert outbox_count() == before + 1
    message = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    assert set(message.recipients) == {"compta@legoff.test", "gerante@legoff.test"}
    assert invoice.number in message.subject and "1\u00a0300,32\u00a0€" in message.body_text
    assert "http" in message.body_text and "/entreprises/00010/documents" in message.body_text
    html = client.get(path).get_data(as_text=True)
    assert "Prochaine relance possible" in html
    # A second click within 7 days sends nothing.
    client.post(f"{path}/relance", data={"csrf_token": token})
    assert outbox_count() == before + 1
    assert "déjà été relancée" in client.get(path).get_data(as_text=True)
    assert audit_actions().count("invoice.reminder_sent") == 1
    # Eight days later a new reminder is allowed.
    later = billing_admin.last_reminders([invoice.id])[invoice.id] + timedelta(days=8)
    billing_admin.send_reminder(invoice, None, now=later)
    db.session.commit()
    assert outbox_count() == before + 2


def test_service_billing_bulk_reminders_and_cli(client, runner, billed):
    company, employer, invoice = billed
    other = make_declaration_company("00050", name="Menuiserie Kerbrat", email="kerbrat@x.test")
    db.session.commit()
    second = confirmed_invoice(other)
    _overdue(invoice)
    _overdue(second)
    staff_logged_in(client)
    before = outbox_count()
    token = csrf_token(client, "/service/factures")
    response = client.post("/service/factures/relances", data={"csrf_token": token})
    assert response.status_code == 303
    assert outbox_count() == before + 2
    assert "2 relances envoyées" in client.get("/service/factures?statut=en_retard").get_data(as_text=True)
    client.post("/service/factures/relances", data={"csrf_token": token})
    assert outbox_count() == before + 2
    result = runner.invoke(args=["billing", "reminders", "send"])
    assert result.exit_code == 0 and "0 relance(s) envoyée(s) ; 2 déjà relancée(s)" in result.output
    assert outbox_count() == before + 2
    # Without CSRF nothing happens.
    client.post("/service/factures/relances", data={})
    assert outbox_count() == before + 2


def test_service_billing_cli_reminders_send_for_cron(runner, billed):
    _, _, invoice = billed
    _overdue(invoice)
    before = outbox_count()
    result = runner.invoke(args=["billing", "reminders", "send"])
    assert result.exit_code == 0 and "1 relance(s) envoyée(s)" in result.output
    assert outbox_count() == before + 1
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "invoice.reminder_sent")).scalar_one()
    assert event.actor_id is None and event.actor_label == "flask billing reminders send"
    assert "0 relance(s)" in runner.invoke(args=["billing", "reminders", "send"]).output


# --------------------------------------------------------------------------- signals


def test_service_billing_dashboard_and_member_sections(client, billed):
    company, _, invoice = billed
    staff_logged_in(client)
    year = billing.today().year
    html = client.get("/service/").get_data(as_text=True)
    assert f"Déclarations {year} manquantes" in html and f"/service/declarations?annee={year}" in html
    assert "Factures en retard" in html and "/service/factures?statut=en_retard" in html
    items = {i.key: i.count for i in staff_dashboard.dashboard_items()}
    assert items["declarations_missing"] == 1 and items["overdue_invoices"] == 0
    _overdue(invoice)
    assert {i.key: i.count for i in staff_dashboard.dashboard_items()}["overdue_invoices"] == 1
    member = client.get("/service/adherents/00010").get_data(as_text=True)
    assert "Déclarations des effectifs" in member and f"{year} – version 1" in member
    assert f"Facture {invoice.number}" in member and "en retard" in member
    assert f"/service/factures/{invoice.id}" in member
    assert "Aucune facture." in client.get("/service/adherents/00020").get_data(as_text=True)


def test_service_billing_attention_labels_in_mes_entreprises(client, billed):
    company, employer, invoice = billed
    other = db.session.execute(select(type(company)).where(type(company).code == "00020")).scalar_one()
    from tests.factories import make_membership

    make_membership(employer, other)
    db.session.commit()
    from services.companies import attention

    year = billing.today().year
    labels = attention.labels_for([company.id, other.id])
    assert "Facture à payer" in labels[company.id] and f"Déclaration {year} à faire" not in labels[company.id]
    assert f"Déclaration {year} à faire" in labels[other.id]
    _overdue(invoice)
    assert "Facture en retard" in attention.labels_for([company.id])[company.id]
    login(client, employer)
    html = client.get("/mes-entreprises").get_data(as_text=True)
    assert f"Déclaration {year} à faire" in html and "Facture en retard" in html
    billing.record_payment(invoice, invoice.amount_due, billing.today(), "virement")
    db.session.commit()
    assert not any("Facture" in label for label in attention.labels_for([company.id]).get(company.id, []))


def test_service_billing_attention_provider_runs_fixed_queries(billed):
    from services.billing.signals import billing_attention

    company, _, _ = billed
    ids = [company.id]
    with count_queries() as queries:
        billing_attention(ids)
    few = len(queries)
    for i in range(30):
        ids.append(make_company(f"{300 + i:05d}").id)
    db.session.commit()
    with count_queries() as queries:
        result = billing_attention(ids)
    assert len(queries) == few and len(result) == 31


def test_service_billing_staff_without_second_factor(client, billed):
    from tests.factories import make_staff

    user = make_staff("agent2@aist22.test")
    db.session.commit()
    login_staff(client, user, second_factor=False)
    assert "/service/2fa" in client.get("/service/factures").headers["Location"]
