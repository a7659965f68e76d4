"""Account creation: code adhérent + n° télédéclarant, "Créer votre compte", the e-mail."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.companies import Membership
from models.outbox import STATUS_PENDING, OutboxMessage
from models.users import User
from tests.conftest import csrf_token
from tests.factories import make_company, make_member, make_user

NUMBER = "ABCD-EFGH-JKMN"
FIELDS = {
    "last_name": "Le Goff",
    "first_name": "Jeanne",
    "job_title": "Gérante",
    "email": "jeanne.legoff@boulangerie.fr",
    "email_confirm": "jeanne.legoff@boulangerie.fr",
    "mobile": "06 12 34 56 78",
}


def post_credentials(client, code="00010", number=NUMBER, ip=None):
    kwargs = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    token = csrf_token(client, "/connexion/code-adherent")
    return client.post("/connexion/code-adherent", data={"code": code, "number": number, "csrf_token": token}, **kwargs)


def post_signup(client, **overrides):
    data = {**FIELDS, **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    data["csrf_token"] = csrf_token(client, "/connexion/code-adherent")
    return client.post("/connexion/creer-compte", data=data)


@pytest.fixture
def company():
    found = make_company("00010", name="Boulangerie Le Goff", teledeclarant=NUMBER)
    db.session.commit()
    return found


def test_start_page_shows_the_seed_labels(client):
    html = client.get("/connexion/code-adherent").get_data(as_text=True)
    for text in ("Se connecter avec son code adhérent", "Code adhérent", "N° télédéclarant", "Valider"):
        assert text in html
    assert "Se connecter avec son adresse e-mail" in html and "portailadh@aist22.fr" in html


def test_home_button_leads_to_the_code_page(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/connexion/code-adherent">Se connecter avec son code adhérent' in html


@pytest.mark.parametrize("code,number", [("00010", "WRONG-WRONG"), ("99999", NUMBER), ("abc", NUMBER)])
def test_wrong_pair_answers_the_neutral_error(client, company, code, number):
    response = post_credentials(client, code, number)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Code adhérent et/ou n° télédéclarant incorrect" in html
    assert number not in html  # the credential is not sent back


def test_wrong_numbers_are_stopped_per_code(client, company):
    # From many IPs: the code-wide growing delay starts after 10 failures (docs/AUTH.md).
    for i in range(10):
        post_credentials(client, "00010", f"WRONG{i}", ip=f"198.51.100.{i}")
    blocked = post_credentials(client, "00010", NUMBER, ip="198.51.100.50")
    assert blocked.status_code == 429 and "Trop de tentatives" in blocked.get_data(as_text=True)


def test_wrong_numbers_are_stopped_per_ip(client, company):
    for i in range(20):
        post_credentials(client, f"{20000 + i:05d}", "WRONG", ip="203.0.113.5")
    assert post_credentials(client, "00010", NUMBER, ip="203.0.113.5").status_code == 429
    assert post_credentials(client, "00010", NUMBER, ip="203.0.113.6").status_code == 303


def test_right_pair_leads_to_create_your_account_with_masked_addresses(client, company):
    make_member(company, email="jean@entreprise.fr")
    db.session.commit()
    response = post_credentials(client)
    assert response.status_code == 303 and response.headers["Location"] == "/connexion/creer-compte"
    html = client.get("/connexion/creer-compte").get_data(as_text=True)
    for text in (
        "Créer votre compte",
        "00010 - Boulangerie Le Goff",
        "j***@entreprise.fr",
        "Nom",
        "Prénom",
        "Fonction",
        "Adresse e-mail",
        "Confirmer adresse e-mail",
        "N° mobile",
        "Je suis tiers déclarant de l&#39;entreprise",
        "* Champs obligatoires",
        "Créer le compte",
    ):
        assert text in html, text
    assert "jean@entreprise.fr" not in html
    assert re.search(r'<label for="last_name">Nom<span aria-hidden="true">\*</span>', html)
    assert "NUMBER" not in html and "company_id" not in html


def test_account_created_with_temporary_password_mailed(client, company):
    post_credentials(client)
    response = post_signup(client)
    assert response.status_code == 303 and response.headers["Location"] == "/connexion/compte-cree"
    done = client.get("/connexion/compte-cree").get_data(as_text=True)
    assert "Votre compte est créé" in done and "noreply@aist22.fr" in done
    db.session.commit()
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.last_name, user.first_name, user.job_title, user.mobile) == (
        "jeanne.legoff@boulangerie.fr",
        "Le Goff",
        "Jeanne",
        "Gérante",
        "+33612345678",
    )
    assert user.password_hash is None and user.temp_secret_hash and user.temp_secret_purpose == "account"
    hours = (user.temp_secret_expires_at - user.created_at).total_seconds() / 3600
    assert 71.9 < hours <= 72
    membership = db.session.execute(select(Membership)).scalar_one()
    assert (membership.company_id, membership.role) == (company.id, "employeur")
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.subject == "Votre espace AIST22" and message.sender == "noreply@aist22.fr"
    assert message.recipients == ["jeanne.legoff@boulangerie.fr"]
    text = message.body_text
    assert text.startswith("Bonjour,") and "Votre compte utilisateur sur AIST22 a été créé." in text
    assert "- Login : jeanne.legoff@boulangerie.fr" in text
    password = re.search(r"- Mot de passe : (\S+)", text).group(1)
    assert password not in user.temp_secret_hash
    assert "Accéder à la plateforme : http://portail.test/connexion" in text
    assert (
        'href="http://portail.test/connexion"' in message.body_html and "Accéder à la plateforme" in message.body_html
    )
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.created")).scalar_one()
    assert audit.company_id == company.id and password not in str(audit.details)
    # The verified company is forgotten: a second submit goes back to step 2.
    again = post_signup(client, email="autre@boulangerie.fr", email_confirm="autre@boulangerie.fr")
    assert again.headers["Location"] == "/connexion/code-adherent"


def test_tiers_declarant_box_gives_the_accountant_role(client, company):
    post_credentials(client)
    post_signup(client, is_accountant="y")
    db.session.commit()
    assert db.session.execute(select(Membership.role)).scalar_one() == "tiers_declarant"


def test_existing_address_gets_the_company_linked_and_a_mail(client, company):
    other = make_company("00020")
    owner = make_member(other, email="jeanne.legoff@boulangerie.fr")
    db.session.commit()
    post_credentials(client)
    response = post_signup(client, email="Jeanne.LeGoff@boulangerie.fr", email_confirm="jeanne.legoff@boulangerie.fr")
    assert response.status_code == 303
    done = client.get("/connexion/compte-cree").get_data(as_text=True)
    assert "mot de passe habituel" in done
    db.session.commit()
    assert db.session.query(User).count() == 1
    roles = {m.company_id: m.role for m in db.session.execute(select(Membership)).scalars()}
    assert roles == {other.id: "employeur", company.id: "employeur"}
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.recipients == [owner.email] and "00010 - Boulangerie Le Goff" in message.body_text
    assert "Mot de passe :" not in message.body_text
    assert "company.linked" in list(db.session.execute(select(AuditEvent.action)).scalars())


def test_create_without_a_verified_company_goes_back_to_step2(client, company):
    assert client.get("/connexion/creer-compte").headers["Location"] == "/connexion/code-adherent"
    response = post_signup(client, company_id=str(company.id))
    assert response.headers["Location"] == "/connexion/code-adherent"
    db.session.commit()
    assert db.session.query(User).count() == 0


def test_tampered_or_expired_company_token_is_refused(client, app, company, monkeypatch):
    with client.session_transaction() as s:
        s["signup_company"] = "eyJpZCI6MX0.forged.signature"
    assert client.get("/connexion/creer-compte").headers["Location"] == "/connexion/code-adherent"
    post_credentials(client)
    monkeypatch.setattr("blueprints.signup.routes.COMPANY_TOKEN_MAX_AGE", -1)
    assert client.get("/connexion/creer-compte").headers["Location"] == "/connexion/code-adherent"


def test_company_deactivated_between_steps_is_refused(client, company):
    post_credentials(client)
    company.active = False
    db.session.commit()
    assert post_signup(client).headers["Location"] == "/connexion/code-adherent"


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"last_name": ""}, "Saisissez votre nom."),
        ({"first_name": ""}, "Saisissez votre prénom."),
        ({"job_title": ""}, "Saisissez votre fonction."),
        ({"email": "pas-une-adresse"}, "Saisissez une adresse e-mail valide"),
        ({"email_confirm": "autre@boulangerie.fr"}, "Les deux adresses e-mail ne sont pas identiques."),
        ({"mobile": "12"}, "Saisissez un numéro de mobile"),
        ({"mobile": "02 96 00 00 00"}, "Saisissez un numéro de mobile"),
        ({"last_name": "x" * 101}, "100 caractères au plus."),
        ({"last_name": "Le\r\nGoff"}, "retour à la ligne"),
        ({"job_title": "Gérante\nBcc: x@evil.test"}, "retour à la ligne"),
        ({"email": "a@b.fr\r\nBcc: x@evil.test", "email_confirm": "a@b.fr\r\nBcc: x@evil.test"}, "retour à la ligne"),
    ],
)
def test_invalid_input_answers_422_beside_the_field(client, company, overrides, message):
    post_credentials(client)
    response = post_signup(client, **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="field__error"' in html and message in html
    assert 'value="Gérante"' in html or overrides.get("job_title") is not None  # input kept
    db.session.commit()
    assert db.session.query(User).count() == 0 and db.session.query(OutboxMessage).count() == 0


def test_international_mobile_is_accepted(client, company):
    post_credentials(client)
    assert post_signup(client, mobile="+44 7400 123456").status_code == 303
    db.session.commit()
    assert db.session.execute(select(User.mobile)).scalar_one() == "+447400123456"


def test_staff_address_cannot_be_used(client, company):
    make_user("agent@aist22.fr", kind="staff", staff_role="agent")
    db.session.commit()
    post_credentials(client)
    response = post_signup(client, email="agent@aist22.fr", email_confirm="agent@aist22.fr")
    assert response.status_code == 422
    db.session.commit()
    assert db.session.query(Membership).count() == 0


def test_smtp_down_during_account_creation_still_creates_the_account(client, app, company):
    """Nothing listens on the SMTP port: the account exists and the mail waits in the outbox."""
    from services.core.outbox import deliver_pending

    app.config["MAIL_PORT"] = 1  # nothing listens there
    app.extensions["mail"].port = 1
    try:
        post_credentials(client)
        assert post_signup(client).status_code == 303
        db.session.commit()
        assert db.session.query(User).count() == 1
        assert deliver_pending().sent == 0
        db.session.commit()
        message = db.session.execute(select(OutboxMessage)).scalar_one()
        assert message.status == STATUS_PENDING
    finally:
        app.config["MAIL_PORT"] = 2525
        app.extensions["mail"].port = 2525


_odd_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=90, max_size=120),
    st.sampled_from(
        ["", " ", "\x00", "\r\n", "é" * 10_000, "'; DROP TABLE users; --", "<script>alert(1)</script>", "😀" * 50]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.fixed_dictionaries({name: _odd_text for name in FIELDS}), box=st.sampled_from(["", "y", "x" * 50]))
def test_odd_signup_input_never_answers_5xx(client, app, company, fields, box):
    app.config["AUTH_RATE_LIMIT"] = "10000 per minute"
    try:
        with client.session_transaction() as s:
            s.clear()
        post_credentials(client)
        response = post_signup(client, is_accountant=box, **fields)
        assert response.status_code in (303, 422), response.status_code
        body = response.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body
    finally:
        app.config.pop("AUTH_RATE_LIMIT", None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=_odd_text, number=_odd_text)
def test_odd_credentials_never_answer_5xx(client, app, company, code, number):
    app.config["AUTH_RATE_LIMIT"] = "10000 per minute"
    try:
        response = post_credentials(client, code, number, ip="192.0.2.1")
        assert response.status_code in (303, 422, 429)
    finally:
        app.config.pop("AUTH_RATE_LIMIT", None)


def test_company_users_are_told_of_an_account_created_with_its_code(client, company):
    """Issue 20, item 6: as after "Ajouter une entreprise", the existing users get an e-mail."""
    boss = make_member(company, email="patron@boulangerie.fr")
    db.session.commit()
    post_credentials(client)
    post_signup(client, is_accountant="y")
    db.session.commit()
    told = [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.recipients == [boss.email]]
    assert len(told) == 1
    assert told[0].subject == "Nouvel accès à l'espace de 00010 - Boulangerie Le Goff"
    assert "en tant que tiers déclarant" in told[0].body_text and "Le Goff" in told[0].body_text
