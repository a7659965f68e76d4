"""Mon compte: company coordinates with history, profile, e-mail change, password, sessions."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Company, EmailChangeRequest, LoginSession, OutboxMessage, User
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT
from services.account.account_and_users import describe_device
from tests.conftest import count_queries, csrf_token, login
from tests.factories import DEFAULT_PASSWORD, make_company, make_member

COMPANY_URL = "/entreprises/00010/compte/entreprise"
VALID_COMPANY = {
    "address": "3 rue des Lilas",
    "postal_code": "22000",
    "city": "Saint-Brieuc",
    "phone": "0296112233",
    "email": "contact@boulangerie.fr",
    "naf": "10.71c",
    "invoice_contact_name": "Anne Compta",
    "invoice_contact_email": "compta@boulangerie.fr",
    "convocation_contact_name": "Paul RH",
    "convocation_contact_email": "rh@boulangerie.fr",
}


@pytest.fixture
def employer(client):
    company = make_company("00010", name="Boulangerie Le Goff")
    user = make_member(company, email="claire@boulangerie.fr")
    db.session.commit()
    login(client, user)
    return user


def _outbox(to=None):
    rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    return [m for m in rows if to is None or to in m.recipients]


# --------------------------------------------------------------------------- company part


def test_account_company_update_is_saved_audited_and_told(client, employer, app):
    token = csrf_token(client, COMPANY_URL)
    response = client.post(COMPANY_URL, data={**VALID_COMPANY, "csrf_token": token})
    assert response.status_code == 303
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    assert company.phone == "02 96 11 22 33"
    assert company.naf == "1071C"
    assert company.invoice_contact_email == "compta@boulangerie.fr"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "company.updated")).scalar_one()
    assert event.company_id == company.id and event.actor_id == employer.id
    assert event.details["changes"]["phone"] == [None, "02 96 11 22 33"]
    mails = _outbox(app.config["SERVICE_SUPPORT_EMAIL"])
    assert len(mails) == 1 and "02 96 11 22 33" in mails[0].body_text
    html = client.get(COMPANY_URL).get_data(as_text=True)
    assert "Historique des modifications" in html and "02 96 11 22 33" in html and "Claire Martin" in html
    assert 'value="10.71C"' in html


def test_account_company_no_change_writes_nothing(client, employer):
    token = csrf_token(client, COMPANY_URL)
    client.post(COMPANY_URL, data={**VALID_COMPANY, "csrf_token": token})
    client.post(COMPANY_URL, data={**VALID_COMPANY, "naf": "1071C", "csrf_token": token})
    assert len(db.session.execute(select(AuditEvent).where(AuditEvent.action == "company.updated")).all()) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "2200", "Le code postal compte 5 chiffres"),
        ("phone", "12", "numéro de téléphone valide"),
        ("naf", "ABCDE", "Le code NAF s&#39;écrit"),
        ("email", "pas-une-adresse", "adresse e-mail valide"),
        ("city", "Saint\r\nBrieuc", "une seule ligne"),
        ("address", "x" * 301, "300 caractères au maximum"),
        ("address", "", "Renseignez l&#39;adresse"),
        ("invoice_contact_email", "a@b", "adresse e-mail valide"),
    ],
)
def test_account_company_bad_input_answers_422_and_keeps_input(client, employer, field, value, message):
    token = csrf_token(client, COMPANY_URL)
    response = client.post(COMPANY_URL, data={**VALID_COMPANY, field: value, "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "Anne Compta" in html  # input kept
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    assert company.phone is None


def test_account_company_htmx_error_answers_the_form_fragment(client, employer):
    token = csrf_token(client, COMPANY_URL)
    response = client.post(
        COMPANY_URL, data={**VALID_COMPANY, "naf": "x", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body and body.lstrip().startswith("<form")


def test_account_company_success_with_htmx_redirects(client, employer):
    token = csrf_token(client, COMPANY_URL)
    response = client.post(COMPANY_URL, data={**VALID_COMPANY, "csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == COMPANY_URL


def test_account_company_identity_is_read_only_with_a_way_to_ask(client, employer):
    html = client.get(COMPANY_URL).get_data(as_text=True)
    assert "Boulangerie Le Goff" in html and "73282932000074" in html
    assert "/entreprises/00010/contact?sujet=acces&amp;objet=identite" in html
    token = csrf_token(client, COMPANY_URL)
    client.post(COMPANY_URL, data={**VALID_COMPANY, "name": "Pirate", "siret": "1", "csrf_token": token})
    company = db.session.execute(select(Company).where(Company.code == "00010")).scalar_one()
    assert company.name == "Boulangerie Le Goff" and company.siret == "73282932000074"  # no mass assignment


def test_account_company_page_is_forbidden_to_a_tiers_declarant(client):
    company = make_company("00010")
    make_member(company)
    accountant = make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    login(client, accountant)
    assert client.get(COMPANY_URL).status_code == 403
    hub = client.get("/entreprises/00010/compte")
    assert hub.status_code == 200
    assert "Coordonnées de l&#39;entreprise" not in hub.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/entreprises/00020/compte", "/entreprises/00020/compte/entreprise", "/entreprises/00020/utilisateurs"]
)
def test_account_pages_of_another_company_are_404(client, employer, path):
    make_company("00020")
    db.session.commit()
    assert client.get(path).status_code == 404


def test_account_company_post_for_another_company_is_404(client, employer):
    make_company("00020")
    db.session.commit()
    token = csrf_token(client, COMPANY_URL)
    response = client.post("/entreprises/00020/compte/entreprise", data={**VALID_COMPANY, "csrf_token": token})
    assert response.status_code == 404


def test_account_company_history_runs_fixed_queries(client, employer):
    token = csrf_token(client, COMPANY_URL)
    client.post(COMPANY_URL, data={**VALID_COMPANY, "csrf_token": token})
    with count_queries() as few:
        client.get(COMPANY_URL)
    for i in range(5):
        client.post(COMPANY_URL, data={**VALID_COMPANY, "phone": f"029611223{i}", "csrf_token": token})
    with count_queries() as many:
        client.get(COMPANY_URL)
    assert len(many) == len(few)


# --------------------------------------------------------------------------- personal part


def test_account_profile_update(client, employer):
    token = csrf_token(client, "/compte")
    response = client.post(
        "/compte",
        data={
            "last_name": "Le Goff",
            "first_name": "Claire",
            "job_title": "Gérante",
            "mobile": "0612345678",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    user = db.session.get(User, employer.id)
    assert user.last_name == "Le Goff" and user.mobile == "06 12 34 56 78"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.profile_updated")).scalar_one()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"last_name": ""}, "Renseignez votre nom"),
        ({"mobile": "0296112233"}, "numéro de mobile valide"),
        ({"first_name": "a\nb"}, "une seule ligne"),
        ({"job_title": "x" * 101}, "100 caractères au maximum"),
    ],
)
def test_account_profile_bad_input_is_422(client, employer, data, message):
    token = csrf_token(client, "/compte")
    base = {"last_name": "Martin", "first_name": "Claire", "job_title": "Gérante", "mobile": ""}
    response = client.post("/compte", data={**base, **data, "csrf_token": token})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_account_profile_shows_active_company_from_last_company(client, employer):
    client.get("/entreprises/00010/")
    html = client.get("/compte").get_data(as_text=True)
    assert "00010 - Boulangerie Le Goff" in html


def _request_email_change(client, new="claire.new@boulangerie.fr", password=DEFAULT_PASSWORD):
    token = csrf_token(client, "/compte")
    return client.post("/compte/email", data={"new_email": new, "password": password, "csrf_token": token})


def _link_token(message) -> str:
    import re

    return re.search(r"http://portail\.test(/\S+)", message.body_text).group(1)


def test_account_email_change_through_the_link(client, employer):
    assert _request_email_change(client).status_code == 303
    confirm = _outbox("claire.new@boulangerie.fr")
    assert len(confirm) == 1
    notice = _outbox("claire@boulangerie.fr")
    assert len(notice) == 1 and "claire.new@boulangerie.fr" in notice[0].body_text
    row = db.session.execute(select(EmailChangeRequest)).scalar_one()
    path = _link_token(confirm[0])
    assert path.split("/")[-1] not in row.token_hash  # only a hash is stored
    assert db.session.get(User, employer.id).email == "claire@boulangerie.fr"  # nothing before confirming
    page = client.get(path)
    assert page.status_code == 200 and "claire.new@boulangerie.fr" in page.get_data(as_text=True)
    token = csrf_token(client, path)
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, employer.id).email == "claire.new@boulangerie.fr"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.email_changed")).scalar_one()
    # single use
    assert client.get(path).status_code == 404
    assert client.post(path, data={"csrf_token": token}).status_code == 404


def test_account_email_change_link_expires(client, employer):
    _request_email_change(client)
    path = _link_token(_outbox("claire.new@boulangerie.fr")[0])
    row = db.session.execute(select(EmailChangeRequest)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(path).status_code == 404
    assert client.get("/compte/email/not-a-token").status_code == 404


def test_account_email_change_refusals(client, employer):
    make_member(make_company("00030"), email="taken@example.com")
    db.session.commit()
    assert _request_email_change(client, new="taken@example.com").status_code == 422
    assert _request_email_change(client, password="wrong password!!").status_code == 422
    response = _request_email_change(client, new="x@example.com\r\nBcc: evil@example.com")
    assert response.status_code == 422
    assert not _outbox()


def test_account_password_change_ends_other_sessions(client, employer, app):
    other = app.test_client()
    login(other, employer)  # a second device
    token = csrf_token(client, "/compte")
    new = "Une toute nouvelle phrase de passe 7"
    response = client.post(
        "/compte/mot-de-passe",
        data={"current_password": DEFAULT_PASSWORD, "new_password": new, "confirm_password": new, "csrf_token": token},
    )
    assert response.status_code == 303
    assert client.get("/compte").status_code == 200  # this session stays
    assert other.get("/compte").status_code in (302, 401)  # the other one ended
    from services.auth.passwords import verify_password

    assert verify_password(db.session.get(User, employer.id).password_hash, new)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.password_changed")).scalar_one()
    assert new not in str(event.details)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong password 123", "Une toute nouvelle phrase 7", "Une toute nouvelle phrase 7", "actuel est incorrect"),
        (DEFAULT_PASSWORD, "court", "court", "au moins 12 caractères"),
        (DEFAULT_PASSWORD, "Une toute nouvelle phrase 7", "autre chose", "pas identiques"),
    ],
)
def test_account_password_change_refusals(client, employer, current, new, confirm, message):
    token = csrf_token(client, "/compte")
    response = client.post(
        "/compte/mot-de-passe",
        data={"current_password": current, "new_password": new, "confirm_password": confirm, "csrf_token": token},
    )
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_account_sessions_list_and_revoke_one(client, employer, app):
    other = app.test_client()
    login(other, employer)
    html = client.get("/compte").get_data(as_text=True)
    assert "cette session" in html and "127.0.0.1" in html
    mine = db.session.execute(select(LoginSession).order_by(LoginSession.id)).scalars().all()
    target = mine[1]
    token = csrf_token(client, "/compte")
    assert client.post(f"/compte/sessions/{target.id}/fermer", data={"csrf_token": token}).status_code == 303
    assert other.get("/compte").status_code in (302, 401)
    assert client.get("/compte").status_code == 200
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "session.revoked")).scalar_one()


def test_account_cannot_revoke_someone_elses_session(client, employer, app):
    stranger = make_member(make_company("00030"))
    db.session.commit()
    other = app.test_client()
    login(other, stranger)
    theirs = db.session.execute(select(LoginSession).where(LoginSession.user_id == stranger.id)).scalar_one()
    token = csrf_token(client, "/compte")
    assert client.post(f"/compte/sessions/{theirs.id}/fermer", data={"csrf_token": token}).status_code == 404
    assert other.get("/entreprises/00030/").status_code == 200


def test_account_logout_everywhere(client, employer, app):
    other = app.test_client()
    login(other, employer)
    token = csrf_token(client, "/compte")
    assert client.post("/compte/sessions/fermer-tout", data={"csrf_token": token}).status_code == 303
    assert client.get("/compte").status_code in (302, 401)
    assert other.get("/compte").status_code in (302, 401)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
            "Chrome sur Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
            "Safari sur macOS",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox sur Linux"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile Safari/604.1",
            "Safari sur iPhone",
        ),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0", "Edge sur Windows"),
        (None, "Appareil inconnu"),
    ],
)
def test_account_device_in_french_words(ua, expected):
    assert describe_device(ua) == expected
