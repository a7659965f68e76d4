"""Login in two steps, temporary secrets, reset, lock-out, sessions and safe `next`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models.audit import AuditEvent
from models.base import utcnow
from models.outbox import OutboxMessage
from models.users import LoginSession, User
from services.auth import member_accounts as accounts
from services.auth.passwords import hash_password
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD, make_company, make_member, make_staff

NEW_PASSWORD = "Une phrase assez longue pour 2026"
_CSRF = re.compile(r'(name="csrf_token" type="hidden" value="|"X-CSRFToken": ")[^"]+')


def without_csrf(html: str) -> str:
    return _CSRF.sub(r"\1", html)


def post_email(client, email, next_path=None):
    data = {"email": email, "csrf_token": csrf_token(client, "/connexion")}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/connexion", data=data)


def post_password(client, email, password, next_path="", ip=None):
    token = csrf_token(client, "/connexion")
    kwargs = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return client.post(
        "/connexion/mot-de-passe",
        data={"email": email, "password": password, "next": next_path, "csrf_token": token},
        **kwargs,
    )


def latest_secret(email: str, pattern: str) -> str:
    db.session.commit()
    row = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id.desc())).scalars().first()
    assert row is not None and row.recipients == [email]
    match = re.search(pattern + r" (\S+)", row.body_text)
    assert match, row.body_text
    return match.group(1)


def request_reset(client, email):
    return client.post(
        "/connexion/reinitialiser", data={"email": email, "csrf_token": csrf_token(client, "/connexion/reinitialiser")}
    )


def actions() -> list[str]:
    db.session.commit()
    return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def member():
    company = make_company("00010")
    user = make_member(company, email="claire@entreprise.fr")
    db.session.commit()
    return user


# --------------------------------------------------------------------------- the two steps


def test_login_step1_shows_the_seed_labels(client):
    html = client.get("/connexion").get_data(as_text=True)
    for text in (
        "Connexion à votre espace",
        "Votre adresse e-mail",
        "Valider",
        "Nouvel utilisateur ou adresse e-mail oubliée ?",
        "Se connecter avec son code adhérent",
    ):
        assert text in html
    assert 'href="/connexion/code-adherent"' in html


def test_login_step2_keeps_the_address_and_offers_reset(client, member):
    response = post_email(client, "Claire@Entreprise.fr")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in (
        "Adresse e-mail",
        "Mot de passe",
        "Valider",
        "Mot de passe oublié ?",
        "Réinitialiser votre mot de passe",
    ):
        assert text in html
    assert 'value="claire@entreprise.fr"' in html


def test_login_step2_is_a_fragment_for_htmx(client, member):
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion", data={"email": "claire@entreprise.fr", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "Mot de passe" in html
    assert 'hx-target="#connexion"' in html and "HX-Request" in response.headers["Vary"]


def test_step1_answers_identically_for_known_and_unknown_addresses(client, member):
    known = post_email(client, "claire@entreprise.fr")
    unknown = post_email(client, "claire@ailleurs.fr")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.get_data(as_text=True)).replace("entreprise.fr", "X") == without_csrf(
        unknown.get_data(as_text=True)
    ).replace("ailleurs.fr", "X")


def test_step1_invalid_address_answers_422_beside_the_field(client):
    response = post_email(client, "pas-une-adresse")
    assert response.status_code == 422
    assert "Saisissez une adresse e-mail valide" in response.get_data(as_text=True)


def test_right_password_logs_in_and_opens_the_member_space(client, member):
    response = post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/espace"
    assert client.get("/espace").headers["Location"] == "/entreprises/00010/"
    assert "login.success" in actions()
    assert db.session.get(User, member.id).last_login_at is not None


def test_htmx_login_answers_hx_redirect(client, member):
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion/mot-de-passe",
        data={"email": "claire@entreprise.fr", "password": DEFAULT_PASSWORD, "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/espace"


def test_wrong_password_and_unknown_address_answer_the_same(client, member):
    wrong = post_password(client, "claire@entreprise.fr", "mauvais mot de passe")
    unknown = post_password(client, "inconnu@entreprise.fr", "mauvais mot de passe")
    assert wrong.status_code == unknown.status_code == 422
    a = without_csrf(wrong.get_data(as_text=True)).replace("claire@", "x@")
    b = without_csrf(unknown.get_data(as_text=True)).replace("inconnu@", "x@")
    assert a == b and accounts.NEUTRAL_LOGIN_ERROR in a
    failed = db.session.execute(select(AuditEvent).where(AuditEvent.action == "login.failed")).scalars().all()
    assert [e.actor_label for e in failed] == ["claire@entreprise.fr", "inconnu@entreprise.fr"]


def test_session_id_is_renewed_at_login_and_old_data_dropped(client, member):
    with client.session_transaction() as s:
        s["sid"] = "forged-before-login"
        s["planted"] = "value"
    post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["sid"] != "forged-before-login"
        assert "csrf_token" not in s  # a new CSRF token is made on the next page


def test_staff_logs_in_on_the_same_pages(client):
    make_staff("agent@aist22.fr")
    db.session.commit()
    response = post_password(client, "agent@aist22.fr", DEFAULT_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] in ("/", "/service/", "/service")


# --------------------------------------------------------------------------- logout and sessions


def _cookie(client, app):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def _set_cookie(client, app, value):
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)


def test_cookie_replayed_after_logout_is_refused(client, app, member):
    post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    assert client.get("/entreprises/00010/").status_code == 200
    old = _cookie(client, app)
    token = csrf_token(client, "/entreprises/00010/")
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "logout" in actions()
    _set_cookie(client, app, old)
    replay = client.get("/entreprises/00010/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/connexion")
    assert db.session.execute(select(LoginSession)).scalar_one().revoked_at is not None


def test_logout_needs_post_with_csrf(client, member):
    post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    assert client.get("/deconnexion").status_code == 405
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/entreprises/00010/").status_code == 200


# --------------------------------------------------------------------------- temporary secrets


def _user_with_temp_password(secret="TempSecret2345", expires_in=timedelta(hours=72), purpose="account"):
    company = make_company("00010")
    user = make_member(company, email="nouveau@entreprise.fr", password=None)
    user.temp_secret_hash = hash_password(secret)
    user.temp_secret_expires_at = utcnow() + expires_in
    user.temp_secret_purpose = purpose
    db.session.commit()
    return user, secret


def test_temporary_password_leads_to_choose_password_before_any_page(client):
    user, secret = _user_with_temp_password()
    response = post_password(client, user.email, secret, next_path="/entreprises/00010/")
    assert response.headers["Location"] == "/connexion/choisir-mot-de-passe"
    for path in ("/espace", "/entreprises/00010/", "/"):
        blocked = client.get(path)
        assert blocked.status_code in (302, 303) and blocked.headers["Location"] == "/connexion/choisir-mot-de-passe"
    htmx = client.get("/entreprises/00010/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/connexion/choisir-mot-de-passe"
    page = client.get("/connexion/choisir-mot-de-passe").get_data(as_text=True)
    for text in (
        "Choisir votre mot de passe",
        "Nouveau mot de passe",
        "Confirmer le nouveau mot de passe",
        "Enregistrer",
        "12 caractères",
    ):
        assert text in page
    token = csrf_token(client, "/connexion/choisir-mot-de-passe")
    done = client.post(
        "/connexion/choisir-mot-de-passe",
        data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token},
    )
    assert done.status_code == 303 and done.headers["Location"] == "/entreprises/00010/"
    assert client.get("/entreprises/00010/").status_code == 200
    assert "password.changed" in actions()


def test_temporary_password_fails_after_use(client):
    user, secret = _user_with_temp_password()
    assert post_password(client, user.email, secret).status_code == 303
    db.session.commit()
    assert db.session.get(User, user.id).temp_secret_hash is None
    client.delete_cookie("portail_session")
    assert post_password(client, user.email, secret).status_code == 422


def test_temporary_password_fails_after_expiry(client):
    user, secret = _user_with_temp_password(expires_in=timedelta(seconds=-1))
    response = post_password(client, user.email, secret)
    assert response.status_code == 422 and accounts.NEUTRAL_LOGIN_ERROR in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "password,confirm,message",
    [
        ("court", "court", "au moins 12 caractères"),
        ("motdepasse123", "motdepasse123", "trop courant"),
        ("nouveau-et-encore-plus", "nouveau-et-encore-plus", "adresse e-mail"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "pas identiques"),
        ("x" * 129, "x" * 129, "au plus 128"),
    ],
)
def test_choose_password_applies_the_rules(client, password, confirm, message):
    user, secret = _user_with_temp_password()
    post_password(client, user.email, secret)
    token = csrf_token(client, "/connexion/choisir-mot-de-passe")
    response = client.post(
        "/connexion/choisir-mot-de-passe", data={"new_password": password, "confirm": confirm, "csrf_token": token}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.commit()
    assert db.session.get(User, user.id).must_change_password


def test_cookie_replayed_after_password_change_is_refused(client, app):
    user, secret = _user_with_temp_password()
    post_password(client, user.email, secret)
    old = _cookie(client, app)
    token = csrf_token(client, "/connexion/choisir-mot-de-passe")
    client.post(
        "/connexion/choisir-mot-de-passe",
        data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token},
    )
    new = _cookie(client, app)
    assert client.get("/entreprises/00010/").status_code == 200
    _set_cookie(client, app, old)
    assert client.get("/entreprises/00010/").status_code == 302
    _set_cookie(client, app, new)
    assert client.get("/entreprises/00010/").status_code == 200


def test_choose_password_without_a_temporary_secret_goes_home(client, member):
    post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    assert client.get("/connexion/choisir-mot-de-passe").status_code == 302


# --------------------------------------------------------------------------- reset


def test_reset_page_labels_and_neutral_answer(client, member):
    page = client.get("/connexion/reinitialiser").get_data(as_text=True)
    assert "Réinitialiser votre mot de passe" in page and "Adresse e-mail" in page
    known = request_reset(client, "claire@entreprise.fr")
    unknown = request_reset(client, "personne@entreprise.fr")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.get_data(as_text=True)) == without_csrf(unknown.get_data(as_text=True))
    assert "nouveau code de connexion personnalisable" in known.get_data(as_text=True)
    db.session.commit()
    assert db.session.query(OutboxMessage).count() == 1
    assert actions().count("password.reset_requested") == 2


def test_reset_code_logs_in_once_and_keeps_the_current_password(client, member):
    request_reset(client, "claire@entreprise.fr")
    code = latest_secret("claire@entreprise.fr", "Code de connexion :")
    db.session.commit()
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert (
        "60 minutes" in message.body_text and message.body_html and "http://portail.test/connexion" in message.body_text
    )
    # The current password still works while a code is pending.
    assert post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD).status_code == 303
    client.delete_cookie("portail_session")
    response = post_password(client, "claire@entreprise.fr", code)
    assert response.headers["Location"] == "/connexion/choisir-mot-de-passe"
    client.delete_cookie("portail_session")
    assert post_password(client, "claire@entreprise.fr", code).status_code == 422  # single use


def test_newer_reset_voids_the_older_code(client, member):
    request_reset(client, "claire@entreprise.fr")
    first = latest_secret("claire@entreprise.fr", "Code de connexion :")
    request_reset(client, "claire@entreprise.fr")
    second = latest_secret("claire@entreprise.fr", "Code de connexion :")
    assert first != second
    assert post_password(client, "claire@entreprise.fr", first).status_code == 422
    assert post_password(client, "claire@entreprise.fr", second).status_code == 303


def test_reset_code_fails_after_expiry(client, member):
    request_reset(client, "claire@entreprise.fr")
    code = latest_secret("claire@entreprise.fr", "Code de connexion :")
    user = db.session.get(User, member.id)
    user.temp_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_password(client, "claire@entreprise.fr", code).status_code == 422


def test_reset_mails_are_limited_per_address_with_the_same_answer(client, member):
    for _ in range(8):
        assert request_reset(client, "claire@entreprise.fr").status_code == 200
    db.session.commit()
    assert db.session.query(OutboxMessage).count() == accounts.RESET_RULE.max_failures - 1


@pytest.mark.parametrize("email", ["claire@entreprise.fr\r\nBcc: x@evil.test", "a@b.fr\nSubject: hi", "x\x00@b.fr"])
def test_reset_refuses_header_injection(client, member, email):
    response = request_reset(client, email)
    assert response.status_code == 422
    db.session.commit()
    assert db.session.query(OutboxMessage).count() == 0


# --------------------------------------------------------------------------- lock-out


def test_five_failures_lock_the_address_from_that_ip_only(client, member):
    for _ in range(4):
        assert post_password(client, "claire@entreprise.fr", "mauvais", ip="198.51.100.1").status_code == 422
    fifth = post_password(client, "claire@entreprise.fr", "mauvais", ip="198.51.100.1")
    assert fifth.status_code == 429 and "Réessayez dans 15 minutes" in fifth.get_data(as_text=True)
    assert "Mot de passe oublié" in fifth.get_data(as_text=True)
    # The same address from another IP is not locked by that pair.
    assert post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, ip="198.51.100.2").status_code == 303


def test_address_wide_delay_refuses_even_the_right_password_then_expires(client, member):
    for i in range(10):
        post_password(client, "claire@entreprise.fr", "mauvais mot de passe", ip=f"198.51.100.{i + 1}")
    db.session.commit()
    user = db.session.get(User, member.id)
    assert user.failed_logins == 10
    assert timedelta(seconds=50) < user.locked_until - utcnow() <= timedelta(minutes=1)
    locked = post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, ip="198.51.100.200")
    assert locked.status_code == 429 and "Réessayez dans 1 minute" in locked.get_data(as_text=True)
    assert "login.locked" in actions()
    with client.session_transaction() as s:
        assert "sid" not in s
    # The delay expires by itself; the address-wide count stays (it fades after 24 h).
    user = db.session.get(User, member.id)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, ip="198.51.100.200").status_code == 303
    db.session.commit()
    assert db.session.get(User, member.id).failed_logins == 10


def test_unknown_addresses_lock_exactly_like_known_ones(client, member):
    answers = {}
    for email in ("claire@entreprise.fr", "fantome@entreprise.fr"):
        statuses = [post_password(client, email, "mauvais", ip="198.51.100.7").status_code for _ in range(6)]
        answers[email] = statuses
    assert answers["claire@entreprise.fr"] == answers["fantome@entreprise.fr"] == [422] * 4 + [429] * 2


def test_failures_are_limited_per_ip_across_addresses(client, app, member):
    app.config["AUTH_RATE_LIMIT"] = "1000 per minute"
    try:
        for i in range(accounts.LOGIN_IP_RULE.max_failures):
            post_password(client, f"essai{i}@entreprise.fr", "mauvais", ip="203.0.113.9")
        blocked = post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, ip="203.0.113.9")
        assert blocked.status_code == 429
        assert post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, ip="203.0.113.10").status_code == 303
    finally:
        app.config.pop("AUTH_RATE_LIMIT", None)


def test_flask_limiter_guards_the_post_endpoints(client):
    token = csrf_token(client, "/connexion")
    statuses = [client.post("/connexion", data={"email": "a@b.fr", "csrf_token": token}).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


# --------------------------------------------------------------------------- safe next


@pytest.mark.parametrize("vector", ["//x", "/\\x", "\\\\\\x", " //x", "\t//x", "https://x", "javascript:alert(1)"])
def test_unsafe_next_is_ignored(client, member, vector):
    response = post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, next_path=vector)
    assert response.headers["Location"] == "/espace"
    page = client.get("/connexion?next=" + vector)
    assert page.status_code in (200, 302)


def test_safe_next_is_followed_after_login(client, member):
    anonymous = client.get("/entreprises/00010/")
    assert anonymous.headers["Location"].startswith("/connexion?next=")
    login_page = client.get(anonymous.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/entreprises/00010/"' in login_page
    step2 = post_email(client, "claire@entreprise.fr", next_path="/entreprises/00010/").get_data(as_text=True)
    assert 'value="/entreprises/00010/"' in step2
    response = post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD, next_path="/entreprises/00010/")
    assert response.headers["Location"] == "/entreprises/00010/"


def test_a_new_login_ends_the_previous_session_of_the_browser(client, app, member):
    post_password(client, "claire@entreprise.fr", DEFAULT_PASSWORD)
    first = _cookie(client, app)
    other = make_member(make_company("00020"), email="autre@entreprise.fr")
    db.session.commit()
    client.delete_cookie("portail_session")
    _set_cookie(client, app, first)
    token = csrf_token(client, "/")
    second = client.post(
        "/connexion/mot-de-passe", data={"email": other.email, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert second.status_code == 303
    assert client.get("/entreprises/00020/").status_code == 200
    _set_cookie(client, app, first)
    assert client.get("/entreprises/00010/").status_code == 302


def test_login_and_reset_do_the_same_hashing_for_unknown_addresses(client, member, monkeypatch):
    """No timing signal: as many argon2 verifications and hashes whatever the address."""
    from services.auth import passwords

    calls = []
    real_verify, real_hash = accounts.verify_password, accounts.hash_password
    monkeypatch.setattr(accounts, "verify_password", lambda *a: calls.append("verify") or real_verify(*a))
    monkeypatch.setattr(accounts, "hash_password", lambda *a: calls.append("hash") or real_hash(*a))
    counts = []
    for email in ("claire@entreprise.fr", "fantome@entreprise.fr"):
        calls.clear()
        post_password(client, email, "mauvais mot de passe")
        request_reset(client, email)
        counts.append(list(calls))
    assert counts[0] == counts[1] == ["verify", "verify", "hash"]
    assert passwords.verify_password is not None


@pytest.mark.parametrize("password", ["portailadherent2025", "santeautravail!", "Saintbrieuc2024"])
def test_service_words_are_common_passwords(password):
    from services.auth.passwords import password_problems

    assert any("trop courant" in p for p in password_problems(password))
