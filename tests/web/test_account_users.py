"""Utilisateurs: list, invite (new and existing person), change role, revoke, last employer."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import AuditEvent, Invitation, Membership, OutboxMessage, User
from models.base import utcnow
from models.companies import ROLE_ACCOUNTANT, ROLE_EMPLOYER
from tests.conftest import count_queries, csrf_token, login
from tests.factories import make_company, make_member, make_membership, make_user

USERS = "/entreprises/00010/utilisateurs"
NEW_PASSWORD = "Une phrase de passe bien longue 2026"


@pytest.fixture
def setup(client):
    company = make_company("00010", name="Garage Morvan")
    boss = make_member(company, email="boss@garage.fr", last_name="Morvan", first_name="Yann")
    accountant = make_member(company, role=ROLE_ACCOUNTANT, email="cabinet@compta.fr", last_name="Compta")
    db.session.commit()
    login(client, boss)
    return company, boss, accountant


def _membership(user, company):
    return db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.company_id == company.id)
    ).scalar_one()


def _post(client, path, data=None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, USERS)})


def test_users_list_shows_role_and_date(client, setup):
    html = client.get(USERS).get_data(as_text=True)
    assert "Yann Morvan" in html and "cabinet@compta.fr" in html and "Tiers déclarant" in html
    assert "Accès depuis le" in html


def test_users_list_runs_fixed_queries(client, setup):
    company = setup[0]
    client.get(USERS)  # the first visit also remembers the company as the last one used
    with count_queries() as few:
        client.get(USERS)
    for _ in range(6):
        make_member(company, role=ROLE_ACCOUNTANT)
    db.session.commit()
    with count_queries() as many:
        client.get(USERS)
    assert len(many) == len(few)


def test_users_pages_are_forbidden_to_a_tiers_declarant(client, setup):
    company, boss, accountant = setup
    login(client, accountant)
    assert client.get(USERS).status_code == 403
    token = csrf_token(client, "/entreprises/00010/")
    m = _membership(boss, company)
    for path in (f"{USERS}/inviter", f"{USERS}/{m.id}/retirer", f"{USERS}/{m.id}/role"):
        assert client.post(path, data={"csrf_token": token, "role": ROLE_ACCOUNTANT}).status_code == 403
    assert _membership(boss, company).revoked_at is None


def test_users_membership_of_another_company_is_404(client, setup):
    other = make_company("00020")
    stranger = make_member(other, role=ROLE_ACCOUNTANT)
    db.session.commit()
    m = _membership(stranger, other)
    assert _post(client, f"{USERS}/{m.id}/retirer").status_code == 404
    assert _post(client, f"{USERS}/{m.id}/role", {"role": ROLE_EMPLOYER}).status_code == 404
    assert _post(client, f"/entreprises/00020/utilisateurs/{m.id}/retirer").status_code == 404
    assert _membership(stranger, other).revoked_at is None and _membership(stranger, other).role == ROLE_ACCOUNTANT


def test_users_revoke_an_accountant_takes_effect_at_next_click(client, setup, app):
    company, boss, accountant = setup
    other = app.test_client()
    login(other, accountant)
    assert other.get("/entreprises/00010/").status_code == 200
    m = _membership(accountant, company)
    assert _post(client, f"{USERS}/{m.id}/retirer").status_code == 303
    assert other.get("/entreprises/00010/").status_code == 404
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "membership.revoked")).scalar_one()
    assert event.company_id == company.id and event.details["user_id"] == accountant.id
    assert "cabinet@compta.fr" not in client.get(USERS).get_data(as_text=True)


def test_users_last_employer_cannot_leave_be_removed_or_demoted(client, setup):
    company, boss, _ = setup
    m = _membership(boss, company)
    response = _post(client, f"{USERS}/{m.id}/retirer")
    assert response.status_code == 409
    assert "au moins un employeur" in response.get_data(as_text=True)
    response = _post(client, f"{USERS}/{m.id}/role", {"role": ROLE_ACCOUNTANT})
    assert response.status_code == 409
    db.session.expire_all()
    assert _membership(boss, company).revoked_at is None and _membership(boss, company).role == ROLE_EMPLOYER


def test_users_an_employer_may_leave_when_another_remains(client, setup):
    company, boss, accountant = setup
    m_acc = _membership(accountant, company)
    assert _post(client, f"{USERS}/{m_acc.id}/role", {"role": ROLE_EMPLOYER}).status_code == 303
    db.session.expire_all()
    assert _membership(accountant, company).role == ROLE_EMPLOYER
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "membership.role_changed")).scalar_one()
    m_boss = _membership(boss, company)
    response = _post(client, f"{USERS}/{m_boss.id}/retirer")
    assert response.status_code == 303 and response.headers["Location"].endswith("/espace")
    assert client.get(USERS).status_code == 404


def test_users_unknown_role_is_422(client, setup):
    company, _, accountant = setup
    m = _membership(accountant, company)
    assert _post(client, f"{USERS}/{m.id}/role", {"role": "admin"}).status_code == 422


def _invite(client, email, role=ROLE_ACCOUNTANT):
    return _post(client, f"{USERS}/inviter", {"email": email, "role": role})


def _invitation_path(email):
    mail = db.session.execute(select(OutboxMessage)).scalars().all()
    mail = [m for m in mail if email in m.recipients][-1]
    return re.search(r"http://portail\.test(/invitation/\S+)", mail.body_text).group(1)


def test_users_invite_new_person_who_sets_a_password_and_is_logged_in(client, setup, app):
    assert _invite(client, "Nouvelle@Garage.fr", ROLE_EMPLOYER).status_code == 303
    invitation = db.session.execute(select(Invitation)).scalar_one()
    assert invitation.email == "nouvelle@garage.fr"
    path = _invitation_path("nouvelle@garage.fr")
    assert path.split("/")[-1] not in invitation.token_hash
    guest = app.test_client()
    assert guest.get(path).status_code == 200
    token = csrf_token(guest, path)
    data = {
        "last_name": "Le Bihan",
        "first_name": "Anne",
        "job_title": "Associée",
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "csrf_token": token,
    }
    response = guest.post(path, data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/entreprises/00010/")
    assert guest.get("/entreprises/00010/").status_code == 200  # logged in
    user = db.session.execute(select(User).where(User.email == "nouvelle@garage.fr")).scalar_one()
    assert _membership(user, setup[0]).role == ROLE_EMPLOYER
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "invitation.accepted")).scalar_one()
    # single use
    assert app.test_client().get(path).status_code == 404


def test_users_invitation_bad_password_is_422_and_link_survives(client, setup, app):
    _invite(client, "nouvelle@garage.fr")
    path = _invitation_path("nouvelle@garage.fr")
    guest = app.test_client()
    token = csrf_token(guest, path)
    data = {
        "last_name": "Le Bihan",
        "first_name": "Anne",
        "job_title": "Associée",
        "password": "court",
        "confirm_password": "court",
        "csrf_token": token,
    }
    response = guest.post(path, data=data)
    assert response.status_code == 422 and "au moins 12 caractères" in response.get_data(as_text=True)
    assert guest.get(path).status_code == 200


def test_users_invitation_expires(client, setup, app):
    _invite(client, "nouvelle@garage.fr")
    path = _invitation_path("nouvelle@garage.fr")
    invitation = db.session.execute(select(Invitation)).scalar_one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert app.test_client().get(path).status_code == 404


def test_users_new_invitation_replaces_the_old_link(client, setup, app):
    _invite(client, "nouvelle@garage.fr")
    first = _invitation_path("nouvelle@garage.fr")
    _invite(client, "nouvelle@garage.fr")
    second = _invitation_path("nouvelle@garage.fr")
    assert first != second
    guest = app.test_client()
    assert guest.get(first).status_code == 404 and guest.get(second).status_code == 200


def test_users_invite_existing_user_links_directly_and_tells_them(client, setup):
    company = setup[0]
    known = make_user("known@cabinet.fr")
    db.session.commit()
    assert _invite(client, "known@cabinet.fr").status_code == 303
    assert _membership(known, company).role == ROLE_ACCOUNTANT
    assert not db.session.execute(select(Invitation)).scalars().all()
    mails = [m for m in db.session.execute(select(OutboxMessage)).scalars() if "known@cabinet.fr" in m.recipients]
    assert len(mails) == 1 and "Garage Morvan" in mails[0].body_text


def test_users_invite_gives_back_a_revoked_access(client, setup):
    company, _, accountant = setup
    m = _membership(accountant, company)
    _post(client, f"{USERS}/{m.id}/retirer")
    assert _invite(client, "cabinet@compta.fr").status_code == 303
    db.session.expire_all()
    assert _membership(accountant, company).revoked_at is None


@pytest.mark.parametrize(
    ("email", "message"),
    [("pas-une-adresse", "adresse e-mail valide"), ("cabinet@compta.fr", "déjà accès"), ("", "Renseignez")],
)
def test_users_invite_refusals_are_422(client, setup, email, message):
    response = _invite(client, email)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_users_invite_htmx_error_is_the_form_fragment(client, setup):
    response = client.post(
        f"{USERS}/inviter",
        data={"email": "x", "role": ROLE_ACCOUNTANT, "csrf_token": csrf_token(client, USERS)},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.lstrip().startswith("<form") and "<html" not in body


def test_users_cancel_invitation(client, setup, app):
    _invite(client, "nouvelle@garage.fr")
    path = _invitation_path("nouvelle@garage.fr")
    invitation = db.session.execute(select(Invitation)).scalar_one()
    assert _post(client, f"/entreprises/00010/invitations/{invitation.id}/annuler").status_code == 303
    assert app.test_client().get(path).status_code == 404
    other = make_company("00020")
    boss2 = make_member(other)
    db.session.commit()
    login(client, boss2)
    # an invitation of 00010 cannot be cancelled through 00020
    assert _post(client, f"/entreprises/00020/invitations/{invitation.id}/annuler").status_code in (403, 404)


def test_users_site_employer_rule_counts_parent_employers(client):
    parent = make_company("00010")
    site = make_company("00010-2", parent=parent)
    boss = make_member(parent)
    site_boss = make_user()
    make_membership(site_boss, site, ROLE_EMPLOYER)
    db.session.commit()
    login(client, boss)
    m = _membership(site_boss, site)
    token = csrf_token(client, "/entreprises/00010-2/utilisateurs")
    response = client.post(f"/entreprises/00010-2/utilisateurs/{m.id}/retirer", data={"csrf_token": token})
    assert response.status_code == 303
