"""Server-side sessions: revocation, idle and absolute timeouts."""

from datetime import timedelta

from extensions import db
from models.users import LoginSession
from services.auth import sessions
from tests.conftest import login
from tests.factories import make_company, make_member


def _setup(client):
    company = make_company("00010")
    user = make_member(company)
    db.session.commit()
    login(client, user)
    return user


def test_revoked_session_is_refused_at_next_request(client):
    user = _setup(client)
    assert client.get("/entreprises/00010/").status_code == 200
    sessions.revoke_all(user)
    db.session.commit()
    assert client.get("/entreprises/00010/").status_code in (302, 401)


def test_idle_timeout_ends_the_session(client, app):
    _setup(client)
    row = db.session.query(LoginSession).one()
    row.last_seen_at = row.last_seen_at - app.config["SESSION_IDLE_TIMEOUT"] - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/entreprises/00010/").status_code in (302, 401)


def test_absolute_timeout_ends_the_session(client):
    _setup(client)
    row = db.session.query(LoginSession).one()
    row.expires_at = row.last_seen_at - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/entreprises/00010/").status_code in (302, 401)
